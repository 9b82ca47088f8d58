"""Nanda et al. (2023)'s progress measures for grokking on modular addition.

A model's answer logits, read for every pair ``(a, b)`` of residues modulo ``p``, form a grid
of shape ``(p, p, vocab)``. The Fourier algorithm computes its logits from the waves
``cos(w_k (a + b))`` and ``sin(w_k (a + b))``, ``w_k = 2 pi k / p``, of a few key
frequencies ``k``. Projecting the grid on those waves (one projection per output token)
splits it into the part the algorithm explains and the rest:

- the *restricted loss* keeps only the key-frequency waves and the constant;
- the *excluded loss* removes exactly the key-frequency waves.

Both are cross-entropy losses on given pairs, normally the training pairs. Introduced in the
chapter 'Grokking: generalisation long after memorisation' (grokking-progress).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from emergence.model import TinyGPT


def answer_logit_grid(model: TinyGPT, p: int) -> torch.Tensor:
    """The answer logits of ``model`` for every pair: ``grid[a, b]`` are the logits after
    ``a b =`` (the ``=`` token has id ``p``), a ``(p, p, vocab)`` float tensor.
    Introduced in 'Grokking' (grokking-progress).

    Raises:
        ValueError: if ``p`` < 3.
    """
    if p < 3:
        raise ValueError(f"p must be at least 3, got {p}")
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    prompts = torch.stack([a.flatten(), b.flatten(), torch.full((p * p,), p)], dim=1)
    with torch.inference_mode():
        logits = model(input_ids=prompts).logits[:, -1]
    return logits.reshape(p, p, -1).float()


def key_frequency_component(grid: torch.Tensor, frequencies: Sequence[int]) -> torch.Tensor:
    """The part of ``grid`` along ``cos(w_k (a + b))`` and ``sin(w_k (a + b))`` for each ``k``
    in ``frequencies`` (orthogonal projection over the ``p * p`` pairs, output by output).

    Over all pairs these waves are orthogonal to each other and to the constant for
    ``1 <= k < p / 2``, so the projection is a sum of one term per wave.
    Introduced in 'Grokking' (grokking-progress).

    Raises:
        ValueError: if ``grid`` is not ``(p, p, vocab)`` or a frequency is not in
            ``1 .. (p - 1) // 2`` or appears twice.
    """
    if grid.ndim != 3 or grid.shape[0] != grid.shape[1] or grid.shape[0] < 3:
        raise ValueError(f"grid must be a (p, p, vocab) tensor with p >= 3, got {tuple(grid.shape)}")
    p = grid.shape[0]
    highest = (p - 1) // 2
    if not frequencies or len(set(frequencies)) != len(frequencies) or any(
        not 1 <= k <= highest for k in frequencies
    ):
        raise ValueError(
            f"frequencies must be distinct integers in 1..{highest}, got {list(frequencies)}"
        )
    residues = torch.arange(p, dtype=torch.float64)
    total = (residues[:, None] + residues[None, :]).flatten()
    flat = grid.reshape(p * p, -1).double()
    component = torch.zeros_like(flat)
    for k in frequencies:
        for wave in (torch.cos(2 * torch.pi * k * total / p), torch.sin(2 * torch.pi * k * total / p)):
            # each wave has squared norm p^2 / 2 over the grid
            component += wave[:, None] * (wave @ flat)[None, :] / (p * p / 2)
    return component.reshape(grid.shape).to(grid.dtype)


def _loss_on(grid: torch.Tensor, tokens: torch.Tensor) -> float:
    if tokens.ndim != 2 or tokens.shape[1] != 4 or len(tokens) == 0:
        raise ValueError("tokens must be a non-empty (n, 4) tensor of [a, b, =, c] rows")
    logits = grid[tokens[:, 0], tokens[:, 1]]
    return float(torch.nn.functional.cross_entropy(logits, tokens[:, 3]))


def restricted_loss(grid: torch.Tensor, frequencies: Sequence[int], tokens: torch.Tensor) -> float:
    """Mean cross-entropy (nats) on the ``[a, b, =, c]`` rows of ``tokens`` when the logits keep
    only the constant and the key-frequency waves of ``grid`` (see
    :func:`key_frequency_component`). Low when the Fourier circuit alone computes the answers.
    Introduced in 'Grokking' (grokking-progress).

    Raises:
        ValueError: as :func:`key_frequency_component`, or if ``tokens`` is not a non-empty
            ``(n, 4)`` tensor.
    """
    constant = grid.mean(dim=(0, 1), keepdim=True)
    return _loss_on(constant + key_frequency_component(grid, frequencies), tokens)


def excluded_loss(grid: torch.Tensor, frequencies: Sequence[int], tokens: torch.Tensor) -> float:
    """Mean cross-entropy (nats) on the rows of ``tokens`` when the key-frequency waves are
    removed from the logits ``grid``. It rises as the model comes to depend on the Fourier
    circuit for those rows, instead of on a memorised table. Introduced in 'Grokking'
    (grokking-progress).

    Raises:
        ValueError: as :func:`restricted_loss`.
    """
    return _loss_on(grid - key_frequency_component(grid, frequencies), tokens)
