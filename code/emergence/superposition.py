"""Toy models of superposition (Elhage et al. 2022): ``n`` sparse features squeezed through
``m`` hidden dimensions and read back with a ReLU, ``x' = ReLU(W^T W x + b)``.

Many such models, one per feature probability, are trained at once as one batched model: a
leading "instance" dimension over ``W`` and ``b``. Each instance has its own loss term and
Adam updates each parameter on its own, so the instances do not influence each other.

Introduced in the chapter 'The geometry of representations' (representation-geometry),
section 'Superposition'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def geometric_importance(n_features: int, ratio: float) -> np.ndarray:
    """Feature importances ``I_i = ratio ** i`` for ``i = 0 .. n_features - 1``.

    The importance multiplies feature ``i``'s squared error in the loss. Introduced in 'The
    geometry of representations' (representation-geometry).

    Raises:
        ValueError: if ``n_features`` < 1 or ``ratio`` is not in ``(0, 1]``.
    """
    if n_features < 1:
        raise ValueError(f"n_features must be at least 1, got {n_features}")
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio must be in (0, 1], got {ratio}")
    return ratio ** np.arange(n_features, dtype=np.float64)


def sparse_features(
    n_samples: int,
    feature_probability: torch.Tensor,
    n_features: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """Synthetic inputs: each feature is uniform on ``[0, 1]`` with its probability, else 0.

    ``feature_probability`` holds one probability ``1 - S`` (``S`` the sparsity) per model
    instance; the result has shape ``(n_samples, instances, n_features)``. Introduced in 'The
    geometry of representations' (representation-geometry).

    Raises:
        ValueError: if ``n_samples`` or ``n_features`` < 1, or a probability is outside
            ``(0, 1]``.
    """
    if n_samples < 1 or n_features < 1:
        raise ValueError(
            f"n_samples and n_features must be at least 1, got {n_samples}, {n_features}"
        )
    if feature_probability.ndim != 1 or len(feature_probability) == 0:
        raise ValueError("feature_probability must be a non-empty 1-d tensor, one per instance")
    if bool((feature_probability <= 0).any() or (feature_probability > 1).any()):
        raise ValueError(
            f"feature probabilities must be in (0, 1], got {feature_probability.tolist()}"
        )
    draw = torch.rand((n_samples, len(feature_probability), n_features), generator=generator)
    # One draw serves twice: given draw < p, draw / p is uniform on [0, 1).
    probability = feature_probability[:, None]
    return torch.where(draw < probability, draw / probability, torch.zeros(()))


@dataclass(frozen=True)
class ToyModels:
    """Trained toy models, one instance per feature probability.

    ``weights`` has shape ``(instances, m, n)``: column ``i`` of an instance is feature
    ``i``'s direction ``W_i`` in the hidden space; ``biases`` has shape ``(instances, n)``;
    ``losses`` is each instance's importance-weighted loss on a fresh evaluation batch.
    """

    feature_probability: np.ndarray
    importance: np.ndarray
    weights: np.ndarray
    biases: np.ndarray
    losses: np.ndarray


def _forward(weights: torch.Tensor, biases: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    hidden = torch.einsum("kmn,bkn->bkm", weights, features)
    return torch.relu(torch.einsum("kmn,bkm->bkn", weights, hidden) + biases)


def _weighted_loss(
    weights: torch.Tensor, biases: torch.Tensor, features: torch.Tensor, importance: torch.Tensor
) -> torch.Tensor:
    """Per-instance importance-weighted squared error, averaged over samples: ``(instances,)``."""
    error = (_forward(weights, biases, features) - features) ** 2
    return (importance * error).sum(dim=-1).mean(dim=0)


def train_toy_models(
    n_features: int,
    n_hidden: int,
    feature_probability: np.ndarray,
    importance: np.ndarray,
    steps: int = 3000,
    batch_size: int = 1024,
    learning_rate: float = 1e-2,
    seed: int = 0,
) -> ToyModels:
    """Train ``x' = ReLU(W^T W x + b)`` with Adam on the importance-weighted squared error.

    One instance per entry of ``feature_probability`` (the probability ``1 - S`` that a
    feature is non-zero), all trained together. ``W`` starts from a Xavier-normal draw and
    ``b`` from zero, as in Elhage et al. (2022). Deterministic for a given ``seed`` and
    thread count. Introduced in 'The geometry of representations' (representation-geometry).

    Raises:
        ValueError: if a size or ``steps`` is < 1, ``importance`` does not have
            ``n_features`` non-negative entries, or a probability is outside ``(0, 1]``.
    """
    if n_features < 1 or n_hidden < 1:
        raise ValueError(
            f"n_features and n_hidden must be at least 1, got {n_features}, {n_hidden}"
        )
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be at least 1, got {steps}, {batch_size}")
    importance = np.asarray(importance, dtype=np.float64)
    if importance.shape != (n_features,) or bool((importance < 0).any()):
        raise ValueError(
            f"importance must hold {n_features} non-negative numbers, got shape {importance.shape}"
        )
    probability = torch.as_tensor(np.asarray(feature_probability, dtype=np.float32))
    generator = torch.Generator().manual_seed(seed)
    # Checks the probabilities before any training.
    sparse_features(1, probability, n_features, generator)

    instances = len(probability)
    std = (2 / (n_hidden + n_features)) ** 0.5  # Xavier normal
    weights = std * torch.randn((instances, n_hidden, n_features), generator=generator)
    weights.requires_grad_()
    biases = torch.zeros((instances, n_features), requires_grad=True)
    weight_of = torch.as_tensor(importance, dtype=torch.float32)
    optimizer = torch.optim.Adam([weights, biases], lr=learning_rate)
    for _ in range(steps):
        batch = sparse_features(batch_size, probability, n_features, generator)
        # Summing the instances' losses keeps their gradients separate.
        loss = _weighted_loss(weights, biases, batch, weight_of).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        evaluation = sparse_features(16 * batch_size, probability, n_features, generator)
        losses = _weighted_loss(weights, biases, evaluation, weight_of)
    return ToyModels(
        feature_probability=probability.numpy().astype(np.float64),
        importance=importance,
        weights=weights.detach().numpy().astype(np.float64),
        biases=biases.detach().numpy().astype(np.float64),
        losses=losses.numpy().astype(np.float64),
    )


def _check_weights(weights: np.ndarray) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim not in (2, 3) or 0 in weights.shape:
        raise ValueError(
            "weights must be a non-empty (m, n) or (instances, m, n) array, "
            f"got shape {weights.shape}"
        )
    return weights


def feature_norms(weights: np.ndarray) -> np.ndarray:
    """``||W_i||``, the length of each feature's direction: shape ``(..., n)``.

    A norm near 1 means the feature is represented, near 0 that it is dropped. Introduced in
    'The geometry of representations' (representation-geometry).

    Raises:
        ValueError: if ``weights`` is not a non-empty 2-d or 3-d array.
    """
    return np.linalg.norm(_check_weights(weights), axis=-2)


def interference(weights: np.ndarray) -> np.ndarray:
    """``sum_{j != i} (Ŵ_i · W_j)^2`` for each feature ``i``: shape ``(..., n)``.

    Elhage et al.'s measure of how much the other features project onto feature ``i``'s
    direction ``Ŵ_i`` (its unit vector): 0 when ``W_i`` is orthogonal to every other
    feature. A dropped feature (``W_i = 0``) has no direction and gets 0. Introduced in 'The
    geometry of representations' (representation-geometry).

    Raises:
        ValueError: if ``weights`` is not a non-empty 2-d or 3-d array.
    """
    weights = _check_weights(weights)
    norms = np.linalg.norm(weights, axis=-2, keepdims=True)
    units = weights / np.where(norms > 0, norms, 1.0)
    projections = np.swapaxes(units, -1, -2) @ weights  # [i, j] = Ŵ_i · W_j
    squared = projections**2
    diagonal = np.diagonal(squared, axis1=-2, axis2=-1)
    return squared.sum(axis=-1) - diagonal


def dimensions_per_feature(weights: np.ndarray) -> np.ndarray:
    """``m / ||W||_F^2``: hidden dimensions per represented feature, one per instance.

    ``||W||_F^2`` sums the squared feature norms, so it roughly counts the represented
    features; the ratio is 1 when ``m`` features each have a dimension of their own and
    falls below 1 in superposition. Introduced in 'The geometry of representations'
    (representation-geometry).

    Raises:
        ValueError: if ``weights`` is not a non-empty 2-d or 3-d array, or is all zero.
    """
    weights = _check_weights(weights)
    frobenius = (weights**2).sum(axis=(-2, -1))
    if bool(np.any(frobenius == 0)):
        raise ValueError("weights of all zeros represent no feature")
    return weights.shape[-2] / frobenius
