"""Geometry of learned representations: principal components, word analogies by vector
arithmetic, and the intrinsic dimension of a cloud of points (the TwoNN estimator of
Facco et al. 2017).

Introduced in the chapter 'The geometry of representations' (representation-geometry).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Analogies "a is to b as c is to d", written for this book, in five relations. Every word
#: is a single token (with its leading space) in the GPT-2 and SmolLM2 vocabularies, checked
#: by the chapter before use.
ANALOGIES: tuple[tuple[str, str, str, str], ...] = (
    # gender
    ("man", "woman", "king", "queen"),
    ("man", "woman", "boy", "girl"),
    ("brother", "sister", "father", "mother"),
    ("he", "she", "his", "her"),
    ("husband", "wife", "uncle", "aunt"),
    ("son", "daughter", "brother", "sister"),
    # country -> capital
    ("France", "Paris", "Japan", "Tokyo"),
    ("Italy", "Rome", "Germany", "Berlin"),
    ("Spain", "Madrid", "China", "Beijing"),
    ("Russia", "Moscow", "Egypt", "Cairo"),
    ("Germany", "Berlin", "France", "Paris"),
    ("Japan", "Tokyo", "Italy", "Rome"),
    # comparative
    ("big", "bigger", "small", "smaller"),
    ("tall", "taller", "fast", "faster"),
    ("old", "older", "small", "smaller"),
    ("fast", "faster", "big", "bigger"),
    # past tense
    ("walk", "walked", "play", "played"),
    ("jump", "jumped", "talk", "talked"),
    ("play", "played", "walk", "walked"),
    ("talk", "talked", "jump", "jumped"),
    # plural
    ("cat", "cats", "dog", "dogs"),
    ("car", "cars", "book", "books"),
    ("tree", "trees", "house", "houses"),
    ("dog", "dogs", "car", "cars"),
)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def _check_quads(count: int, quads: Sequence[tuple[int, ...]]) -> None:
    if not quads:
        raise ValueError("quads is empty")
    for quad in quads:
        if len(quad) < 3 or not all(0 <= i < count for i in quad):
            raise ValueError(f"analogy {quad} has an index out of range for {count} rows")


def solve_analogies(embeddings: np.ndarray, quads: Sequence[tuple[int, ...]],
                    exclude_inputs: bool = True) -> list[int]:
    """For each ``(a, b, c, ...)``, the row of ``embeddings`` closest in cosine to
    ``b - a + c`` ("a is to b as c is to ?"), each vector normalised to unit length first.

    With ``exclude_inputs=True`` (the usual evaluation, as for word2vec) rows ``a``, ``b``
    and ``c`` cannot be the answer; with ``False`` every row competes, as in Nissim et al.
    (2020), who show that the answer is then often an input word. Introduced in the chapter
    'The geometry of representations' (representation-geometry-analogies).

    Raises:
        ValueError: if ``embeddings`` is not 2-D, ``quads`` is empty or an index is out of
            range.
    """
    if np.ndim(embeddings) != 2:
        raise ValueError(f"embeddings must be a 2-D matrix, got shape {np.shape(embeddings)}")
    _check_quads(len(embeddings), quads)
    unit = _unit_rows(embeddings)
    picked = []
    for a, b, c, *_ in quads:
        scores = unit @ (unit[b] - unit[a] + unit[c])
        if exclude_inputs:
            scores[[a, b, c]] = -np.inf
        picked.append(int(np.argmax(scores)))
    return picked


def analogy_accuracy(embeddings: np.ndarray, quads: Sequence[tuple[int, int, int, int]],
                     exclude_inputs: bool = True) -> tuple[float, list[int]]:
    """Top-1 accuracy of :func:`solve_analogies` on ``(a, b, c, d)`` index quadruples, and
    the row it picked for each. Introduced in the chapter 'The geometry of representations'
    (representation-geometry-analogies).

    Raises:
        ValueError: as :func:`solve_analogies`, or if a quadruple has no answer ``d``.
    """
    if any(len(quad) != 4 for quad in quads):
        raise ValueError("every analogy must be a quadruple (a, b, c, d)")
    picked = solve_analogies(embeddings, quads, exclude_inputs)
    right = sum(p == quad[3] for p, quad in zip(picked, quads))
    return right / len(quads), picked


def two_nn_dimension(points: np.ndarray, discard_fraction: float = 0.1) -> float:
    """Intrinsic dimension of a point cloud by the TwoNN estimator of Facco et al. (2017).

    For each point, ``mu`` is the ratio of the distances to its second and first nearest
    neighbours. If the points lie on a ``d``-dimensional manifold with locally uniform
    density, ``mu`` follows a Pareto law whose CDF gives ``-log(1 - F(mu)) = d log(mu)``;
    ``d`` is the slope of that line through the origin, fitted after discarding the
    largest ``discard_fraction`` of the ``mu`` (the tail is the noisiest part). Exact
    duplicate points are removed first, since they make the first distance zero.
    Introduced in the chapter 'The geometry of representations'
    (representation-geometry-dimension).

    Raises:
        ValueError: if ``points`` is not 2-D, has fewer than 3 distinct points, or
            ``discard_fraction`` is outside [0, 1).
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2:
        raise ValueError(f"points must be a 2-D array (n, features), got shape {points.shape}")
    if not 0 <= discard_fraction < 1:
        raise ValueError(f"discard_fraction must lie in [0, 1), got {discard_fraction}")
    points = np.unique(points, axis=0)
    if len(points) < 3:
        raise ValueError("need at least 3 distinct points")
    squared = np.sum(points**2, axis=1)
    distances = squared[:, None] + squared[None, :] - 2.0 * points @ points.T
    np.fill_diagonal(distances, np.inf)
    nearest = np.sqrt(np.maximum(np.partition(distances, 1, axis=1)[:, :2], 0.0))
    mu = np.sort(nearest[:, 1] / nearest[:, 0])
    n = len(mu)
    keep = max(2, int(np.floor(n * (1.0 - discard_fraction))))
    x = np.log(mu[:keep])
    y = -np.log(1.0 - np.arange(1, keep + 1) / (n + 1))
    return float(np.dot(x, y) / np.dot(x, x))


def principal_components(embedding: np.ndarray, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``embedding`` (one point per row) projected on their top ``n``
    principal components.

    Returns the ``(rows, n)`` projections and the share of variance each component explains.
    For a Fourier embedding of residues the components come in pairs, a cosine and a sine of
    one frequency, and each pair places the residues on a circle. Introduced in 'Grokking'
    (grokking); used again in 'The geometry of representations' (representation-geometry).

    Raises:
        ValueError: if ``embedding`` is not 2-D with at least 3 rows, or ``n`` is not
            between 1 and ``min(rows, d)``.
    """
    embedding = np.asarray(embedding, dtype=float)
    if embedding.ndim != 2 or embedding.shape[0] < 3:
        raise ValueError("embedding must be a (rows, d) array with at least 3 rows")
    if not 1 <= n <= min(embedding.shape):
        raise ValueError(f"n must be between 1 and {min(embedding.shape)}, got {n}")
    centred = embedding - embedding.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    explained = singular**2 / (singular**2).sum()
    return centred @ vt[:n].T, explained[:n]
