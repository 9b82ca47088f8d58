"""The tasks the book trains tiny models on, behind one small interface.

Every task is a :class:`Task`: it knows its vocabulary and sequence length, so it can build a
fresh model of any :class:`Shape` (``task.model(shape)``); it makes training batches
(``task.batches(batch_size, seed)``, a function of the step); and it scores a model on its
held-out items (``task.evaluate(model)``, a dict of named scores). :func:`emergence.training.train`
needs nothing else. Introduced in the chapter 'Emergence with scale' (emergence-with-scale).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import torch

# IGNORE is the label value every task marks unscored positions with
from emergence.model import IGNORE as IGNORE
from emergence.model import TinyGPT, tiny_gpt2

#: A batch for causal language modelling: token ids and labels of the same shape, with
#: label ``IGNORE`` (-100, :data:`emergence.model.IGNORE`) where no loss is taken: padding,
#: prompts.
Batch = tuple[torch.Tensor, torch.Tensor]

#: What ``task.batches`` returns: the batch of a training step, a function of the step only.
Batches = Callable[[int], Batch]


@dataclass(frozen=True)
class Shape:
    """A tiny GPT-2's shape: layers, embedding width and attention heads. Introduced in the
    chapter 'Emergence with scale' (emergence-with-scale)."""

    n_layer: int
    n_embd: int
    n_head: int

    def __post_init__(self) -> None:
        if min(self.n_layer, self.n_embd, self.n_head) < 1:
            raise ValueError(f"n_layer, n_embd and n_head must be >= 1, got {self}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")

    def __str__(self) -> str:
        return f"{self.n_layer} x {self.n_embd} ({self.n_head} heads)"


class Task(ABC):
    """What a task gives the training loop: a model, batches, an evaluation. Introduced in
    the chapter 'Emergence with scale' (emergence-with-scale)."""

    #: Tokens in the vocabulary, and the longest sequence a model of the task reads.
    vocab_size: int
    context: int

    def model(self, shape: Shape) -> TinyGPT:
        """A freshly initialised tiny GPT-2 of ``shape`` for this task (seed before calling)."""
        return tiny_gpt2(self.vocab_size, n_layer=shape.n_layer, n_embd=shape.n_embd,
                         n_head=shape.n_head, n_positions=self.context)

    @abstractmethod
    def batches(self, batch_size: int, seed: int = 0) -> Batches:
        """Training batches: batch ``step`` depends only on ``seed`` and ``step``."""

    @abstractmethod
    def evaluate(self, model: TinyGPT) -> dict[str, float]:
        """Named held-out scores of ``model`` (the model is left in eval mode)."""
