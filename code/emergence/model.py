"""Tiny GPT-2 language models, what they cost, and how fast this machine multiplies matrices.

Every transformer the book trains is a Hugging Face ``GPT2LMHeadModel`` built here from a
small ``GPT2Config`` (through ``Task.model``, :mod:`emergence.tasks`) and trained by
:mod:`emergence.training`. Introduced in the chapter 'Emergence with scale'
(emergence-with-scale) and used by every chapter that trains a model.
"""

from __future__ import annotations

import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel


def tiny_gpt2(
    vocab_size: int,
    n_layer: int = 2,
    n_embd: int = 64,
    n_head: int = 4,
    n_positions: int = 64,
    dropout: float = 0.0,
) -> GPT2LMHeadModel:
    """A freshly initialised GPT-2 model of the given shape (seed with ``emergence.setup`` first).

    Dropout defaults to zero: the runs are short and deterministic, and dropout would only
    add noise to the curves.
    """
    if min(vocab_size, n_layer, n_embd, n_head, n_positions) < 1:
        raise ValueError("vocab_size, n_layer, n_embd, n_head and n_positions must be >= 1")
    if n_embd % n_head:
        raise ValueError(f"n_embd ({n_embd}) must be divisible by n_head ({n_head})")
    config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = GPT2LMHeadModel(config)
    # transformers infers the loss from the class name, finds none for GPT2LMHeadModel and
    # warns on stderr at the first step; the causal-LM loss it falls back to is the one we want
    model.loss_type = "ForCausalLM"
    return model


def count_parameters(model: torch.nn.Module, non_embedding: bool = False) -> int:
    """Number of trainable parameters; ``non_embedding=True`` leaves out the token and
    position embeddings, the convention of Kaplan et al. (2020) for N."""
    total = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if not non_embedding:
        return total
    embeddings = [m for m in model.modules() if isinstance(m, torch.nn.Embedding)]
    # The output head shares its weight with the token embedding, so it is not counted twice.
    return total - sum(m.weight.numel() for m in embeddings)


def training_flops(n_parameters: int, tokens: int) -> float:
    """The usual estimate of training compute, 6 x parameters x tokens (Kaplan et al. 2020)."""
    if n_parameters < 1 or tokens < 0:
        raise ValueError("n_parameters must be >= 1 and tokens >= 0")
    return 6.0 * n_parameters * tokens


def matmul_peak_flops(size: int = 512, repeats: int = 20) -> float:
    """Measured float32 matrix-multiply throughput of this machine, in FLOP/s.

    A yardstick for the training loop's achieved FLOP/s: the best of ``repeats`` products of
    two ``size`` x ``size`` matrices with the current torch thread count.
    """
    if size < 1 or repeats < 1:
        raise ValueError("size and repeats must be >= 1")
    # a private generator, so that measuring does not shift the seeded global stream
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    torch.mm(a, b)  # warm-up: the first call allocates and picks a kernel
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2.0 * size**3 / best
