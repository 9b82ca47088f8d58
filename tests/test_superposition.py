"""Tests of emergence.superposition (toy models of superposition)."""

import numpy as np
import pytest
import torch

from emergence.superposition import (
    dimensions_per_feature,
    feature_norms,
    geometric_importance,
    interference,
    sparse_features,
    train_toy_models,
)


def test_geometric_importance():
    assert np.allclose(geometric_importance(4, 0.5), [1, 0.5, 0.25, 0.125])
    with pytest.raises(ValueError, match="ratio"):
        geometric_importance(4, 0.0)
    with pytest.raises(ValueError, match="n_features"):
        geometric_importance(0, 0.5)


def test_sparse_features_have_the_asked_probability_and_range():
    generator = torch.Generator().manual_seed(0)
    features = sparse_features(20_000, torch.tensor([1.0, 0.1]), 5, generator)
    assert features.shape == (20_000, 2, 5)
    present = (features > 0).float().mean(dim=(0, 2))
    assert present[0] > 0.999 and abs(float(present[1]) - 0.1) < 0.01
    assert float(features.min()) >= 0 and float(features.max()) < 1
    # Given that it is present, a feature is uniform on [0, 1): mean 1/2.
    assert abs(float(features[:, 1][features[:, 1] > 0].mean()) - 0.5) < 0.02


@pytest.mark.parametrize("probability", [[0.0], [1.5], []])
def test_sparse_features_rejects_bad_probabilities(probability):
    with pytest.raises(ValueError):
        sparse_features(4, torch.tensor(probability), 3, torch.Generator())


def test_dense_features_with_as_many_dimensions_learn_the_identity():
    models = train_toy_models(3, 3, np.array([1.0]), np.ones(3), steps=600, batch_size=128)
    gram = models.weights[0].T @ models.weights[0]
    assert np.allclose(gram, np.eye(3), atol=0.1), gram
    assert models.losses[0] < 1e-3


def test_dense_features_keep_the_most_important_orthogonal_and_sparse_ones_superpose():
    models = train_toy_models(
        6, 2, np.array([1.0, 0.02]), geometric_importance(6, 0.8), steps=1500, batch_size=256
    )
    assert models.weights.shape == (2, 2, 6)
    assert models.biases.shape == (2, 6) and models.losses.shape == (2,)
    norms, crowding = feature_norms(models.weights), interference(models.weights)
    dense, sparse = norms[0] > 0.5, norms[1] > 0.5
    # Dense: the two most important features, each in a dimension of its own.
    assert dense.tolist() == [True, True, False, False, False, False], norms[0]
    assert crowding[0][dense].max() < 0.05
    # Sparse: more features than dimensions, which must then overlap.
    assert sparse.sum() > 2 and crowding[1][sparse].min() > 0.05, (norms[1], crowding[1])
    assert dimensions_per_feature(models.weights[1]) < 1


def test_training_is_deterministic_for_a_seed():
    kwargs = dict(steps=20, batch_size=16)
    first = train_toy_models(5, 2, np.array([1.0, 0.1]), np.ones(5), seed=3, **kwargs)
    again = train_toy_models(5, 2, np.array([1.0, 0.1]), np.ones(5), seed=3, **kwargs)
    other = train_toy_models(5, 2, np.array([1.0, 0.1]), np.ones(5), seed=4, **kwargs)
    assert np.array_equal(first.weights, again.weights)
    assert not np.array_equal(first.weights, other.weights)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_features=0),
        dict(n_hidden=0),
        dict(steps=0),
        dict(importance=np.ones(4)),
        dict(importance=-np.ones(5)),
        dict(feature_probability=np.array([0.0])),
    ],
)
def test_train_rejects_bad_input(kwargs):
    arguments = dict(
        n_features=5,
        n_hidden=2,
        feature_probability=np.array([0.5]),
        importance=np.ones(5),
        steps=1,
    )
    arguments.update(kwargs)
    with pytest.raises(ValueError):
        train_toy_models(**arguments)


def test_measures_on_hand_built_directions():
    orthogonal = np.eye(3)
    assert np.allclose(feature_norms(orthogonal), 1)
    assert np.allclose(interference(orthogonal), 0)
    assert dimensions_per_feature(orthogonal) == pytest.approx(1.0)
    # Two features on one line, pointing opposite ways: each sees the other fully.
    antipodal = np.array([[1.0, -1.0, 0.0]])
    assert np.allclose(feature_norms(antipodal), [1, 1, 0])
    assert np.allclose(interference(antipodal), [1, 1, 0])
    assert dimensions_per_feature(antipodal) == pytest.approx(0.5)
    # Interference uses feature i's direction only, not its length.
    assert np.allclose(interference(np.array([[2.0, 1.0]])), [1, 4])
    batched = np.stack([orthogonal[:1], antipodal])
    assert np.allclose(dimensions_per_feature(batched), [1, 0.5])


def test_measures_reject_bad_weights():
    with pytest.raises(ValueError, match="weights"):
        feature_norms(np.ones(3))
    with pytest.raises(ValueError, match="weights"):
        interference(np.ones((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="zeros"):
        dimensions_per_feature(np.zeros((2, 3)))
