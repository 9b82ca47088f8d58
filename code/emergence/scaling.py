"""Scaling laws: the law types, power-law fits and the Chinchilla estimator.

Three kinds of object live here.

* The types of the published laws: Kaplan et al.'s single-variable power laws and their
  joint L(N, D) law, and the parametric loss L(N, D) = E + A/N^alpha + B/D^beta of
  Hoffmann et al. Their published constants live in :mod:`emergence.published` (which
  imports these types; this module imports nothing from it).
* :func:`fit_power_law`: L = A x^-alpha, or L = E + A x^-alpha with an irreducible term,
  fitted by least squares in log space, with standard errors and a confidence band.
* :func:`fit_chinchilla`: Hoffmann et al.'s Approach 3 with their estimator (Huber loss on
  log-loss residuals, L-BFGS from a grid of initial values).

Introduced in the chapters 'Power laws' (power-laws) and 'Compute-optimal training'
(compute-optimal); the fits are used again in 'A scaling law measured here'
(measured-scaling).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

# ---------------------------------------------------------------------------------------
# input checks


def _positive_finite(name: str, values: object) -> np.ndarray:
    """``values`` as a 1-D float array, or ValueError naming ``name`` and the problem."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers: {error}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(array <= 0):
        raise ValueError(f"{name} must be positive (power laws are fitted on log scales)")
    return array


def _same_length(n_parameters: int, **arrays: np.ndarray) -> int:
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs have different lengths: {lengths}")
    n_points = next(iter(lengths.values()))
    if n_points <= n_parameters:
        raise ValueError(
            f"{n_points} points cannot determine {n_parameters} parameters with an error "
            f"estimate: need at least {n_parameters + 1}"
        )
    return n_points


def _positive_scalar_or_array(name: str, values: object) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"{name} must be positive and finite")
    return array


# ---------------------------------------------------------------------------------------
# the types of the published laws (constants in emergence.published)


@dataclass(frozen=True)
class KaplanPowerLaw:
    """A single-variable law of Kaplan et al. (2020), L(X) = (X_c / X)^alpha, in nats per token.

    Introduced in the chapter 'Power laws' (power-laws).
    """

    variable: str
    alpha: float
    scale: float
    unit: str
    source: str
    citation: str = "kaplan2020scaling"

    def loss(self, x: object) -> np.ndarray:
        """Predicted loss at ``x`` (in :attr:`unit`)."""
        return (self.scale / _positive_scalar_or_array(self.variable, x)) ** self.alpha


@dataclass(frozen=True)
class KaplanJointLaw:
    """Kaplan et al.'s joint law, L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D.

    N counts non-embedding parameters, D tokens. Introduced in the chapter 'Power laws'
    (power-laws).
    """

    alpha_n: float
    alpha_d: float
    n_c: float
    d_c: float
    source: str
    citation: str = "kaplan2020scaling"

    def loss(self, n: object, d: object) -> np.ndarray:
        """Predicted loss (nats per token) for ``n`` parameters trained on ``d`` tokens."""
        n = _positive_scalar_or_array("n", n)
        d = _positive_scalar_or_array("d", d)
        return ((self.n_c / n) ** (self.alpha_n / self.alpha_d) + self.d_c / d) ** self.alpha_d


@dataclass(frozen=True)
class ChinchillaLaw:
    """The parametric loss of Hoffmann et al. (2022), L(N, D) = E + A/N^alpha + B/D^beta.

    N counts all parameters, D training tokens, L is in nats per token, and training
    compute is taken as C = 6 N D FLOP. Introduced in the chapter 'Compute-optimal
    training' (compute-optimal).
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str = ""
    citation: str = ""

    def predict(self, n: object, d: object) -> np.ndarray:
        """Predicted loss (nats per token) for ``n`` parameters and ``d`` tokens."""
        n = _positive_scalar_or_array("n", n)
        d = _positive_scalar_or_array("d", d)
        return self.E + self.A / n**self.alpha + self.B / d**self.beta

    def compute_optimal(self, compute: object) -> tuple[np.ndarray, np.ndarray]:
        """(N_opt, D_opt) that minimise the loss at ``compute`` FLOP, with C = 6 N D.

        Eq. (4) of Hoffmann et al.: N_opt = G (C/6)^(beta/(alpha+beta)),
        D_opt = G^-1 (C/6)^(alpha/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta)).
        """
        c = _positive_scalar_or_array("compute", compute)
        total = self.alpha + self.beta
        g = (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / total)
        return g * (c / 6.0) ** (self.beta / total), (c / 6.0) ** (self.alpha / total) / g

    def tokens_per_parameter(self, compute: object) -> np.ndarray:
        """Compute-optimal D_opt / N_opt at ``compute`` FLOP."""
        n_opt, d_opt = self.compute_optimal(compute)
        return d_opt / n_opt

    @property
    def exponents(self) -> tuple[float, float]:
        """(a, b) with N_opt proportional to C^a and D_opt to C^b."""
        total = self.alpha + self.beta
        return self.beta / total, self.alpha / total


# ---------------------------------------------------------------------------------------
# power laws with and without an irreducible term


@dataclass(frozen=True)
class PowerLawFit:
    """A fitted L = E + A x^-alpha (E = 0 without an irreducible term).

    ``stderr`` holds standard errors from the Jacobian at the optimum; ``residuals`` are
    log(observed) - log(fitted), and ``r_squared`` is computed on log loss. Introduced in
    the chapter 'Power laws' (power-laws).
    """

    A: float
    alpha: float
    E: float
    irreducible: bool
    stderr: dict[str, float]
    residuals: np.ndarray = field(repr=False)
    r_squared: float
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    _theta: np.ndarray = field(repr=False)
    _covariance: np.ndarray = field(repr=False)
    _log_x_center: float = field(repr=False)

    @property
    def params(self) -> dict[str, float]:
        """The fitted parameters by name."""
        names = ("A", "alpha", "E") if self.irreducible else ("A", "alpha")
        return {name: float(getattr(self, name)) for name in names}

    def _log_predict_and_gradient(self, x: object) -> tuple[np.ndarray, np.ndarray]:
        log_x = np.log(_positive_scalar_or_array("x", x)) - self._log_x_center
        c, alpha = self._theta[0], self._theta[1]
        term = np.exp(c - alpha * log_x)
        if not self.irreducible:
            return np.log(term), np.stack([np.ones_like(log_x), -log_x])
        prediction = self._theta[2] + term
        share = term / prediction
        return np.log(prediction), np.stack([share, -log_x * share, 1.0 / prediction])

    def predict(self, x: object) -> np.ndarray:
        """Fitted loss at ``x``."""
        return np.exp(self._log_predict_and_gradient(x)[0])

    def band(self, x: object, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) confidence band of the fitted curve at ``x`` (delta method).

        The variance of the log prediction is g' Cov g, with g its gradient in the
        parameters; the band is exp(log prediction +- t quantile x standard error).
        """
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level}")
        log_prediction, gradient = self._log_predict_and_gradient(x)
        variance = np.einsum("i...,ij,j...->...", gradient, self._covariance, gradient)
        dof = len(self.x) - len(self._theta)
        half_width = stats.t.ppf(0.5 + level / 2, dof) * np.sqrt(np.maximum(variance, 0.0))
        return np.exp(log_prediction - half_width), np.exp(log_prediction + half_width)


def fit_power_law(x: object, y: object, irreducible: bool = False) -> PowerLawFit:
    """Fit L = A x^-alpha (or L = E + A x^-alpha if ``irreducible``) to points (x, y).

    Least squares on log y (scipy.optimize.least_squares), so every point weighs the same
    whatever its scale. With ``irreducible`` E is constrained to E >= 0 and the fit is
    started from several values of E, keeping the best. Introduced in the chapter
    'Power laws' (power-laws).
    """
    x = _positive_finite("x", x)
    y = _positive_finite("y", y)
    n_params = 3 if irreducible else 2
    _same_length(n_params, x=x, y=y)
    center = float(np.mean(np.log(x)))
    log_x = np.log(x) - center
    log_y = np.log(y)

    def residuals(theta: np.ndarray) -> np.ndarray:
        term = np.exp(theta[0] - theta[1] * log_x)
        prediction = term + theta[2] if irreducible else term
        return np.log(prediction) - log_y

    def jacobian(theta: np.ndarray) -> np.ndarray:
        term = np.exp(theta[0] - theta[1] * log_x)
        if not irreducible:
            return np.column_stack([np.ones_like(log_x), -log_x])
        prediction = term + theta[2]
        return np.column_stack([term / prediction, -log_x * term / prediction, 1.0 / prediction])

    def start(offset: float) -> np.ndarray:
        slope, intercept = np.polyfit(log_x, np.log(y - offset), 1)
        return np.array([intercept, -slope] + ([offset] if irreducible else []))

    if irreducible:
        starts = [start(fraction * y.min()) for fraction in (0.0, 0.3, 0.6, 0.9, 0.99)]
        bounds = ([-np.inf, -np.inf, 0.0], [np.inf, np.inf, np.inf])
    else:
        starts = [start(0.0)]
        bounds = (-np.inf, np.inf)
    results = [
        optimize.least_squares(residuals, theta0, jac=jacobian, bounds=bounds, x_scale="jac",
                               xtol=1e-12, ftol=1e-12, gtol=1e-12)
        for theta0 in starts
    ]
    best = min(results, key=lambda result: result.cost)
    theta = best.x
    dof = len(x) - n_params
    sigma2 = 2.0 * best.cost / dof
    covariance = sigma2 * np.linalg.pinv(best.jac.T @ best.jac)
    # log A = c + alpha * center: propagate the covariance to the reported parameters
    transform = np.eye(n_params)
    transform[0, 1] = center
    natural = transform @ covariance @ transform.T
    log_a = theta[0] + theta[1] * center
    standard = np.sqrt(np.maximum(np.diag(natural), 0.0))
    stderr = {"A": float(np.exp(log_a) * standard[0]), "alpha": float(standard[1])}
    if irreducible:
        stderr["E"] = float(standard[2])
    fit_residuals = -best.fun
    total = np.sum((log_y - log_y.mean()) ** 2)
    r_squared = 1.0 - np.sum(fit_residuals**2) / total if total > 0 else float("nan")
    return PowerLawFit(
        A=float(np.exp(log_a)),
        alpha=float(theta[1]),
        E=float(theta[2]) if irreducible else 0.0,
        irreducible=irreducible,
        stderr=stderr,
        residuals=fit_residuals,
        r_squared=float(r_squared),
        x=x,
        y=y,
        _theta=theta,
        _covariance=covariance,
        _log_x_center=center,
    )


# ---------------------------------------------------------------------------------------
# Hoffmann et al.'s Approach 3

#: The initialisation grid of Hoffmann et al., App. D.2: 5 x 5 x 5 x 6 x 6 = 4500 starts.
CHINCHILLA_GRID = {
    "alpha": (0.0, 0.5, 1.0, 1.5, 2.0),
    "beta": (0.0, 0.5, 1.0, 1.5, 2.0),
    "e": (-1.0, -0.5, 0.0, 0.5, 1.0),
    "a": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "b": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
}


class _HuberObjective:
    """Summed Huber loss of the log-loss residuals, and its gradient, for a batch of
    parameter vectors (rows of ``theta``: a, b, e, alpha, beta).

    The predicted log loss LSE(a - alpha log N, b - beta log D, e) is shifted by a per-row
    constant m, the largest of its three terms over all points, which is known in closed
    form (the term a - alpha log N is largest at the smallest or the largest N), so no
    exponential can overflow and only two of them per point are needed. Huber's loss is
    written as c (r - c/2) with c the residual r clipped to +-delta. Rows go through in
    chunks, in buffers allocated once: fresh arrays the size of the whole batch cost more
    in memory traffic and page faults than the arithmetic does. Elementwise NumPy and
    einsum only, no BLAS: on arrays this small its thread hand-offs cost more than they
    save, badly so on a busy machine.
    """

    def __init__(self, log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray,
                 delta: float, chunk: int = 128) -> None:
        self.log_n = log_n
        self.log_d = log_d
        self.extremes_n = (float(log_n.min()), float(log_n.max()))
        self.extremes_d = (float(log_d.min()), float(log_d.max()))
        self.log_l = log_l
        self.delta = delta
        self.chunk = chunk
        self.buffers = np.empty((5, chunk, len(log_l)))

    def __call__(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = np.asarray(theta, dtype=float)
        value = np.empty(len(theta))
        gradient = np.empty((len(theta), 5))
        # a wild trial step of the line search may underflow every term; it is rejected
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            for start in range(0, len(theta), self.chunk):
                rows = slice(start, start + self.chunk)
                self._chunk(theta[rows], value[rows], gradient[rows])
        value[~np.isfinite(value)] = np.inf
        return value, gradient

    def _chunk(self, theta: np.ndarray, value: np.ndarray, gradient: np.ndarray) -> None:
        term_n, term_d, total, residual, clipped = self.buffers[:, : len(theta)]
        a, b, e, alpha, beta = theta.T
        top_n = a - alpha * np.where(alpha >= 0, *self.extremes_n)
        top_d = b - beta * np.where(beta >= 0, *self.extremes_d)
        shift = np.maximum(np.maximum(top_n, top_d), e)
        # each term relative to the shift is at most 1
        np.multiply(alpha[:, None], self.log_n, out=term_n)
        np.subtract((a - shift)[:, None], term_n, out=term_n)
        np.exp(term_n, out=term_n)
        np.multiply(beta[:, None], self.log_d, out=term_d)
        np.subtract((b - shift)[:, None], term_d, out=term_d)
        np.exp(term_d, out=term_d)
        term_e = np.exp(e - shift)
        np.add(term_n, term_d, out=total)
        total += term_e[:, None]
        np.log(total, out=residual)
        residual += shift[:, None]
        residual -= self.log_l
        np.clip(residual, -self.delta, self.delta, out=clipped)
        value[:] = (np.einsum("ij,ij->i", clipped, residual)
                    - 0.5 * np.einsum("ij,ij->i", clipped, clipped))
        # d residual / d term = 1 / total, and the Huber loss passes on the clipped residual
        weight = np.divide(clipped, total, out=clipped)
        weighted_n = np.multiply(weight, term_n, out=term_n)
        weighted_d = np.multiply(weight, term_d, out=term_d)
        gradient[:, 0] = weighted_n.sum(axis=1)
        gradient[:, 1] = weighted_d.sum(axis=1)
        gradient[:, 3] = -np.einsum("ij,j->i", weighted_n, self.log_n)
        gradient[:, 4] = -np.einsum("ij,j->i", weighted_d, self.log_d)
        gradient[:, 2] = term_e * weight.sum(axis=1)


def _huber_objective_batch(
    theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray, delta: float
) -> tuple[np.ndarray, np.ndarray]:
    """:class:`_HuberObjective` of the points (log N, log D, log L), applied to ``theta``."""
    chunk = max(1, min(len(theta), 128))
    return _HuberObjective(log_n, log_d, log_l, delta, chunk=chunk)(theta)


def _huber_objective(
    theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray, delta: float
) -> tuple[float, np.ndarray]:
    """:func:`_huber_objective_batch` for one parameter vector, in scipy's calling convention."""
    value, gradient = _huber_objective_batch(theta[None, :], log_n, log_d, log_l, delta)
    return float(value[0]), gradient[0]


def _batched_lbfgs(
    objective, theta: np.ndarray, memory: int = 10, max_iter: int = 2000,
    ftol: float = 1e7 * np.finfo(float).eps, gtol: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Independent L-BFGS runs from every row of ``theta``, advanced in lock step.

    Each row keeps its own curvature memory and its own backtracking (Armijo) line search,
    which shortens a failed step by quadratic interpolation; only the objective
    evaluations are shared, one NumPy batch per step. A row stops with
    the stopping rules of scipy's L-BFGS-B (relative reduction of f below ``ftol``, or the
    largest gradient component below ``gtol``), or when its line search fails; stopped rows
    leave the working arrays, so that later steps cost only what the running rows need.
    Returns (theta, f, converged).
    """
    theta = np.array(theta, dtype=float)
    value, gradient = objective(theta)
    converged = np.max(np.abs(gradient), axis=1) <= gtol
    rows = np.flatnonzero(~converged)  # original index of each running row
    x, f, g = theta[rows], value[rows], gradient[rows]
    dim = theta.shape[1]
    # curvature pairs by row and slot; an empty or rejected slot has rho = 0 and does nothing
    s_memory = np.zeros((rows.size, memory, dim))
    y_memory = np.zeros((rows.size, memory, dim))
    rho = np.zeros((rows.size, memory))
    for iteration in range(max_iter):
        if rows.size == 0:
            break
        # two-loop recursion
        q = g.copy()
        order = [(iteration - 1 - k) % memory for k in range(min(iteration, memory))]
        coefficients = []
        for slot in order:
            coefficient = rho[:, slot] * np.einsum("ij,ij->i", s_memory[:, slot], q)
            q -= coefficient[:, None] * y_memory[:, slot]
            coefficients.append(coefficient)
        if order:
            s_last, y_last = s_memory[:, order[0]], y_memory[:, order[0]]
            yy = np.einsum("ij,ij->i", y_last, y_last)
            # the usual initial Hessian scale s'y / y'y, or 1 where the last pair was rejected
            usable = rho[:, order[0]] > 0
            sy = np.einsum("ij,ij->i", s_last, y_last)
            scale = np.where(usable, sy / np.where(yy > 0, yy, 1.0), 1.0)
        else:
            scale = 1.0 / np.maximum(np.sqrt(np.einsum("ij,ij->i", g, g)), 1e-12)
        r = q * scale[:, None]
        for slot, coefficient in zip(reversed(order), reversed(coefficients)):
            beta = rho[:, slot] * np.einsum("ij,ij->i", y_memory[:, slot], r)
            r += s_memory[:, slot] * (coefficient - beta)[:, None]
        direction = -r
        slope = np.einsum("ij,ij->i", direction, g)
        uphill = slope >= 0
        # a memory that gives no descent direction is dropped for a scaled gradient step
        norm = np.maximum(np.sqrt(np.einsum("ij,ij->i", g, g)), 1e-12)
        direction[uphill] = -g[uphill] / norm[uphill, None]
        slope[uphill] = -norm[uphill]
        # backtracking line search, row by row in a shared loop
        step = np.ones(rows.size)
        new_x = x + direction
        new_f, new_g = objective(new_x)
        for _ in range(40):
            bad = np.flatnonzero(~(new_f <= f + 1e-4 * step * slope))
            if bad.size == 0:
                break
            # the minimiser of the parabola through f, the slope and the failed trial value,
            # kept within [0.1, 0.5] of the failed step (an infinite trial value gives 0.1)
            excess = new_f[bad] - f[bad] - slope[bad] * step[bad]
            with np.errstate(divide="ignore", invalid="ignore"):
                parabola = np.nan_to_num(-slope[bad] * step[bad] ** 2 / (2.0 * excess), nan=0.0)
            step[bad] = np.clip(parabola, 0.1 * step[bad], 0.5 * step[bad])
            new_x[bad] = x[bad] + step[bad, None] * direction[bad]
            new_f[bad], new_g[bad] = objective(new_x[bad])
        accepted = new_f <= f + 1e-4 * step * slope
        s_step = new_x - x
        y_step = new_g - g
        curvature = np.einsum("ij,ij->i", s_step, y_step)
        slot = iteration % memory
        good = accepted & (curvature > 1e-10)
        s_memory[:, slot] = np.where(good[:, None], s_step, 0.0)
        y_memory[:, slot] = np.where(good[:, None], y_step, 0.0)
        rho[:, slot] = np.where(good, 1.0 / np.where(good, curvature, 1.0), 0.0)
        reduction = (f - new_f) / np.maximum(np.maximum(np.abs(f), np.abs(new_f)), 1.0)
        x = np.where(accepted[:, None], new_x, x)
        f = np.where(accepted, new_f, f)
        g = np.where(accepted[:, None], new_g, g)
        done = accepted & ((reduction <= ftol) | (np.max(np.abs(g), axis=1) <= gtol))
        stopped = done | ~accepted
        if stopped.any():
            theta[rows[stopped]], value[rows[stopped]] = x[stopped], f[stopped]
            converged[rows[done]] = True
            running = ~stopped
            rows, x, f, g = rows[running], x[running], f[running], g[running]
            s_memory, y_memory, rho = s_memory[running], y_memory[running], rho[running]
    theta[rows], value[rows] = x, f
    return theta, value, converged


@dataclass(frozen=True)
class ChinchillaFit:
    """The result of :func:`fit_chinchilla`: the fitted law and how the fit went.

    ``objective`` is the summed Huber loss at the best fit, ``n_starts`` the number of
    initial values tried, ``n_converged`` how many of those L-BFGS runs met a stopping rule,
    and ``residuals`` are log(observed) - log(fitted) loss. Introduced in the chapter
    'Compute-optimal training' (compute-optimal).
    """

    law: ChinchillaLaw
    objective: float
    n_starts: int
    n_converged: int
    best_start: dict[str, float]
    residuals: np.ndarray

    def predict(self, n: object, d: object) -> np.ndarray:
        """Predicted loss (nats per token) for ``n`` parameters and ``d`` tokens."""
        return self.law.predict(n, d)

    def compute_optimal(self, compute: object) -> tuple[np.ndarray, np.ndarray]:
        """(N_opt, D_opt) at ``compute`` FLOP; see :meth:`ChinchillaLaw.compute_optimal`."""
        return self.law.compute_optimal(compute)

    @property
    def params(self) -> dict[str, float]:
        """E, A, B, alpha, beta by name."""
        law = self.law
        return {"E": law.E, "A": law.A, "B": law.B, "alpha": law.alpha, "beta": law.beta}


def fit_chinchilla(
    n: object,
    d: object,
    loss: object,
    delta: float = 1e-3,
    grid: dict[str, tuple[float, ...]] | None = None,
    polish: int = 10,
) -> ChinchillaFit:
    """Fit L(N, D) = E + A/N^alpha + B/D^beta with the estimator of Hoffmann et al. (2022).

    With a = log A, b = log B, e = log E, the predicted log loss is
    LSE(a - alpha log N, b - beta log D, e); the Huber loss (``delta``) of its difference
    from log L is summed over the points and minimised with L-BFGS-B (analytic gradient)
    from every point of ``grid`` (default: :data:`CHINCHILLA_GRID`, their App. D.2), and
    the best fit is kept.

    For speed, the runs from all grid points advance together in one vectorised L-BFGS
    (:func:`_batched_lbfgs`) over a batched objective with an analytic gradient
    (:class:`_HuberObjective`); the ``polish`` best end points are then refined by scipy's
    L-BFGS-B, whose result is returned. On Epoch AI's 240 points this reaches the optimum
    of their notebook's estimator (scipy's L-BFGS-B from each of the 4,500 starts in turn)
    many times faster; ``python -m booktools.fit_benchmark`` measures both side by side.
    The loss scale matters: Besiroglu et al. (2024) found that Hoffmann et al.'s optimiser
    "stopped before convergence due to a poor choice of loss scale" (reportedly a mean
    instead of this sum, so small that L-BFGS's tolerance ends the run early). Introduced in
    the chapter 'Compute-optimal training' (compute-optimal).
    """
    n = _positive_finite("n", n)
    d = _positive_finite("d", d)
    loss = _positive_finite("loss", loss)
    _same_length(5, n=n, d=d, loss=loss)
    if polish < 1:
        raise ValueError(f"polish must be >= 1, got {polish}")
    if not (np.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be positive and finite, got {delta}")
    grid = CHINCHILLA_GRID if grid is None else grid
    names = ("a", "b", "e", "alpha", "beta")
    if set(grid) != set(names) or any(len(values) == 0 for values in grid.values()):
        raise ValueError(f"grid must give at least one value for each of {names}")
    log_n, log_d, log_l = np.log(n), np.log(d), np.log(loss)
    starts = np.array(list(itertools.product(*(grid[name] for name in names))))

    ends, values, converged = _batched_lbfgs(
        _HuberObjective(log_n, log_d, log_l, delta), starts)
    one_row = _HuberObjective(log_n, log_d, log_l, delta, chunk=1)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = one_row(theta[None, :])
        return float(value[0]), gradient[0]

    # scipy's L-BFGS-B has the last word on the most promising end points
    best = None
    for index in np.argsort(values)[:polish]:
        result = optimize.minimize(objective, ends[index], jac=True, method="L-BFGS-B")
        if best is None or result.fun < best.fun:
            best, best_start = result, starts[index]
    a, b, e, alpha, beta = best.x
    law = ChinchillaLaw(
        E=float(np.exp(e)), A=float(np.exp(a)), B=float(np.exp(b)),
        alpha=float(alpha), beta=float(beta), source="fit_chinchilla",
    )
    return ChinchillaFit(
        law=law,
        objective=float(best.fun),
        n_starts=len(starts),
        n_converged=int(converged.sum()),
        best_start=dict(zip(names, map(float, best_start))),
        residuals=log_l - np.log(law.predict(n, d)),
    )
