"""Tests of booktools.fit_benchmark: Epoch's estimator re-implemented, and the comparison.

No timing here: the benchmark measures time; these tests check that its reference is the
estimator it claims to be and that fit_chinchilla lands where that estimator does.
"""

import numpy as np
import pytest
from scipy import optimize

from booktools.fit_benchmark import (
    SHARED_POINTS,
    optimum_differences,
    read_points,
    reference_fit,
    reference_gradient,
    reference_objective,
)
from emergence.scaling import ChinchillaLaw, _huber_objective, fit_chinchilla
from test_scaling import synthetic_chinchilla

TRUTH = ChinchillaLaw(E=1.8, A=480.0, B=2000.0, alpha=0.35, beta=0.37)
# the optimum of the 240 points, as fit_chinchilla reports it
OPTIMUM = {"E": 1.8172, "A": 477.83, "B": 2143.4, "alpha": 0.34731, "beta": 0.36717,
           "objective": 0.00101827}



def test_reference_objective_and_gradient_are_fit_chinchillas():
    n, d, loss = synthetic_chinchilla(TRUTH, noise=0.01)
    rng = np.random.default_rng(1)
    for theta in np.array([6.1, 7.6, 0.6, 0.35, 0.37]) + 0.5 * rng.standard_normal((5, 5)):
        value, gradient = _huber_objective(theta, np.log(n), np.log(d), np.log(loss), 1e-3)
        assert reference_objective(theta, n, d, loss) == pytest.approx(value, rel=1e-10)
        assert np.allclose(reference_gradient(theta, n, d, loss), gradient,
                           rtol=1e-8, atol=1e-14)


def test_reference_fit_recovers_a_known_law_and_counts_its_runs():
    n, d, loss = synthetic_chinchilla(TRUTH, noise=0.0)
    grid = {"alpha": (0.5,), "beta": (0.5,), "e": (0.0, 1.0), "a": (5.0,), "b": (5.0, 10.0)}
    fit = reference_fit(n, d, loss, grid=grid)
    assert fit.n_starts == 4 and 1 <= fit.n_succeeded <= 4
    assert fit.params["E"] == pytest.approx(TRUTH.E, rel=1e-3)
    assert fit.params["alpha"] == pytest.approx(TRUTH.alpha, rel=1e-2)
    assert fit.params["beta"] == pytest.approx(TRUTH.beta, rel=1e-2)
    with pytest.raises(ValueError, match="one length"):
        reference_fit(n, d[:-1], loss, grid=grid)


def test_optimum_differences_names_each_parameter_out_of_tolerance():
    assert optimum_differences(OPTIMUM, OPTIMUM) == []
    moved = dict(OPTIMUM, A=OPTIMUM["A"] * 1.02, beta=OPTIMUM["beta"] + 0.01,
                 objective=OPTIMUM["objective"] * (1 + 1e-5))
    problems = optimum_differences(moved, OPTIMUM)
    assert [problem.split(":")[0] for problem in problems] == ["A", "objective", "beta"]


def test_read_points_rejects_a_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no points file"):
        read_points(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match="keep"):
        read_points(tmp_path / "absent.csv", keep=0)


@pytest.mark.skipif(not SHARED_POINTS.exists(), reason="shared Chinchilla data not present")
def test_epochs_optimiser_started_at_fit_chinchillas_optimum_stays_there():
    """On the 240 points, fit_chinchilla's optimum is where the reference's optimiser stays.

    The reference over all 4,500 starts takes minutes (the benchmark runs it); here scipy's
    L-BFGS-B with the reference's objective and autograd gradient, started from
    fit_chinchilla's optimum, must find nothing better and must not move beyond the
    tolerances of "the same optimum", which is also the optimum Epoch's notebook reports.
    """
    n, d, loss = read_points()
    assert len(n) == 240
    fit = fit_chinchilla(n, d, loss)
    start = np.log([fit.law.A, fit.law.B, fit.law.E]).tolist() + [fit.law.alpha, fit.law.beta]
    result = optimize.minimize(reference_objective, np.array(start), args=(n, d, loss),
                               jac=reference_gradient, method="L-BFGS-B")
    assert result.success
    assert result.fun >= fit.objective * (1 - 1e-9)
    assert reference_objective(np.array(start), n, d, loss) == pytest.approx(fit.objective,
                                                                             rel=1e-12)
    a, b, e, alpha, beta = result.x
    polished = {"E": np.exp(e), "A": np.exp(a), "B": np.exp(b), "alpha": alpha, "beta": beta,
                "objective": result.fun}
    assert optimum_differences(dict(fit.params, objective=fit.objective), polished) == []
