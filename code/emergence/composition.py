"""Multi-hop lookup in context: a task whose number of sequential steps is set by hand.

Each sequence lists a random permutation ``f`` of a few symbols as "pair tokens" (one
token stands for the pair ``a -> f(a)``), in random order, then questions: a hop count
``k`` and a query symbol ``x``, answered by ``f^k(x)``. One attention layer can find the pair
that starts with ``x`` and read off ``f(x)``; a second hop needs the result of the first
before it can look again. Introduced in the chapter 'Why might abilities emerge?'
(why-emerge-depth).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from transformers import GPT2LMHeadModel

from emergence.model import Batch, tiny_gpt2


@dataclass(frozen=True)
class HopTask:
    """Token layout of the k-hop task over ``symbols`` symbols, hop counts 1..``max_hops``
    and ``queries`` questions per sequence.

    Token ids: pair ``(a, b)`` is ``a * symbols + b``; symbol ``s`` is ``symbols**2 + s``;
    hop count ``k`` is ``symbols**2 + symbols + k - 1``. A sequence is the ``symbols`` pair
    tokens followed by ``queries`` triples (hop count, query symbol, answer symbol).
    """

    symbols: int = 5
    max_hops: int = 2
    queries: int = 4

    def __post_init__(self) -> None:
        if self.symbols < 2:
            raise ValueError(f"symbols must be >= 2, got {self.symbols}")
        if self.max_hops < 1 or not 1 <= self.queries <= self.symbols:
            raise ValueError("max_hops must be >= 1 and queries in 1..symbols")

    @property
    def vocab_size(self) -> int:
        return self.symbols**2 + self.symbols + self.max_hops

    @property
    def length(self) -> int:
        """Tokens per sequence."""
        return self.symbols + 3 * self.queries

    def sequences(self, hops: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        """One sequence per row of ``hops`` (shape ``(n, queries)``, entries in 1..max_hops),
        each over a fresh random permutation.

        Raises:
            ValueError: if ``hops`` has the wrong shape or a hop count outside 1..max_hops.
        """
        hops = np.asarray(hops)
        if hops.ndim != 2 or hops.shape[1] != self.queries:
            raise ValueError(f"hops must have shape (n, {self.queries}), got {hops.shape}")
        if hops.size and (hops.min() < 1 or hops.max() > self.max_hops):
            raise ValueError(f"hop counts must lie in 1..{self.max_hops}")
        n, s = len(hops), self.symbols
        f = np.argsort(rng.random((n, s)), axis=1)          # a random permutation per row
        order = np.argsort(rng.random((n, s)), axis=1)      # the order the pairs are listed in
        pairs = order * s + np.take_along_axis(f, order, axis=1)
        # distinct queries, so that no answer can be copied from an earlier question
        query = np.argsort(rng.random((n, s)), axis=1)[:, : self.queries]
        answer = query.copy()
        for step in range(self.max_hops):
            moved = np.take_along_axis(f, answer, axis=1)
            answer = np.where(step < hops, moved, answer)
        triples = np.stack([s * s + s + hops - 1, s * s + query, s * s + answer], axis=2)
        return torch.from_numpy(np.concatenate([pairs, triples.reshape(n, -1)], axis=1)).long()

    def new_model(self, n_layer: int, n_embd: int, n_head: int = 4) -> GPT2LMHeadModel:
        """A fresh tiny GPT-2 sized for this task's vocabulary and sequence length."""
        return tiny_gpt2(self.vocab_size, n_layer=n_layer, n_embd=n_embd, n_head=n_head,
                         n_positions=self.length)

    def answer_positions(self) -> list[int]:
        """Positions of the answer tokens in a sequence."""
        return [self.symbols + 3 * q + 2 for q in range(self.queries)]


def hop_batch_fn(task: HopTask, batch_size: int = 64, seed: int = 0
                 ) -> Callable[[int], Batch]:
    """Batches for :func:`emergence.model.train` with hop counts drawn uniformly; the loss
    is taken on the answer tokens only. Batch ``step`` depends only on ``seed`` and
    ``step``. Introduced in the chapter 'Why might abilities emerge?' (why-emerge-depth).

    Raises:
        ValueError: if ``batch_size < 1``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    answers = task.answer_positions()

    def make(step: int) -> Batch:
        rng = np.random.default_rng([seed, step])
        hops = rng.integers(1, task.max_hops + 1, size=(batch_size, task.queries))
        ids = task.sequences(hops, rng)
        labels = torch.full_like(ids, -100)
        labels[:, answers] = ids[:, answers]
        return ids, labels

    return make


def hop_accuracy(model: torch.nn.Module, task: HopTask, hops: int, items: int = 128,
                 seed: int = 12345) -> float:
    """Accuracy of the model's most likely answer to ``hops``-hop questions, over ``items``
    fresh sequences (``items * queries`` questions). Introduced in the chapter 'Why might
    abilities emerge?' (why-emerge-depth).

    Raises:
        ValueError: if ``hops`` is outside 1..max_hops or ``items < 1``.
    """
    if items < 1:
        raise ValueError(f"items must be >= 1, got {items}")
    ids = task.sequences(np.full((items, task.queries), hops), np.random.default_rng(seed))
    answers = task.answer_positions()
    with torch.inference_mode():
        logits = model(input_ids=ids).logits
    # the logits at position i predict the token at position i + 1
    predicted = logits[:, [p - 1 for p in answers]].argmax(-1)
    return float((predicted == ids[:, answers]).float().mean())
