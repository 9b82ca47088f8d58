"""Scores of a model's answers, and how an all-or-nothing score bends a smooth skill."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def sequence_accuracy(token_accuracy: ArrayLike, length: int) -> np.ndarray:
    """Probability that all ``length`` tokens of an answer are right: ``p ** length``.

    Assumes each token is right independently with probability ``p`` (the per-token
    accuracy), the model used by Schaeffer et al. (2023) to explain sharp exact-match
    curves. Introduced in :ref:`emergence-smooth-skill-sharp-score`.

    Raises:
        ValueError: if ``length`` is not a positive integer, or any ``token_accuracy`` is
            NaN or outside [0, 1].
    """
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be a positive integer number of tokens, got {length!r}")
    p = np.asarray(token_accuracy, dtype=float)
    if np.isnan(p).any():
        raise ValueError("token_accuracy contains NaN")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("token_accuracy must lie in [0, 1] (it is a probability)")
    return p**length
