"""Modular addition, the task on which grokking was found, and the Fourier lens on its solution.

Each problem ``a + b mod p`` is the token sequence ``a b = c`` over the vocabulary of the
residues ``0 .. p-1`` plus an ``=`` token (id ``p``); the loss is taken on ``c`` only.
A fraction of the ``p * p`` pairs is used for training, the rest is held out. Introduced in
the chapter 'Grokking: generalisation long after memorisation' (grokking).
"""

from __future__ import annotations

import numpy as np
import torch

from emergence.model import TinyGPT
from emergence.tasks import IGNORE, Batches, Task


def modular_addition_split(
    p: int, train_fraction: float, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token sequences ``[a, b, p, (a + b) % p]`` for every pair, split into train and test.

    Returns two ``(n, 4)`` long tensors with no pair in both. Introduced in 'Grokking'
    (grokking).

    Raises:
        ValueError: if ``p`` < 2 or ``train_fraction`` leaves either split empty.
    """
    if p < 2:
        raise ValueError(f"p must be at least 2, got {p}")
    n_pairs = p * p
    n_train = int(round(train_fraction * n_pairs))
    if not 0 < n_train < n_pairs:
        raise ValueError(f"train_fraction {train_fraction} leaves a split of {p}*{p} pairs empty")
    a, b = np.divmod(np.arange(n_pairs), p)
    tokens = torch.from_numpy(np.stack([a, b, np.full(n_pairs, p), (a + b) % p], axis=1))
    order = torch.from_numpy(np.random.default_rng(seed).permutation(n_pairs))
    return tokens[order[:n_train]], tokens[order[n_train:]]


def answer_scores(model: TinyGPT, tokens: torch.Tensor) -> dict[str, float]:
    """Accuracy and mean cross-entropy loss (nats) of the answer ``c``, from one forward pass.

    Accuracy counts a row as right when ``c`` is the most likely token, an all-or-nothing
    score per pair; the loss, ``-log p(c | a b =)`` averaged over rows, moves continuously
    with the weights. Introduced in 'Grokking' (grokking-curves).

    Raises:
        ValueError: if ``tokens`` is not a non-empty ``(n, 4)`` tensor.
    """
    _check_rows(tokens)
    with torch.inference_mode():
        logits = model(input_ids=tokens[:, :3]).logits[:, -1]
    answers = tokens[:, 3]
    return {
        "accuracy": float((logits.argmax(dim=-1) == answers).float().mean()),
        "loss": float(torch.nn.functional.cross_entropy(logits, answers)),
    }


def _check_rows(tokens: torch.Tensor) -> None:
    if tokens.ndim != 2 or tokens.shape[1] != 4 or len(tokens) == 0:
        raise ValueError("tokens must be a non-empty (n, 4) tensor of [a, b, =, c] rows")


class ModularAddition(Task):
    """Addition modulo ``p`` as a :class:`~emergence.tasks.Task`, trained full-batch.

    ``train_fraction`` of the ``p * p`` pairs, drawn with ``seed``, are for training
    (``train_set``), the rest are held out (``test_set``). Introduced in 'Grokking' (grokking).

    Raises:
        ValueError: as :func:`modular_addition_split`.
    """

    context = 4

    def __init__(self, p: int, train_fraction: float, seed: int = 0) -> None:
        self.p = p
        self.vocab_size = p + 1
        self.train_set, self.test_set = modular_addition_split(p, train_fraction, seed)

    def batches(self, batch_size: int, seed: int = 0) -> Batches:
        """The whole training set at every step, whatever ``batch_size`` and ``seed`` say.

        Labels are ``IGNORE`` everywhere but the answer, so the model is trained only to
        compute ``c``. Full-batch training, as in Nanda et al. (2023) (Power et al. (2022)
        used minibatches), removes sampling noise: the delay before generalisation is a
        property of the optimisation, not of lucky batches.
        """
        tokens = self.train_set
        labels = torch.full_like(tokens, IGNORE)
        labels[:, 3] = tokens[:, 3]
        return lambda step: (tokens, labels)

    def evaluate(self, model: TinyGPT) -> dict[str, float]:
        """``train_accuracy``, ``train_loss``, ``test_accuracy`` and ``test_loss`` of
        :func:`answer_scores` on the two splits."""
        return {
            f"{split}_{name}": value
            for split, tokens in (("train", self.train_set), ("test", self.test_set))
            for name, value in answer_scores(model, tokens).items()
        }


def weight_norm(model: torch.nn.Module) -> float:
    """Euclidean norm of all trainable parameters taken together, the quantity that weight
    decay shrinks. Introduced in 'Grokking' (grokking-curves)."""
    with torch.no_grad():
        squares = sum(float((p.detach() ** 2).sum()) for p in model.parameters() if p.requires_grad)
    return squares**0.5


def frequency_energy(embedding: np.ndarray) -> np.ndarray:
    """Share of an embedding's variation carried by each frequency ``1 .. p // 2``.

    ``embedding`` has one row per residue ``0 .. p-1``. Its discrete Fourier transform along
    the residue axis is taken for every embedding dimension; the squared magnitudes, summed
    over dimensions, give the energy of each frequency ``k`` (the constant term ``k = 0`` is
    left out, it is the mean embedding). Returns the energies normalised to sum to 1, index
    ``k - 1`` for frequency ``k``. Introduced in 'Grokking' (grokking).

    Raises:
        ValueError: if ``embedding`` is not 2-D with at least 3 rows, or is constant.
    """
    embedding = np.asarray(embedding, dtype=float)
    if embedding.ndim != 2 or embedding.shape[0] < 3:
        raise ValueError("embedding must be a (p, d) array with p >= 3 residues")
    centred = embedding - embedding.mean(axis=0)
    if np.allclose(centred, 0.0):
        raise ValueError("embedding is constant along the residue axis")
    spectrum = np.abs(np.fft.rfft(centred, axis=0)) ** 2
    energy = spectrum[1 : embedding.shape[0] // 2 + 1].sum(axis=1)
    return energy / energy.sum()


def top_frequencies(embedding: np.ndarray, k: int) -> tuple[list[int], float]:
    """The ``k`` strongest frequencies of ``embedding`` and the share of energy they carry.

    A random embedding spreads its energy evenly, so its top ``k`` of ``p // 2`` frequencies
    carry little more than ``k / (p // 2)``; an embedding built from a few sines and cosines
    concentrates it. Introduced in 'Grokking' (grokking).

    Raises:
        ValueError: if ``k`` is not between 1 and the number of frequencies.
    """
    energy = frequency_energy(embedding)
    if not 1 <= k <= len(energy):
        raise ValueError(f"k must be between 1 and {len(energy)}, got {k}")
    order = np.argsort(energy)[::-1][:k]
    return [int(i) + 1 for i in order], float(energy[order].sum())
