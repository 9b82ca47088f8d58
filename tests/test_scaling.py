"""Tests of emergence.scaling: the law types, power-law fits and fit_chinchilla.

The published constants themselves are tested against their papers in test_published.py;
here they serve as realistic laws.
"""

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from emergence.published import BESIROGLU_2024, HOFFMANN_2022, KAPLAN_JOINT, KAPLAN_N
from emergence.scaling import (
    ChinchillaLaw,
    _batched_lbfgs,
    _huber_objective,
    _HuberObjective,
    fit_chinchilla,
    fit_power_law,
)

SHARED_POINTS = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "chinchilla_figure4_points.csv"
)

# a small grid keeps the synthetic tests fast; the full grid is exercised on the shared data
SMALL_GRID = {
    "alpha": (0.0, 0.5, 1.0),
    "beta": (0.0, 0.5, 1.0),
    "e": (-1.0, 0.0, 1.0),
    "a": (0.0, 5.0, 10.0),
    "b": (0.0, 5.0, 10.0),
}


def synthetic_power_law(irreducible: float, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.logspace(5, 9, 25)
    y = (irreducible + 300.0 * x**-0.35) * np.exp(noise * rng.standard_normal(x.size))
    return x, y


# --- the law types ------------------------------------------------------------------------


def test_kaplan_joint_law_reduces_to_l_of_n_with_unlimited_data():
    n = np.array([1e6, 1e8, 1e10])
    expected = (KAPLAN_JOINT.n_c / n) ** KAPLAN_JOINT.alpha_n
    assert np.allclose(KAPLAN_JOINT.loss(n, 1e30), expected, rtol=1e-6)


@pytest.mark.parametrize("law", [HOFFMANN_2022, BESIROGLU_2024])
def test_compute_optimal_matches_a_numerical_minimum_on_the_iso_flop_curve(law):
    """Eq. (4) in closed form against a direct minimisation of L(N, C / 6N) over log N."""

    def numerical_optimum(compute: float) -> float:
        def loss_at(log_n: float) -> float:
            n = np.exp(log_n)
            return float(law.predict(n, compute / (6 * n)))

        result = optimize.minimize_scalar(loss_at, bounds=(np.log(1e6), np.log(1e14)),
                                          method="bounded", options={"xatol": 1e-10})
        return float(np.exp(result.x))

    for compute in (1e21, 5.76e23):
        n_opt, d_opt = law.compute_optimal(compute)
        assert 6 * n_opt * d_opt == pytest.approx(compute, rel=1e-9)
        assert n_opt == pytest.approx(numerical_optimum(compute), rel=1e-4)
    # the allocation exponent a is the slope of log N_opt against log C, found numerically
    slope = np.log(numerical_optimum(1e24) / numerical_optimum(1e20)) / np.log(1e4)
    assert law.exponents[0] == pytest.approx(slope, abs=1e-4)


def test_laws_reject_non_positive_inputs():
    with pytest.raises(ValueError, match="compute"):
        HOFFMANN_2022.compute_optimal(-1.0)
    with pytest.raises(ValueError, match="n"):
        HOFFMANN_2022.predict(0.0, 1e9)
    with pytest.raises(ValueError, match="N"):
        KAPLAN_N.loss(np.nan)


# --- power-law fits -----------------------------------------------------------------------


def test_pure_power_law_is_recovered_exactly_without_noise():
    x = np.logspace(3, 8, 10)
    fit = fit_power_law(x, 5.0 * x**-0.2)
    assert fit.alpha == pytest.approx(0.2, rel=1e-8)
    assert fit.A == pytest.approx(5.0, rel=1e-8)
    assert fit.E == 0.0 and set(fit.params) == {"A", "alpha"}
    assert fit.r_squared == pytest.approx(1.0)
    assert np.allclose(fit.predict(x), 5.0 * x**-0.2)


def test_irreducible_fit_recovers_known_exponent_from_noisy_data():
    x, y = synthetic_power_law(irreducible=1.7, noise=0.005)
    fit = fit_power_law(x, y, irreducible=True)
    assert abs(fit.alpha - 0.35) < 3 * fit.stderr["alpha"] + 0.02
    assert abs(fit.E - 1.7) < 0.05
    assert fit.r_squared > 0.99
    assert set(fit.stderr) == {"A", "alpha", "E"}
    assert all(value > 0 for value in fit.stderr.values())
    assert fit.residuals.shape == x.shape


def test_fit_without_irreducible_term_is_biased_when_there_is_one():
    x, y = synthetic_power_law(irreducible=1.7, noise=0.0)
    plain = fit_power_law(x, y)
    full = fit_power_law(x, y, irreducible=True)
    # the pure power law flattens its exponent to bend towards the floor it cannot represent
    assert plain.alpha < 0.5 * 0.35
    assert full.alpha == pytest.approx(0.35, rel=1e-4)
    assert np.sum(full.residuals**2) < np.sum(plain.residuals**2)


@pytest.mark.parametrize("irreducible", [False, True])
def test_fit_power_law_agrees_with_scipy_curve_fit(irreducible):
    """Oracle: scipy.optimize.curve_fit on the same objective (least squares on log y).

    Both must reach the same optimum: parameters within a relative 1e-6, the residual sum of
    squares within a relative 1e-9, and the standard errors (curve_fit's pcov with
    absolute_sigma=False) within a relative 1e-4.
    """
    x, y = synthetic_power_law(irreducible=1.7 if irreducible else 0.0, noise=0.02, seed=3)
    if irreducible:
        def log_model(x, a, alpha, e):
            return np.log(e + a * x**-alpha)

        names, start, bounds = ("A", "alpha", "E"), (50.0, 0.2, 1.0), (0.0, np.inf)
    else:
        def log_model(x, a, alpha):
            return np.log(a * x**-alpha)

        names, start, bounds = ("A", "alpha"), (50.0, 0.2), (-np.inf, np.inf)
    popt, pcov = optimize.curve_fit(
        log_model, x, np.log(y), p0=start, bounds=bounds, method="trf",
        xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=100_000,
    )
    fit = fit_power_law(x, y, irreducible=irreducible)
    oracle_rss = np.sum((np.log(y) - log_model(x, *popt)) ** 2)
    assert np.sum(fit.residuals**2) == pytest.approx(oracle_rss, rel=1e-9)
    assert [fit.params[name] for name in names] == pytest.approx(list(popt), rel=1e-6)
    oracle_stderr = np.sqrt(np.diag(pcov))
    assert [fit.stderr[name] for name in names] == pytest.approx(list(oracle_stderr), rel=1e-4)


def test_standard_errors_shrink_with_more_points():
    rng = np.random.default_rng(1)
    errors = []
    for n_points in (10, 160):
        x = np.logspace(4, 8, n_points)
        y = 3.0 * x**-0.1 * np.exp(0.01 * rng.standard_normal(n_points))
        errors.append(fit_power_law(x, y).stderr["alpha"])
    assert errors[1] < 0.5 * errors[0]


def test_band_contains_the_fit_and_widens_when_extrapolating():
    x, y = synthetic_power_law(irreducible=1.7, noise=0.01, seed=2)
    fit = fit_power_law(x, y, irreducible=True)
    grid = np.logspace(5, 12, 30)
    lower, upper = fit.band(grid)
    prediction = fit.predict(grid)
    assert np.all(lower <= prediction) and np.all(prediction <= upper)
    width = np.log(upper / lower)
    assert width[-1] > width[10]
    narrow_lower, narrow_upper = fit.band(grid, level=0.5)
    assert np.all(np.log(narrow_upper / narrow_lower) < width)
    with pytest.raises(ValueError, match="level"):
        fit.band(grid, level=1.0)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([1.0, 2.0, np.nan, 4.0], [1.0, 0.5, 0.3, 0.2], "NaN or infinite"),
        ([1.0, 2.0, 3.0, 4.0], [1.0, np.inf, 0.3, 0.2], "NaN or infinite"),
        ([1.0, 0.0, 3.0, 4.0], [1.0, 0.5, 0.3, 0.2], "positive"),
        ([1.0, 2.0, 3.0, 4.0], [1.0, -0.5, 0.3, 0.2], "positive"),
        ([1.0, 2.0, 3.0], [1.0, 0.5, 0.3, 0.2], "different lengths"),
        ([1.0, 2.0], [1.0, 0.5], "at least 3"),
        ([[1.0, 2.0]], [[1.0, 0.5]], "one-dimensional"),
        (["a", "b", "c"], [1.0, 0.5, 0.3], "numbers"),
    ],
)
def test_fit_power_law_rejects_bad_input(x, y, message):
    with pytest.raises(ValueError, match=message):
        fit_power_law(x, y)


def test_irreducible_fit_needs_four_points():
    with pytest.raises(ValueError, match="at least 4"):
        fit_power_law([1.0, 2.0, 3.0], [1.0, 0.5, 0.4], irreducible=True)


# --- fit_chinchilla -----------------------------------------------------------------------


def synthetic_chinchilla(law: ChinchillaLaw, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = np.repeat(np.logspace(7.5, 10, 8), 6)
    d = n * np.tile(np.logspace(0, 2.5, 6), 8)
    loss = law.predict(n, d) * np.exp(noise * rng.standard_normal(n.size))
    return n, d, loss


def test_huber_gradient_matches_finite_differences():
    n, d, loss = synthetic_chinchilla(HOFFMANN_2022, noise=0.01)
    args = (np.log(n), np.log(d), np.log(loss), 1e-3)
    theta = np.array([6.1, 5.9, 0.5, 0.33, 0.29])
    _, gradient = _huber_objective(theta, *args)
    numeric = np.array([
        (_huber_objective(theta + h, *args)[0] - _huber_objective(theta - h, *args)[0]) / 2e-7
        for h in np.eye(5) * 1e-7
    ])
    assert np.allclose(gradient, numeric, rtol=1e-4, atol=1e-8)


def test_huber_objective_is_the_same_in_any_chunks_and_rejects_underflow():
    """The batch goes through in chunks sharing buffers: every chunking must give the same
    numbers as one row at a time, and a row whose every term underflows gets f = inf."""
    n, d, loss = synthetic_chinchilla(HOFFMANN_2022, noise=0.01)
    args = (np.log(n), np.log(d), np.log(loss), 1e-3)
    theta = np.array([6.1, 5.9, 0.5, 0.33, 0.29]) + np.random.default_rng(0).normal(
        scale=0.5, size=(11, 5))
    one_by_one = [_huber_objective(row, *args) for row in theta]
    for chunk in (1, 4, 11, 64):
        values, gradients = _HuberObjective(*args, chunk=chunk)(theta)
        assert np.allclose(values, [value for value, _ in one_by_one], rtol=1e-12, atol=0)
        assert np.allclose(gradients, [gradient for _, gradient in one_by_one],
                           rtol=1e-10, atol=1e-16)
    # the N term is largest at the smallest N and, with alpha = 1000, underflows at the
    # largest N, where the other two terms underflow too
    a = 1000.0 * np.log(n.min())
    values, _ = _HuberObjective(*args)(np.array([[a, -1000.0, -1000.0, 1000.0, 0.0]]))
    assert values[0] == np.inf


def test_batched_lbfgs_finds_the_minimum_of_a_quadratic():
    centre = np.array([1.0, -2.0, 3.0])
    scales = np.array([1.0, 10.0, 100.0])

    def objective(theta):
        diff = theta - centre
        return np.sum(scales * diff**2, axis=1), 2 * scales * diff

    starts = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0], [-3.0, 1.0, 0.5]])
    ends, values, converged = _batched_lbfgs(objective, starts)
    assert converged.all()
    assert np.allclose(ends, centre, atol=1e-4)
    assert np.all(values < 1e-8)


def test_fit_chinchilla_recovers_known_constants():
    truth = ChinchillaLaw(E=1.8, A=480.0, B=2000.0, alpha=0.35, beta=0.37)
    n, d, loss = synthetic_chinchilla(truth, noise=0.0)
    fit = fit_chinchilla(n, d, loss, grid=SMALL_GRID)
    assert fit.law.E == pytest.approx(1.8, rel=1e-3)
    assert fit.law.alpha == pytest.approx(0.35, rel=1e-2)
    assert fit.law.beta == pytest.approx(0.37, rel=1e-2)
    assert fit.n_starts == 3**5
    assert np.allclose(fit.predict(n, d), loss, rtol=1e-3)
    n_opt, d_opt = fit.compute_optimal(1e22)
    true_n, true_d = truth.compute_optimal(1e22)
    assert n_opt == pytest.approx(true_n, rel=0.05) and d_opt == pytest.approx(true_d, rel=0.05)


@pytest.mark.parametrize(
    ("n", "d", "loss", "message"),
    [
        ([1e8] * 6, [1e9] * 6, [2.0] * 5 + [np.nan], "loss contains NaN"),
        ([1e8] * 5 + [-1.0], [1e9] * 6, [2.0] * 6, "n must be positive"),
        ([1e8] * 6, [1e9] * 5, [2.0] * 6, "different lengths"),
        ([1e8] * 5, [1e9] * 5, [2.0] * 5, "at least 6"),
    ],
)
def test_fit_chinchilla_rejects_bad_input(n, d, loss, message):
    with pytest.raises(ValueError, match=message):
        fit_chinchilla(n, d, loss, grid=SMALL_GRID)


def test_fit_chinchilla_rejects_bad_options():
    n, d, loss = synthetic_chinchilla(HOFFMANN_2022, noise=0.01)
    with pytest.raises(ValueError, match="delta"):
        fit_chinchilla(n, d, loss, delta=0.0, grid=SMALL_GRID)
    with pytest.raises(ValueError, match="grid"):
        fit_chinchilla(n, d, loss, grid={"a": (0.0,)})
    with pytest.raises(ValueError, match="polish"):
        fit_chinchilla(n, d, loss, grid=SMALL_GRID, polish=0)


def read_shared_points() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, D, loss) of Epoch's 240 points: D = C / (6 N), the 5 highest losses left out."""
    with SHARED_POINTS.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    n = np.array([float(row["Model Size"]) for row in rows])
    compute = np.array([float(row["Training FLOP"]) for row in rows])
    loss = np.array([float(row["loss"]) for row in rows])
    keep = np.argsort(loss)[:240]
    return n[keep], compute[keep] / (6 * n[keep]), loss[keep]


@pytest.mark.skipif(not SHARED_POINTS.exists(), reason="shared Chinchilla data not present")
def test_fit_chinchilla_reproduces_the_epoch_re_estimate():
    """Besiroglu et al. (2024) on Epoch's points from Hoffmann et al.'s Figure 4.

    Following their analysis: D = C / (6 N), and the 5 highest-loss points are left out,
    which leaves 240. The data file is read from the shared folder, never copied.
    """
    fit = fit_chinchilla(*read_shared_points())
    law = fit.law
    assert fit.n_starts == 4500
    assert abs(law.E - 1.817) < 0.01
    assert abs(law.alpha - 0.347) < 0.005
    assert abs(law.beta - 0.367) < 0.005
    assert law.A == pytest.approx(BESIROGLU_2024.A, rel=0.05)
    assert law.B == pytest.approx(BESIROGLU_2024.B, rel=0.05)
    # the same estimator in their notebook ("replicate exactly"): A = 477.8, B = 2143
    assert law.A == pytest.approx(477.8, rel=0.01)
    assert law.B == pytest.approx(2143.0, rel=0.01)
    assert math.isclose(fit.objective, np.sum(np.where(
        np.abs(fit.residuals) <= 1e-3, 0.5 * fit.residuals**2,
        1e-3 * (np.abs(fit.residuals) - 0.5e-3))), rel_tol=1e-9)
