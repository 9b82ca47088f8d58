import numpy as np
import pytest

from emergence.geometry import (
    ANALOGIES,
    analogy_accuracy,
    principal_components,
    solve_analogies,
    two_nn_dimension,
)


def _toy_embeddings():
    # rows: man, woman, king, queen, apple; king - man + woman = queen exactly
    man, woman = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    king = np.array([1.0, 0.0, 1.0])
    return np.stack([man, woman, king, king - man + woman, np.array([0.0, 0.0, -1.0])])


def test_exact_analogy_is_solved():
    acc, picked = analogy_accuracy(_toy_embeddings(), [(0, 1, 2, 3)])
    assert acc == 1.0 and picked == [3]


def test_excluding_inputs_changes_the_answer_when_an_input_is_nearest():
    emb = _toy_embeddings()
    emb[3] = [0.0, 0.0, -1.0]  # queen no longer at king - man + woman
    # the target (-0.29, 1, 0.71) is now nearest to woman (b), which wins unless excluded;
    # excluded, rows 3 and 4 tie and the first of them is returned
    assert solve_analogies(emb, [(0, 1, 2)], exclude_inputs=False) == [1]
    assert solve_analogies(emb, [(0, 1, 2)], exclude_inputs=True) == [3]


def test_analogy_accuracy_counts_the_share_answered_right():
    emb = _toy_embeddings()
    # the second analogy (man : woman = king : apple) has a wrong expected answer
    accuracy, picked = analogy_accuracy(emb, [(0, 1, 2, 3), (0, 1, 2, 4)])
    assert accuracy == 0.5 and picked == [3, 3]


def test_solve_analogies_compares_directions_not_lengths():
    emb = _toy_embeddings()
    # a long row at a worse angle: its dot product with the target beats queen's, its
    # cosine does not
    emb[4] = [0.0, 10.0, 1.0]
    assert solve_analogies(emb, [(0, 1, 2)]) == [3]
    assert solve_analogies(emb * np.array([[1.0], [5.0], [0.2], [3.0], [0.5]]), [(0, 1, 2)]) == [3]


def test_bad_analogy_inputs_are_rejected():
    with pytest.raises(ValueError, match="2-D"):
        solve_analogies(np.zeros(5), [(0, 1, 2)])
    with pytest.raises(ValueError, match="empty"):
        solve_analogies(_toy_embeddings(), [])
    with pytest.raises(ValueError, match="out of range"):
        solve_analogies(_toy_embeddings(), [(0, 1, 9)])
    with pytest.raises(ValueError, match="quadruple"):
        analogy_accuracy(_toy_embeddings(), [(0, 1, 2)])


def test_analogy_set_is_well_formed():
    assert len(ANALOGIES) >= 20
    assert len(set(ANALOGIES)) == len(ANALOGIES), "an analogy is listed twice"
    for quad in ANALOGIES:
        assert len(quad) == 4 and len(set(quad)) == 4, quad
        assert all(word.isalpha() and word == word.strip() for word in quad), quad


@pytest.mark.parametrize("dimension", [1, 2, 5])
def test_two_nn_recovers_the_dimension_of_a_linear_subspace(dimension):
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(1500, dimension))
    embedded = latent @ rng.normal(size=(dimension, 40))
    assert two_nn_dimension(embedded) == pytest.approx(dimension, rel=0.15)


def test_two_nn_sees_a_curved_two_dimensional_surface_as_two_dimensional():
    rng = np.random.default_rng(1)
    t, h = rng.random(2000) * 3 * np.pi, rng.random(2000) * 5
    roll = np.c_[t * np.cos(t), h, t * np.sin(t)]
    assert two_nn_dimension(roll) == pytest.approx(2.0, rel=0.15)


def test_two_nn_ignores_duplicates_and_rejects_bad_input():
    rng = np.random.default_rng(2)
    points = rng.normal(size=(500, 3))
    assert two_nn_dimension(np.vstack([points, points[:50]])) == two_nn_dimension(points)
    with pytest.raises(ValueError, match="2-D"):
        two_nn_dimension(np.zeros(10))
    with pytest.raises(ValueError, match="3 distinct"):
        two_nn_dimension(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="discard_fraction"):
        two_nn_dimension(points, discard_fraction=1.0)


def test_principal_components_find_the_direction_of_most_variance():
    rng = np.random.default_rng(3)
    direction = np.array([3.0, 4.0, 0.0]) / 5.0
    points = rng.normal(size=(200, 1)) * 10 * direction + rng.normal(scale=0.1, size=(200, 3))
    projected, explained = principal_components(points, 2)
    assert projected.shape == (200, 2)
    assert explained[0] > 0.99 and explained[1] < 0.01
    # the first component is the line itself: the projection keeps the distances along it
    along = (points - points.mean(axis=0)) @ direction
    assert np.allclose(np.abs(projected[:, 0]), np.abs(along), atol=0.1)


def test_principal_components_reject_bad_input():
    with pytest.raises(ValueError, match="at least 3 rows"):
        principal_components(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="n must"):
        principal_components(np.zeros((5, 4)), 0)
