"""Multi-hop lookup in context: a task whose number of sequential steps is set by hand.

Each sequence lists a random permutation ``f`` of a few symbols as "pair tokens" (one
token stands for the pair ``a -> f(a)``), in random order, then questions: a hop count
``k`` and a query symbol ``x``, answered by ``f^k(x)``. One attention layer can find the pair
that starts with ``x`` and read off ``f(x)``; a second hop needs the result of the first
before it can look again. Introduced in the chapter 'Why might abilities emerge?'
(why-emerge-depth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from emergence.model import TinyGPT
from emergence.tasks import IGNORE, Batch, Batches, Task


@dataclass(frozen=True)
class HopTask(Task):
    """The k-hop task over ``symbols`` symbols, hop counts 1..``max_hops`` and ``queries``
    questions per sequence.

    Token ids: pair ``(a, b)`` is ``a * symbols + b``; symbol ``s`` is ``symbols**2 + s``;
    hop count ``k`` is ``symbols**2 + symbols + k - 1``. A sequence is the ``symbols`` pair
    tokens followed by ``queries`` triples (hop count, query symbol, answer symbol).
    ``evaluate`` scores the accuracy per hop count on fresh sequences, named ``"1-hop"``,
    ``"2-hop"``, ... Introduced in the chapter 'Why might abilities emerge?'
    (why-emerge-depth).
    """

    symbols: int = 5
    max_hops: int = 2
    queries: int = 4
    #: Sequences per hop count that ``evaluate`` scores, and the seed they are drawn from.
    eval_items: int = 128
    eval_seed: int = 12345

    def __post_init__(self) -> None:
        if self.symbols < 2:
            raise ValueError(f"symbols must be >= 2, got {self.symbols}")
        if self.max_hops < 1 or not 1 <= self.queries <= self.symbols:
            raise ValueError("max_hops must be >= 1 and queries in 1..symbols")
        if self.eval_items < 1:
            raise ValueError(f"eval_items must be >= 1, got {self.eval_items}")

    @property
    def vocab_size(self) -> int:
        return self.symbols**2 + self.symbols + self.max_hops

    @property
    def context(self) -> int:
        """Tokens per sequence."""
        return self.symbols + 3 * self.queries

    @property
    def answer_positions(self) -> list[int]:
        """Positions of the answer tokens in a sequence."""
        return [self.symbols + 3 * q + 2 for q in range(self.queries)]

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

    def batches(self, batch_size: int, seed: int = 0) -> Batches:
        """Training batches with hop counts drawn uniformly; the loss is taken on the answer
        tokens only. Batch ``step`` depends only on ``seed`` and ``step``.

        Raises:
            ValueError: if ``batch_size < 1``.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        answers = self.answer_positions

        def make(step: int) -> Batch:
            rng = np.random.default_rng([seed, step])
            hops = rng.integers(1, self.max_hops + 1, size=(batch_size, self.queries))
            ids = self.sequences(hops, rng)
            labels = torch.full_like(ids, IGNORE)
            labels[:, answers] = ids[:, answers]
            return ids, labels

        return make

    def evaluate(self, model: TinyGPT) -> dict[str, float]:
        """Accuracy of the model's most likely answers per hop count, named ``"1-hop"``,
        ``"2-hop"``, ...: for each hop count, ``eval_items`` sequences (``eval_items * queries``
        questions) drawn afresh from ``eval_seed``, the same permutations for every count."""
        counts = range(1, self.max_hops + 1)
        ids = torch.cat([self.sequences(np.full((self.eval_items, self.queries), hops),
                                        np.random.default_rng(self.eval_seed))
                         for hops in counts])
        answers = self.answer_positions
        with torch.inference_mode():
            logits = model(input_ids=ids).logits
        # the logits at position i predict the token at position i + 1
        right = logits[:, [p - 1 for p in answers]].argmax(-1) == ids[:, answers]
        per_count = right.float().reshape(len(counts), -1).mean(dim=1)
        return {f"{hops}-hop": float(score) for hops, score in zip(counts, per_count)}
