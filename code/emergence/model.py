"""Tiny GPT-2 language models, what they cost, and how fast this machine multiplies matrices.

:class:`TinyGPT` is GPT-2 (Radford et al. 2019) in one page of PyTorch, in the manner of
nanoGPT: token and position embeddings, pre-norm blocks of causal self-attention and an MLP,
and an output head tied to the token embedding. It has the parameter names, the arithmetic
and the initialisation of Hugging Face's ``GPT2LMHeadModel``, so that one seed gives the same
weights and the same outputs, bit for bit; ``tests/test_model.py`` checks both against
transformers. Written out here because the chapters that train models then need nothing
from transformers, whose import costs a kernel about 3 s. Built by :func:`tiny_gpt2`
(through ``Task.model``, :mod:`emergence.tasks`) and trained by :mod:`emergence.training`.
Introduced in the chapter 'Emergence with scale' (emergence-with-scale) and used by every
chapter that trains a model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

#: Label value that the loss ignores (PyTorch's cross-entropy default): padding, prompts.
IGNORE = -100

#: One layer's cached keys and values, each (batch, heads, positions so far, head width).
KeyValues = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a :class:`TinyGPT`; the defaults not set here are GPT-2's."""

    vocab_size: int
    n_positions: int = 64
    n_embd: int = 64
    n_layer: int = 2
    n_head: int = 4
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02


@dataclass
class LMOutput:
    """What :meth:`TinyGPT.forward` returns, named as transformers names it."""

    logits: torch.Tensor
    loss: torch.Tensor | None = None
    past_key_values: list[KeyValues] | None = None


class Conv1D(nn.Module):
    """GPT-2's linear layer: ``y = x @ weight + bias``, its weight stored as (in, out)."""

    def __init__(self, n_in: int, n_out: int, std: float):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out).normal_(0.0, std))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return out.view(*x.shape[:-1], -1)


class Attention(nn.Module):
    """Causal multi-head self-attention; with ``past``, the new positions attend to the
    cached ones too (one decoding step at a time)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_embd, self.n_head = config.n_embd, config.n_head
        std = config.initializer_range
        self.c_attn = Conv1D(config.n_embd, 3 * config.n_embd, std)
        self.c_proj = Conv1D(config.n_embd, config.n_embd, std)

    def forward(self, x: torch.Tensor, past: KeyValues | None = None
                ) -> tuple[torch.Tensor, KeyValues]:
        batch, length, _ = x.shape
        q, k, v = (t.view(batch, length, self.n_head, -1).transpose(1, 2)
                   for t in self.c_attn(x).split(self.n_embd, dim=2))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        # a single new position may see every cached one: no mask is needed then
        attended = F.scaled_dot_product_attention(
            q, k, v, scale=(self.n_embd // self.n_head) ** -0.5, is_causal=length > 1)
        attended = attended.transpose(1, 2).reshape(batch, length, self.n_embd)
        return self.c_proj(attended), (k, v)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's activation: the tanh approximation of GELU, in GPT-2's own formula."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class MLP(nn.Module):
    """The block's feed-forward layer: widen to four times the width, GELU, project back."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        std = config.initializer_range
        self.c_fc = Conv1D(config.n_embd, 4 * config.n_embd, std)
        self.c_proj = Conv1D(4 * config.n_embd, config.n_embd, std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(gelu(self.c_fc(x)))


class Block(nn.Module):
    """One transformer block: ``x + attention(norm(x))``, then ``x + mlp(norm(x))``."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = Attention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, past: KeyValues | None = None
                ) -> tuple[torch.Tensor, KeyValues]:
        attended, present = self.attn(self.ln_1(x), past)
        x = attended + x
        return self.mlp(self.ln_2(x)) + x, present


class TinyGPT(nn.Module):
    """GPT-2 as a causal language model (see the module's docstring).

    ``model(input_ids)`` returns the logits of every position; with ``labels`` also the
    causal-LM loss (position ``t`` predicts label ``t + 1``, labels equal to -100 are
    ignored); with ``use_cache=True`` or ``past_key_values`` also each layer's keys and
    values, to decode one token at a time. Introduced in the chapter 'Emergence with scale'
    (emergence-with-scale).
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict({
            "wte": nn.Embedding(config.vocab_size, config.n_embd),
            "wpe": nn.Embedding(config.n_positions, config.n_embd),
            "h": nn.ModuleList(Block(config) for _ in range(config.n_layer)),
            "ln_f": nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon),
        })
        self._initialise()

    @torch.no_grad()
    def _initialise(self) -> None:
        # GPT-2's scheme: weights N(0, 0.02), biases 0, and the two projections that write
        # into the residual stream scaled by 1/sqrt(2 x layers). The draws are made in the
        # order transformers makes them, the discarded ones included (the modules' own
        # initialisation above, an untied output head), so that a seed gives its weights.
        std = self.config.initializer_range
        residual_std = std / math.sqrt(2 * self.config.n_layer)
        self.transformer.wte.weight.normal_(0.0, std)
        self.transformer.wpe.weight.normal_(0.0, std)
        for block in self.transformer.h:
            for layer in (block.attn, block.mlp):
                first, projection = layer.children()
                first.weight.normal_(0.0, std)
                projection.weight.normal_(0.0, std)
                projection.weight.normal_(0.0, residual_std)
        head = torch.empty(self.config.vocab_size, self.config.n_embd)
        bound = 1 / math.sqrt(self.config.n_embd)
        head.uniform_(-bound, bound)
        head.normal_(0.0, std)

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None,
                past_key_values: list[KeyValues] | None = None, use_cache: bool = False
                ) -> LMOutput:
        length = input_ids.shape[-1]
        start = past_key_values[0][0].shape[2] if past_key_values else 0
        if start and length > 1:
            raise ValueError("with past_key_values, decode one position at a time")
        if start + length > self.config.n_positions:
            raise ValueError(f"{start + length} positions exceed the model's "
                             f"{self.config.n_positions}")
        positions = torch.arange(start, start + length)[None]
        x = self.transformer.wte(input_ids) + self.transformer.wpe(positions)
        presents = []
        for layer, block in enumerate(self.transformer.h):
            x, present = block(x, past_key_values[layer] if past_key_values else None)
            presents.append(present)
        logits = F.linear(self.transformer.ln_f(x), self.transformer.wte.weight)
        loss = None
        if labels is not None:
            # position t predicts label t + 1, and the last position predicts nothing
            targets = F.pad(labels, (0, 1), value=IGNORE)[..., 1:]
            loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]),
                                   targets.reshape(-1), ignore_index=IGNORE)
        cached = use_cache or past_key_values is not None
        return LMOutput(logits, loss, presents if cached else None)


def tiny_gpt2(
    vocab_size: int,
    n_layer: int = 2,
    n_embd: int = 64,
    n_head: int = 4,
    n_positions: int = 64,
) -> TinyGPT:
    """A freshly initialised GPT-2 model of the given shape (seed with ``emergence.setup`` first).

    It has no dropout: the runs are short and deterministic, and dropout would only add noise
    to the curves.
    """
    if min(vocab_size, n_layer, n_embd, n_head, n_positions) < 1:
        raise ValueError("vocab_size, n_layer, n_embd, n_head and n_positions must be >= 1")
    if n_embd % n_head:
        raise ValueError(f"n_embd ({n_embd}) must be divisible by n_head ({n_head})")
    return TinyGPT(GPTConfig(vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd,
                             n_layer=n_layer, n_head=n_head))


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
