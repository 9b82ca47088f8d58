"""Byte-level language models trained on Python's own help text.

The corpus is the English help text that ships with every Python installation
(``pydoc_data.topics``), so no download is needed. A byte-level model has a vocabulary of
256 and needs no tokenizer, which makes its loss in nats per byte comparable across model
sizes and with general-purpose compressors. The models are the book's tiny GPT-2s from
:mod:`emergence.model`. Introduced in the chapter 'A scaling law measured here'
(measured-scaling); also used by the chapter on compression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from transformers import GPT2LMHeadModel

from emergence.model import TrainingLog, count_parameters, tiny_gpt2, train

#: A byte-level model predicts one of the 256 possible byte values.
VOCAB_SIZE = 256


def load_corpus() -> bytes:
    """Python's English help topics (``pydoc_data.topics``) as one UTF-8 byte string.

    The topics are joined in sorted key order, separated by blank lines, so the corpus is
    the same on every run of the same Python version. Introduced in the chapter 'A scaling
    law measured here' (measured-scaling).
    """
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics)).encode("utf-8")


def split_corpus(data: bytes, held_out_fraction: float = 0.1) -> tuple[bytes, bytes]:
    """Split ``data`` into (train, held-out): the last ``held_out_fraction`` is held out.

    A contiguous split, not a random one, so held-out text is never seen in pieces during
    training. Introduced in the chapter 'A scaling law measured here' (measured-scaling).
    """
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError(f"data must be bytes, got {type(data).__name__}")
    if not 0.0 < held_out_fraction < 1.0:
        raise ValueError(f"held_out_fraction must be in (0, 1), got {held_out_fraction}")
    cut = len(data) - round(len(data) * held_out_fraction)
    if cut < 1 or cut >= len(data):
        raise ValueError(
            f"data of {len(data)} bytes is too short to hold out a fraction {held_out_fraction}"
        )
    return bytes(data[:cut]), bytes(data[cut:])


@dataclass
class ByteLMRun:
    """A trained byte-level model and what it cost.

    ``n_parameters`` counts every trainable parameter, ``n_non_embedding`` leaves out the
    token and position embeddings (Kaplan et al.'s N). ``steps`` x ``batch_size`` x
    ``context`` bytes were seen in training (``log.tokens``). Introduced in the chapter 'A
    scaling law measured here' (measured-scaling).
    """

    model: GPT2LMHeadModel
    n_parameters: int
    n_non_embedding: int
    log: TrainingLog
    n_layer: int
    n_embd: int
    n_head: int
    context: int
    batch_size: int
    steps: int
    lr: float
    seed: int

    @property
    def final_train_loss(self) -> float:
        """Training loss of the last step, in nats per byte."""
        return self.log.losses[-1]


def _as_tensor(data: bytes) -> torch.Tensor:
    # bytearray: torch.frombuffer warns on read-only buffers such as bytes
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).long()


def train_byte_lm(
    n_layer: int,
    n_embd: int,
    n_head: int,
    train_bytes: bytes,
    tokens: int,
    context: int = 64,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
) -> ByteLMRun:
    """Train a byte-level tiny GPT-2 on random windows of ``train_bytes`` for ``tokens`` bytes.

    The budget is met with ``tokens // (batch_size * context)`` steps (at least one batch
    must fit). Windows start at positions drawn from a ``torch.Generator`` seeded with
    ``seed``, and the weights are initialised after ``torch.manual_seed(seed)``, so a run
    depends only on its arguments, not on what ran before it. The learning rate warms up
    over the first tenth of the steps. Introduced in the chapter 'A scaling law measured
    here' (measured-scaling).
    """
    if context < 2:
        raise ValueError(f"context must be >= 2 (one byte to predict from another), got {context}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if len(train_bytes) < context:
        raise ValueError(
            f"train_bytes has {len(train_bytes)} bytes, fewer than one context of {context}"
        )
    steps = tokens // (batch_size * context)
    if steps < 1:
        raise ValueError(
            f"tokens ({tokens}) must cover at least one batch of "
            f"batch_size x context = {batch_size * context} bytes"
        )
    torch.manual_seed(seed)
    model = tiny_gpt2(
        VOCAB_SIZE, n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_positions=context
    )
    data = _as_tensor(train_bytes)
    generator = torch.Generator().manual_seed(seed)
    offsets = torch.arange(context)

    def batch_fn(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.randint(0, len(data) - context + 1, (batch_size,), generator=generator)
        window = data[starts[:, None] + offsets]
        # GPT-2 shifts the labels itself: each window predicts its bytes 2..context
        return window, window

    log = train(
        model,
        batch_fn,
        steps=steps,
        lr=lr,
        warmup_steps=steps // 10,
        description=f"byte LM {n_layer}x{n_embd}",
    )
    return ByteLMRun(
        model=model,
        n_parameters=count_parameters(model),
        n_non_embedding=count_parameters(model, non_embedding=True),
        log=log,
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        context=context,
        batch_size=batch_size,
        steps=steps,
        lr=lr,
        seed=seed,
    )


def held_out_loss(
    model: GPT2LMHeadModel,
    data: bytes,
    context: int = 64,
    max_bytes: int | None = None,
    batch_size: int = 64,
) -> float:
    """Mean cross-entropy of ``model`` on ``data`` in nats per byte.

    ``data`` (its first ``max_bytes`` bytes if given) is cut into non-overlapping windows of
    ``context`` bytes; a trailing partial window is dropped. Within each window every byte
    after the first is predicted from the bytes before it, and the loss is averaged over all
    predicted bytes. Introduced in the chapter 'A scaling law measured here'
    (measured-scaling).
    """
    if context < 2:
        raise ValueError(f"context must be >= 2, got {context}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if max_bytes is not None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        data = data[:max_bytes]
    n_windows = len(data) // context
    if n_windows < 1:
        raise ValueError(f"data has {len(data)} bytes, fewer than one context of {context}")
    if context > model.config.n_positions:
        raise ValueError(
            f"context {context} exceeds the model's {model.config.n_positions} positions"
        )
    windows = _as_tensor(data[: n_windows * context]).view(n_windows, context)
    was_training = model.training
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for start in range(0, n_windows, batch_size):
            batch = windows[start : start + batch_size]
            logits = model(input_ids=batch).logits[:, :-1]
            total += torch.nn.functional.cross_entropy(
                logits.reshape(-1, VOCAB_SIZE), batch[:, 1:].reshape(-1), reduction="sum"
            ).item()
    model.train(was_training)
    return total / (n_windows * (context - 1))


def byte_lm_parameters(n_layer: int, n_embd: int, n_head: int, context: int = 64) -> int:
    """Total trainable parameters of the byte-level model :func:`train_byte_lm` would build.

    Counts every parameter, embeddings included (Hoffmann et al.'s N), from the shape alone,
    so that a training budget can be set before the run: per block of width d, attention
    4d^2 + 4d, MLP 8d^2 + 5d and two layer norms 4d; a final layer norm 2d; token and
    position embeddings (256 + ``context``) d, the output head being tied to the token
    embedding. Introduced in the chapter 'IsoFLOP profiles on models you train' (isoflop).
    """
    if min(n_layer, n_embd, n_head) < 1:
        raise ValueError(
            f"n_layer, n_embd and n_head must be >= 1, got {n_layer}, {n_embd}, {n_head}"
        )
    if n_embd % n_head:
        raise ValueError(f"n_embd ({n_embd}) must be divisible by n_head ({n_head})")
    if context < 2:
        raise ValueError(f"context must be >= 2, got {context}")
    d = n_embd
    return n_layer * (12 * d * d + 13 * d) + 2 * d + (VOCAB_SIZE + context) * d


def tokens_for_compute(
    compute: float, n_parameters: int, batch_size: int = 32, context: int = 64
) -> int:
    """Training bytes that spend ``compute`` FLOP on a model of ``n_parameters``, by C = 6ND.

    D = C / (6N) is rounded to the nearest whole number of batches of ``batch_size`` x
    ``context`` bytes (at least one), since :func:`train_byte_lm` trains on whole batches;
    the compute actually spent is 6 x ``n_parameters`` x the result. Introduced in the
    chapter 'IsoFLOP profiles on models you train' (isoflop).
    """
    if not (math.isfinite(compute) and compute > 0):
        raise ValueError(f"compute must be positive and finite, got {compute}")
    if n_parameters < 1:
        raise ValueError(f"n_parameters must be >= 1, got {n_parameters}")
    if batch_size < 1 or context < 2:
        raise ValueError(
            f"batch_size must be >= 1 and context >= 2, got {batch_size} and {context}"
        )
    batch_bytes = batch_size * context
    return max(1, round(compute / (6 * n_parameters * batch_bytes))) * batch_bytes
