"""Next-byte prediction on a byte string: Python's own help text as a training corpus.

The corpus is the English help text that ships with every Python installation
(``pydoc_data.topics``), so no download is needed. A byte-level model has a vocabulary of
256 and needs no tokenizer, which makes its loss in nats per byte comparable across model
sizes and with general-purpose compressors. :class:`ByteCorpus` is the task
(:class:`emergence.tasks.Task`) that :func:`emergence.training.train` trains on. Introduced
in the chapter 'A scaling law measured here' (measured-scaling); also used by the chapters
on IsoFLOP profiles and on compression.
"""

from __future__ import annotations

import math

import torch

from emergence.model import TinyGPT
from emergence.tasks import Batches, Shape, Task

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


def _as_tensor(data: bytes) -> torch.Tensor:
    # bytearray: torch.frombuffer warns on read-only buffers such as bytes
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).long()


class ByteCorpus(Task):
    """Next-byte prediction: random windows of ``train_bytes`` to train on, ``held_out`` to score.

    A batch is ``batch_size`` windows of ``context`` bytes; their start positions are the
    ``step``-th group of ``batch_size`` draws from a ``torch.Generator`` seeded with the seed,
    so batch ``step`` depends on nothing else, in whatever order the steps are asked for.
    Within a window every byte after the first is predicted from those before it.
    :meth:`evaluate` returns ``{"loss": ...}``, the mean cross-entropy on ``held_out`` in
    nats per byte (:func:`held_out_loss`). Introduced in the chapter 'A scaling law measured
    here' (measured-scaling).
    """

    vocab_size = VOCAB_SIZE

    def __init__(self, train_bytes: bytes, held_out: bytes, context: int = 64) -> None:
        if not isinstance(train_bytes, (bytes, bytearray)) or not isinstance(
            held_out, (bytes, bytearray)
        ):
            raise ValueError("train_bytes and held_out must be bytes")
        if context < 2:
            raise ValueError(
                f"context must be >= 2 (one byte to predict from another), got {context}"
            )
        for name, data in (("train_bytes", train_bytes), ("held_out", held_out)):
            if len(data) < context:
                raise ValueError(
                    f"{name} has {len(data)} bytes, fewer than one context of {context}"
                )
        self.context = context
        self.held_out = bytes(held_out)
        self._train = _as_tensor(train_bytes)

    def batches(self, batch_size: int, seed: int = 0) -> Batches:
        """Batches of ``batch_size`` random windows; batch ``step`` is a function of ``seed`` and
        ``step`` only."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        data, context = self._train, self.context
        offsets = torch.arange(context)
        # One stream of start positions per seed, drawn a batch at a time and kept, so that a
        # step asked for again (or out of order) gets the same windows
        generator = torch.Generator().manual_seed(seed)
        drawn: list[torch.Tensor] = []

        def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
            if step < 0:
                raise ValueError(f"step must be >= 0, got {step}")
            while len(drawn) <= step:
                drawn.append(torch.randint(0, len(data) - context + 1, (batch_size,),
                                           generator=generator))
            window = data[drawn[step][:, None] + offsets]
            # GPT-2 shifts the labels itself: each window predicts its bytes 2..context
            return window, window

        return batch

    def evaluate(self, model: TinyGPT) -> dict[str, float]:
        """``{"loss": held-out cross-entropy in nats per byte}`` (see :func:`held_out_loss`)."""
        return {"loss": held_out_loss(model, self.held_out, context=self.context)}


def held_out_loss(
    model: TinyGPT,
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


def byte_lm_parameters(shape: Shape, context: int = 64) -> int:
    """Total trainable parameters of a byte-level model of ``shape`` reading ``context`` bytes.

    Counts every parameter, embeddings included (Hoffmann et al.'s N), from the shape alone,
    so that a training budget can be set before the run: per block of width d, attention
    4d^2 + 4d, MLP 8d^2 + 5d and two layer norms 4d; a final layer norm 2d; token and
    position embeddings (256 + ``context``) d, the output head being tied to the token
    embedding. Equals ``count_parameters(ByteCorpus(..., context=context).model(shape))``.
    Introduced in the chapter 'IsoFLOP profiles on models you train' (isoflop).
    """
    if not isinstance(shape, Shape):
        raise ValueError(f"shape must be a Shape, got {type(shape).__name__}")
    if context < 2:
        raise ValueError(f"context must be >= 2, got {context}")
    d = shape.n_embd
    return shape.n_layer * (12 * d * d + 13 * d) + 2 * d + (VOCAB_SIZE + context) * d


def tokens_for_compute(
    compute: float, n_parameters: int, batch_size: int = 32, context: int = 64
) -> int:
    """Training bytes that spend ``compute`` FLOP on a model of ``n_parameters``, by C = 6ND.

    D = C / (6N) is rounded to the nearest whole number of batches of ``batch_size`` x
    ``context`` bytes (at least one), since training runs whole batches; the compute
    actually spent is 6 x ``n_parameters`` x the result. Introduced in the
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
