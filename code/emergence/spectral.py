"""Spectral bias: a ReLU network fits the low frequencies of a target before the high ones.

Introduced in the chapter 'Why might abilities emerge?' (why-emerge-spectral), after
Rahaman et al. (2019), "On the spectral bias of neural networks".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


def sine_target(x: np.ndarray, frequencies: Sequence[int]) -> np.ndarray:
    """Sum of unit-amplitude sines ``sin(2 pi k x)`` over ``frequencies`` (cycles per unit).

    Raises:
        ValueError: if ``frequencies`` is empty or holds a non-positive frequency.
    """
    if len(frequencies) == 0 or min(frequencies) < 1:
        raise ValueError("frequencies must be a non-empty list of positive integers")
    x = np.asarray(x, dtype=float)
    return sum(np.sin(2 * np.pi * k * x) for k in frequencies)


def fourier_amplitudes(values: np.ndarray, frequencies: Sequence[int]) -> np.ndarray:
    """Amplitude of each frequency in ``values`` sampled on a uniform grid over [0, 1).

    A unit sine at frequency ``k`` has amplitude 1.

    Raises:
        ValueError: if a frequency is not below the Nyquist limit of the grid.
    """
    values = np.asarray(values, dtype=float)
    if max(frequencies) >= len(values) // 2:
        raise ValueError(f"frequencies must be below {len(values) // 2} for {len(values)} points")
    spectrum = np.fft.rfft(values) / (len(values) / 2)
    return np.abs(spectrum[list(frequencies)])


@dataclass
class SpectralRun:
    """What :func:`fit_sines` recorded: the steps, and per step the fraction of each
    frequency's amplitude that the network has learned (1 = all of it)."""

    frequencies: tuple[int, ...]
    steps: list[int]
    learned: np.ndarray  # shape (len(steps), len(frequencies))

    def first_step_above(self, fraction: float) -> list[int | None]:
        """For each frequency, the first recorded step at which the learned fraction
        reaches ``fraction`` (``None`` if it never does)."""
        out: list[int | None] = []
        for column in self.learned.T:
            reached = np.flatnonzero(column >= fraction)
            out.append(self.steps[reached[0]] if reached.size else None)
        return out


def fit_sines(frequencies: Sequence[int] = (1, 4, 12), points: int = 256, width: int = 128,
              depth: int = 3, steps: int = 1500, lr: float = 1e-3, record_every: int = 25,
              seed: int = 0) -> SpectralRun:
    """Fit a ReLU MLP to a sum of sines by full-batch Adam; record the spectrum as it learns.

    Every sine has the same amplitude, so if the network learned all frequencies at the
    same rate their learned fractions would rise together. The network is initialised
    after ``torch.manual_seed(seed)``. Introduced in the chapter 'Why might abilities
    emerge?' (why-emerge-spectral).

    Raises:
        ValueError: if ``steps``, ``width``, ``depth`` or ``record_every`` is below 1, or
            ``seed`` is negative.
    """
    if min(steps, width, depth, record_every) < 1:
        raise ValueError("steps, width, depth and record_every must be >= 1")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    x = np.arange(points) / points
    y = sine_target(x, frequencies)
    target = fourier_amplitudes(y, frequencies)
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    size = 1
    for _ in range(depth):
        layers += [torch.nn.Linear(size, width), torch.nn.ReLU()]
        size = width
    net = torch.nn.Sequential(*layers, torch.nn.Linear(size, 1))
    inputs = torch.tensor(x, dtype=torch.float32)[:, None]
    outputs = torch.tensor(y, dtype=torch.float32)[:, None]
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    recorded_steps, learned = [], []
    for step in range(1, steps + 1):
        loss = torch.mean((net(inputs) - outputs) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % record_every == 0:
            with torch.no_grad():
                fitted = net(inputs)[:, 0].numpy()
            # how much of each sine is still missing from the fit
            residual = fourier_amplitudes(y - fitted, frequencies)
            recorded_steps.append(step)
            learned.append(1.0 - residual / target)
    return SpectralRun(tuple(frequencies), recorded_steps, np.array(learned))
