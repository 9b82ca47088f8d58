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


def loss_matched_prediction(
    loss: ArrayLike, score: ArrayLike, group: ArrayLike, same_group: bool
) -> np.ndarray:
    """Each point's ``score`` predicted from other points at the same ``loss``.

    For point ``i`` the prediction is the linear interpolation, at ``loss[i]``, of the
    ``(loss, score)`` pairs of the points of every *other* group (``same_group=False``), or of
    the other points of its *own* group (``same_group=True``); points that share a loss are
    averaged. Where ``loss[i]`` lies outside the range of those points the prediction is NaN:
    nothing is extrapolated. Comparing the two errors asks whether knowing the group (a
    model's size) adds anything once the loss is known. Introduced in the chapter 'The
    mirage' (mirage), section :ref:`mirage-loss`.

    Raises:
        ValueError: if the inputs are not one-dimensional arrays of one length, or ``loss``
            or ``score`` contain NaN.
    """
    loss, score, group = (np.asarray(x) for x in (loss, score, group))
    one_dimensional = loss.ndim == score.ndim == group.ndim == 1
    if not one_dimensional or not len(loss) == len(score) == len(group):
        raise ValueError("loss, score and group must be one-dimensional arrays of one length")
    loss, score = loss.astype(float), score.astype(float)
    if np.isnan(loss).any() or np.isnan(score).any():
        raise ValueError("loss and score must not contain NaN")
    predicted = np.full(len(loss), np.nan)
    for i in range(len(loss)):
        others = (group == group[i]) if same_group else (group != group[i])
        others[i] = False
        if not others.any():
            continue
        # points at one loss are averaged, so that np.interp sees increasing losses
        known_loss, where = np.unique(loss[others], return_inverse=True)
        known_score = np.bincount(where, weights=score[others]) / np.bincount(where)
        if known_loss[0] <= loss[i] <= known_loss[-1]:
            predicted[i] = np.interp(loss[i], known_loss, known_score)
    return predicted
