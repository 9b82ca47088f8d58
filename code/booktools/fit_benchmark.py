"""fit_chinchilla against Epoch AI's estimator, side by side: python -m booktools.fit_benchmark.

Fits the 240 points Epoch AI extracted from Hoffmann et al.'s Figure 4 twice, at one thread
each, in one run: with :func:`emergence.scaling.fit_chinchilla` and with
:func:`reference_fit`, a re-implementation of the estimator of Epoch's notebook (Besiroglu
et al. 2024). Prints both times, the speed-up, both optima, and the one-thread float32
matmul peak measured in the same run (the yardstick for comparing runs on a noisy machine).
It is a benchmark, run by hand, not a test: timings depend on the machine and its load.

The points are not part of the book; they are read from ``../shared/data`` next to the
repository, or from the path given on the command line.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import optimize

from emergence.model import matmul_peak_flops
from emergence.scaling import CHINCHILLA_GRID, fit_chinchilla

#: the thread-count variables of the BLAS and OpenMP runtimes numpy and torch may use
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

SHARED_POINTS = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "chinchilla_figure4_points.csv"
)

PARAMETER_NAMES = ("E", "A", "B", "alpha", "beta")
#: "the same optimum": the tolerances with which tests/test_scaling.py holds fit_chinchilla
#: to Epoch's published fit (A and B relative, E, alpha and beta absolute), and the summed
#: Huber loss to a relative 1e-6
RELATIVE_TOLERANCE = {"A": 0.01, "B": 0.01, "objective": 1e-6}
ABSOLUTE_TOLERANCE = {"E": 0.005, "alpha": 0.005, "beta": 0.005}


def read_points(path: Path = SHARED_POINTS, keep: int = 240
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, D, loss) of Epoch's points, D = C / (6 N), keeping the ``keep`` lowest losses.

    Epoch's analysis leaves out the 5 highest-loss of its 245 points, which leaves 240.
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    if not path.exists():
        raise ValueError(f"no points file at {path}")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    n = np.array([float(row["Model Size"]) for row in rows])
    compute = np.array([float(row["Training FLOP"]) for row in rows])
    loss = np.array([float(row["loss"]) for row in rows])
    kept = np.argsort(loss)[:keep]
    return n[kept], compute[kept] / (6 * n[kept]), loss[kept]


@dataclass(frozen=True)
class ReferenceFit:
    """The best of the reference's runs: parameters by name and the summed Huber loss."""

    params: dict[str, float]
    objective: float
    n_starts: int
    n_succeeded: int


def _log_sum_exp(params, n, d, lib):
    a, b, e, alpha, beta = params
    return lib.log(lib.exp(a - alpha * lib.log(n)) + lib.exp(b - beta * lib.log(d)) + lib.exp(e))


def _huber_sum(residual, delta, lib):
    absolute = lib.abs(residual)
    return lib.where(absolute <= delta, 0.5 * residual**2,
                     delta * (absolute - 0.5 * delta)).sum()


def reference_objective(params: np.ndarray, n: np.ndarray, d: np.ndarray, loss: np.ndarray,
                        delta: float = 1e-3) -> float:
    """Epoch's objective: summed Huber loss of log(loss) minus the log-sum-exp prediction."""
    return float(_huber_sum(np.log(loss) - _log_sum_exp(params, n, d, np), delta, np))


def reference_gradient(params: np.ndarray, n: np.ndarray, d: np.ndarray, loss: np.ndarray,
                       delta: float = 1e-3) -> np.ndarray:
    """The gradient of :func:`reference_objective` by ``torch.autograd`` in float64."""
    theta = torch.tensor(params, dtype=torch.float64, requires_grad=True)
    n, d, loss = (torch.from_numpy(np.asarray(values, dtype=float)) for values in (n, d, loss))
    objective = _huber_sum(torch.log(loss) - _log_sum_exp(theta, n, d, torch), delta, torch)
    (gradient,) = torch.autograd.grad(objective, theta)
    return gradient.numpy()


def reference_fit(n: object, d: object, loss: object, delta: float = 1e-3,
                  grid: dict[str, tuple[float, ...]] | None = None) -> ReferenceFit:
    """Epoch AI's estimator as their notebook runs it, re-implemented for comparison.

    Follows the cells of Epoch's ``data_analysis.ipynb`` that define the objective (cell 3:
    the log-sum-exp form of L(N, D) = E + A/N^alpha + B/D^beta, Huber loss with ``delta``
    on log-loss residuals, summed) and fit it (cells 14-18: scipy's
    ``minimize(method="L-BFGS-B")`` with default tolerances from every point of the grid of
    4,500 initial values, the best successful run kept). As there, the objective and its
    gradient are separate callables (:func:`reference_objective`,
    :func:`reference_gradient`), each taking N, D and the losses and taking their logs, and
    the objective is plain NumPy in float64. What differs: the gradient comes from
    ``torch.autograd`` in float64 instead of the ``autograd`` package (not a dependency of
    the book), and nothing is printed while it runs. Used only by this benchmark and its
    test; the book's estimator is :func:`emergence.scaling.fit_chinchilla`.
    """
    n, d, loss = (np.asarray(values, dtype=float) for values in (n, d, loss))
    if not (n.shape == d.shape == loss.shape and n.ndim == 1):
        raise ValueError(f"n, d and loss must be 1-D of one length, got {n.shape}, "
                         f"{d.shape}, {loss.shape}")
    grid = CHINCHILLA_GRID if grid is None else grid
    best, n_succeeded, n_starts = None, 0, 0
    # Epoch's loop order: alpha, beta, e, a, b; each start is (a, b, e, alpha, beta)
    for alpha, beta, e, a, b in itertools.product(
            grid["alpha"], grid["beta"], grid["e"], grid["a"], grid["b"]):
        n_starts += 1
        # as in the notebook (np.seterr): overflowing starts are part of the grid
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = optimize.minimize(
                reference_objective, np.array([a, b, e, alpha, beta], dtype=float),
                args=(n, d, loss, delta), jac=reference_gradient, method="L-BFGS-B")
        if result.success:
            n_succeeded += 1
            if best is None or result.fun < best.fun:
                best = result
    if best is None:
        raise ValueError("no run of the reference converged")
    a, b, e, alpha, beta = best.x
    params = {"E": float(np.exp(e)), "A": float(np.exp(a)), "B": float(np.exp(b)),
              "alpha": float(alpha), "beta": float(beta)}
    return ReferenceFit(params, float(best.fun), n_starts, n_succeeded)


def optimum_differences(fast: dict[str, float], reference: dict[str, float]) -> list[str]:
    """Each parameter (and the objective) on which two optima differ beyond tolerance."""
    problems = []
    for name, tolerance in RELATIVE_TOLERANCE.items():
        if abs(fast[name] - reference[name]) > tolerance * abs(reference[name]):
            problems.append(f"{name}: {fast[name]:.6g} against {reference[name]:.6g} "
                            f"(relative tolerance {tolerance:g})")
    for name, tolerance in ABSOLUTE_TOLERANCE.items():
        if abs(fast[name] - reference[name]) > tolerance:
            problems.append(f"{name}: {fast[name]:.6g} against {reference[name]:.6g} "
                            f"(tolerance {tolerance:g})")
    return problems


def _timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def run(path: Path = SHARED_POINTS, repeats: int = 3) -> dict:
    """Time ``fit_chinchilla`` (``repeats`` times, around the reference) and the reference."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    torch.set_num_threads(1)
    n, d, loss = read_points(path)
    peak = matmul_peak_flops()
    fast_seconds = []
    fit, seconds = _timed(fit_chinchilla, n, d, loss)
    fast_seconds.append(seconds)
    reference, reference_seconds = _timed(reference_fit, n, d, loss)
    for _ in range(repeats - 1):
        fit, seconds = _timed(fit_chinchilla, n, d, loss)
        fast_seconds.append(seconds)
    return {"fast_seconds": fast_seconds, "reference_seconds": reference_seconds,
            "speed_up": reference_seconds / statistics.median(fast_seconds),
            "fast": dict(fit.params, objective=fit.objective),
            "reference": dict(reference.params, objective=reference.objective),
            "reference_runs": (reference.n_succeeded, reference.n_starts),
            "matmul_peak_flops_1_thread": max(peak, matmul_peak_flops())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("points", nargs="?", default=SHARED_POINTS, type=Path)
    parser.add_argument("--repeats", type=int, default=3,
                        help="times fit_chinchilla is run (the median is compared)")
    args = parser.parse_args(argv)
    if any(os.environ.get(name) != "1" for name in THREAD_VARIABLES):
        # the BLAS thread pools are sized when numpy loads: start again with one thread
        env = dict(os.environ, **{name: "1" for name in THREAD_VARIABLES})
        os.execve(sys.executable, [sys.executable, "-m", "booktools.fit_benchmark",
                                   *(sys.argv[1:] if argv is None else argv)], env)
    try:
        report = run(args.points, args.repeats)
    except ValueError as error:
        print(f"fit_benchmark: {error}", file=sys.stderr)
        return 2
    print(f"one thread each; 1-thread float32 matmul peak "
          f"{report['matmul_peak_flops_1_thread'] / 1e9:.1f} GFLOP/s")
    print("fit_chinchilla: " + ", ".join(f"{s:.2f} s" for s in report["fast_seconds"])
          + f" (median {statistics.median(report['fast_seconds']):.2f} s)")
    succeeded, starts = report["reference_runs"]
    print(f"reference (Epoch's estimator): {report['reference_seconds']:.1f} s "
          f"({succeeded} of {starts} runs succeeded)")
    print(f"speed-up: {report['speed_up']:.0f} times")
    print(f"{'':>10} {'fit_chinchilla':>16} {'reference':>16} {'relative diff':>14}")
    for name in (*PARAMETER_NAMES, "objective"):
        fast, reference = report["fast"][name], report["reference"][name]
        print(f"{name:>10} {fast:16.10g} {reference:16.10g} "
              f"{(fast - reference) / abs(reference):14.2e}")
    problems = optimum_differences(report["fast"], report["reference"])
    for problem in problems:
        print("NOT THE SAME OPTIMUM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
