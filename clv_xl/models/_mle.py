"""Maximum-likelihood machinery shared by every model: log-scale parameters, several
starting points, and standard errors by the delta method (the Hessian in `_hessian`).

Every parameter of these models is positive, so the optimiser works on
``theta = log(parameter)`` within ``[log(LOWER), log(UPPER)]``. The models scale their
data (time to a mean age of 1, money to a mean spend of 1) before fitting, so these fixed
bounds are wide on any unit. The covariance of ``theta`` is the inverse of the Hessian of
the negative log-likelihood; the delta method gives ``se(parameter) = parameter * se(theta)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import OptimizeResult, minimize

from clv_xl.models._data import Compressed, Levels, mean_scale
from clv_xl.models._errors import NotFittedError
from clv_xl.models._hessian import jacobian_of, log_covariance, numerical_hessian

LOWER = 1e-6
UPPER = 1e6
LOG_BOUNDS = (math.log(LOWER), math.log(UPPER))
#: A log-parameter closer than this to its bound (a factor of 10) counts as "at the boundary".
_BOUNDARY_MARGIN = math.log(10.0)
#: Likelihood evaluations one start may spend: a fit ends in bounded time on any data.
EVALUATION_BUDGET = 600
#: A parameter moves to its limit when that costs at most this (relative, mean objective
#: per customer): the data do not tell the estimate from the limit.
AGREEMENT = 1e-7
#: Two starts ending this close (relative, mean objective per customer) reached one maximum,
#: or one ridge towards a limit (where the end points of line searches scatter this much).
RIDGE_AGREEMENT = 1e-5
#: A run whose projected gradient (mean objective per customer) is below this converged.
GRADIENT_TOLERANCE = 1e-6
#: Trial steps of one line search: one that needs more is lost in the objective's rounding
#: (on a ridge towards a limit), and the run ends there instead of spending 20 more
#: evaluations of the likelihood (scipy's default).
LINE_SEARCH_STEPS = 6
#: A standard error above this multiple of its estimate marks a poorly determined parameter.
_WEAK_SE_RATIO = 10.0

LogLikelihood = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class Convergence:
    """How the maximisation ended: ``warnings`` holds sentences for people."""

    converged: bool
    iterations: int
    message: str
    at_boundary: bool
    warnings: tuple[str, ...]
    #: Starts run, a limit's point (:func:`maximise`'s ``limit``) counted as one.
    starts_tried: int
    at_edge: tuple[str, ...] = ()  # the parameters at the edge of their range, as warned


@dataclass(frozen=True)
class MleFit:
    """Parameters at the maximum, their standard errors and the maximised log-likelihood."""

    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    convergence: Convergence
    #: Covariance of the log-parameters (inverse Hessian), in ``names`` order; NaN when flat.
    log_covariance: np.ndarray


def maximise(
    log_likelihood: LogLikelihood,
    names: Sequence[str],
    starts: Sequence[Sequence[float]],
    total_weight: float,
    model_name: str,
    with_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
    axes: np.ndarray | None = None,
    warm: bool = False,
    limit: Sequence[float] | None = None,
) -> MleFit:
    """Maximise ``log_likelihood(params)`` over positive params from each start.

    ``warm``: the first start is the maximum of similar data (the calibration period's for
    the whole history); its run alone decides when it converges.

    ``with_gradient(params)``, the log-likelihood and its derivatives by each parameter in
    one evaluation, is optional: without it the optimiser and the Hessian use finite
    differences. ``axes``: the directions the optimiser works along (see :func:`_run_from`).

    ``limit``: the model's best point at a limit (one rate for all, :mod:`.one_rate`), which
    counts as the end of a run before the first cold start: that start then stops as soon
    as it settles there (:func:`_run_from`) instead of crawling the ridge towards the limit
    to its end. It counts as converged only when a start ends within ``RIDGE_AGREEMENT``
    of it.

    Each start runs L-BFGS-B on the log scale with at most ``EVALUATION_BUDGET``
    evaluations of the likelihood, so a fit ends in bounded time on any data. The starts
    run until two end within ``RIDGE_AGREEMENT`` of each other (a tolerance a ridge's end points
    reach; a later start stops as soon as it settles there, :func:`_run_from`); the best run
    that converged wins, else the best run. A run converges when
    L-BFGS-B says so, its projected gradient is below ``GRADIENT_TOLERANCE`` (a line
    search that fails at the maximum, where the objective is flat to rounding) or another
    start ended within ``RIDGE_AGREEMENT`` of it (on a ridge towards a limit, where line searches
    end without either, two starts agreeing is the evidence of the maximum). The
    objective is the mean negative log-likelihood per customer, so the tolerances do not
    depend on the sample size.
    """

    def objective(theta: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            value = -log_likelihood(np.exp(theta)) / total_weight
        return float(value) if np.isfinite(value) else np.inf

    def objective_and_slope(theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The objective and d objective / d theta = -params * d log-likelihood / d params /
        total weight."""
        assert with_gradient is not None
        with np.errstate(all="ignore"):
            value, gradient = with_gradient(np.exp(theta))
            value, slope = -value / total_weight, -np.exp(theta) * gradient / total_weight
        if not (np.isfinite(value) and np.all(np.isfinite(slope))):
            return np.inf, np.zeros(len(theta))
        return float(value), slope

    def slope(theta: np.ndarray) -> np.ndarray:
        return objective_and_slope(theta)[1]

    both = None if with_gradient is None else objective_and_slope
    jacobian = None if with_gradient is None else slope
    runs: list[_Run] = []
    for index, start in enumerate(starts):
        if limit is not None and index == int(warm):
            theta = np.log(np.asarray(limit, dtype=float))
            runs.append(_Run(theta=theta, value=objective(theta), converged=False, iterations=0))
        theta0 = np.log(np.asarray(start, dtype=float))
        ends = [run.value for run in runs if np.isfinite(run.value)]
        runs.append(_run_from(objective, theta0, both, axes, min(ends, default=None)))
        if _two_agree(runs) or (warm and runs[0].converged):
            break
    finite = [run for run in runs if np.isfinite(run.value)]
    if not finite:
        raise NotFittedError(
            f"The {model_name} likelihood cannot be computed for this data at any starting point."
        )
    finite = [replace(run, converged=run.converged or _agreed(run, finite)) for run in finite]
    best = min(finite, key=lambda run: (not run.converged, run.value))
    theta, value = _towards_limits(objective, best.theta, best.value)
    params = np.exp(theta)
    hessian = (
        numerical_hessian(objective, theta) if jacobian is None else jacobian_of(jacobian, theta)
    )
    covariance = log_covariance(hessian * total_weight)
    standard_errors = params * np.sqrt(np.diag(covariance))
    at_bound = np.minimum(theta - LOG_BOUNDS[0], LOG_BOUNDS[1] - theta) < _BOUNDARY_MARGIN
    warnings = _warnings(names, params, standard_errors, at_bound, model_name)
    convergence = Convergence(
        converged=best.converged,
        iterations=best.iterations,
        message="converged" if best.converged else "stopped at the evaluation budget",
        at_boundary=bool(at_bound.any()),
        warnings=warnings,
        starts_tried=len(runs),
        at_edge=tuple(name for name, edge in zip(names, at_bound, strict=True) if edge),
    )
    return MleFit(
        params=dict(zip(names, params.tolist(), strict=True)),
        standard_errors=dict(zip(names, standard_errors.tolist(), strict=True)),
        log_likelihood=float(-value * total_weight),
        convergence=convergence,
        log_covariance=covariance,
    )


@dataclass(frozen=True)
class _Run:
    """Where one start ended: theta, the objective there, whether it converged."""

    theta: np.ndarray
    value: float
    converged: bool
    iterations: int


def _towards_limits(
    objective: Callable[[np.ndarray], float], theta: np.ndarray, value: float
) -> tuple[np.ndarray, float]:
    """``theta`` with each parameter moved to its nearer bound where that costs at most
    AGREEMENT of the objective: the data do not tell the estimate from that limit (an
    optimiser stops short of a maximum at the edge wherever the likelihood is flat)."""
    theta = theta.copy()
    tolerance = AGREEMENT * max(1.0, abs(value))
    for i in range(len(theta)):
        low, high = theta[i] - LOG_BOUNDS[0], LOG_BOUNDS[1] - theta[i]
        moved = theta.copy()
        moved[i] = LOG_BOUNDS[0] if low < high else LOG_BOUNDS[1]
        moved_value = objective(moved)
        if moved_value <= value + tolerance:
            theta, value = moved, moved_value
    return theta, value


def _two_agree(runs: Sequence[_Run]) -> bool:
    """Whether two runs reached the same maximum (within RIDGE_AGREEMENT)."""
    return any(_agreed(run, runs) for run in runs if np.isfinite(run.value))


def _agreed(run: _Run, runs: Sequence[_Run]) -> bool:
    """Whether another run ended within RIDGE_AGREEMENT of this one's objective."""
    tolerance = RIDGE_AGREEMENT * max(1.0, abs(run.value))
    return any(other is not run and abs(other.value - run.value) <= tolerance for other in runs)


def _run_from(
    objective: Callable[[np.ndarray], float],
    theta0: np.ndarray,
    both: Callable[[np.ndarray], tuple[float, np.ndarray]] | None,
    axes: np.ndarray | None = None,
    earlier_end: float | None = None,
) -> _Run:
    """One L-BFGS-B run from theta0: on ``both`` (objective and slope in one evaluation)
    when given, else on the objective with finite differences.

    ``earlier_end``, the objective where an earlier start ended: the run stops at the first
    iteration within ``RIDGE_AGREEMENT`` short of it that gained less than that, having found
    the same maximum (or ridge); the many short steps of a ridge's last stretch are not
    needed twice. A run that passes the earlier end goes on to its own.

    ``axes`` (a square matrix A) makes the optimiser work on phi = A theta, each phi within
    the log bounds: with rows such as log r - log alpha (the log of the mean rate r/alpha),
    a limit such as r, alpha -> infinity at a fixed mean rate is a bound of one coordinate,
    which L-BFGS-B reaches in a few steps, instead of a ridge. (A parameter such as alpha
    may then end beyond its own bound, at r / (the mean rate).)
    """
    axes = np.eye(len(theta0)) if axes is None else axes
    inverse = np.linalg.inv(axes)
    bounds = [LOG_BOUNDS] * len(theta0)

    def on_axes(phi: np.ndarray) -> float:
        return objective(inverse @ phi)

    def both_on_axes(phi: np.ndarray) -> tuple[float, np.ndarray]:
        assert both is not None
        value, slope = both(inverse @ phi)
        return value, inverse.T @ slope

    previous = [math.inf]  # the objective at the iteration before
    settled = [False]

    def stop_when_settled(intermediate_result: OptimizeResult) -> None:
        value = float(intermediate_result.fun)
        gain, previous[0] = previous[0] - value, value
        if earlier_end is None:
            return
        tolerance = RIDGE_AGREEMENT * max(1.0, abs(earlier_end))
        if 0.0 <= value - earlier_end <= tolerance and gain <= tolerance:
            settled[0] = True
            raise StopIteration

    with np.errstate(all="ignore"):  # finite differences next to an infinite objective
        run = minimize(
            on_axes if both is None else both_on_axes,
            np.clip(axes @ theta0, *LOG_BOUNDS),
            jac=both is not None,
            method="L-BFGS-B",
            bounds=bounds,
            callback=stop_when_settled,
            options={
                "maxfun": EVALUATION_BUDGET,  # finite differences count too
                "maxiter": EVALUATION_BUDGET,
                "maxls": LINE_SEARCH_STEPS,
                "ftol": 1e-10,
                "gtol": 1e-9,
            },
        )
    value = float(run.fun)
    projected = _projected_gradient(run, bounds)
    converged = np.isfinite(value) and (
        bool(run.success) or settled[0] or projected < GRADIENT_TOLERANCE
    )
    return _Run(
        theta=inverse @ run.x, value=value, converged=converged, iterations=int(run.get("nit", 0))
    )


def _projected_gradient(run: OptimizeResult, bounds: Sequence[tuple[float, float]]) -> float:
    """The largest gradient component not pushing against a bound (inf when unknown)."""
    if "jac" not in run or not np.all(np.isfinite(run.jac)):
        return math.inf
    lower, upper = np.array(bounds).T
    pushing = ((run.x <= lower) & (run.jac > 0)) | ((run.x >= upper) & (run.jac < 0))
    return float(np.max(np.abs(np.where(pushing, 0.0, run.jac)), initial=0.0))


def _warnings(
    names: Sequence[str],
    params: np.ndarray,
    standard_errors: np.ndarray,
    at_bound: np.ndarray,
    model_name: str,
) -> tuple[str, ...]:
    found = [
        f"The {model_name} parameter {name} ended at the edge of its range ({value:.3g}); "
        "the data may show no drop-out or too little variation to estimate it, so the fit "
        "is the best estimate at that edge."
        for name, value, edge in zip(names, params, at_bound, strict=True)
        if edge
    ]
    if np.isnan(standard_errors).any():
        found.append(
            f"The {model_name} likelihood is flat in some direction at the estimate, so "
            "standard errors are not available."
        )
    weak = [
        name
        for name, value, se in zip(names, params, standard_errors, strict=True)
        if se > _WEAK_SE_RATIO * value
    ]
    if weak:
        found.append(
            f"The {model_name} parameter(s) {', '.join(weak)} are poorly determined by the "
            f"data (standard error above {_WEAK_SE_RATIO:g} times the estimate)."
        )
    return tuple(found)


@dataclass
class FittedModel:
    """Base of the models: ``params``, ``standard_errors``, ``log_likelihood``, ``convergence``.

    ``fit(...)`` fills them and returns the model; ``from_params(...)`` builds a model from
    known parameters (published estimates, simulation truths) for predictions, and a fit
    of such a model starts from them (then from the model's usual starts).
    """

    model_name: ClassVar[str]
    parameter_names: ClassVar[tuple[str, ...]]

    params: dict[str, float] = field(default_factory=dict)
    standard_errors: dict[str, float] = field(default_factory=dict)
    log_likelihood: float = math.nan
    convergence: Convergence | None = None
    #: Covariance of the log-parameters, ``parameter_names`` order (None: not fitted).
    log_covariance: np.ndarray | None = field(default=None, compare=False)

    @classmethod
    def from_params(cls, **params: float) -> Any:
        """A model with the given parameters, for predictions without fitting."""
        if set(params) != set(cls.parameter_names) or any(
            not (math.isfinite(value) and value > 0) for value in params.values()
        ):
            raise NotFittedError(
                f"The {cls.model_name} model needs positive numbers for exactly "
                f"{', '.join(cls.parameter_names)}; got {params}."
            )
        return cls(params={name: float(params[name]) for name in cls.parameter_names})

    def _store(self, fit: MleFit) -> None:
        self.params = fit.params
        self.standard_errors = fit.standard_errors
        self.log_likelihood = fit.log_likelihood
        self.convergence = fit.convergence
        self.log_covariance = fit.log_covariance

    def _values(self) -> tuple[float, ...]:
        """The parameters in ``parameter_names`` order; raises when the model is not fitted."""
        if not self.params:
            raise NotFittedError(
                f"The {self.model_name} model has no parameters yet: fit it to data first."
            )
        return tuple(self.params[name] for name in self.parameter_names)


RowLogLikelihood = Callable[[tuple[float, ...], dict[str, Any]], np.ndarray]
#: The weighted sum of the rows' log-likelihoods and of their gradients, in one evaluation.
WeightedTerms = Callable[[tuple[float, ...], dict[str, Any], np.ndarray], tuple[float, np.ndarray]]


def closed_form(
    params: dict[str, float],
    standard_errors: dict[str, float],
    log_likelihood: float,
    log_covariance: np.ndarray,
) -> MleFit:
    """The record of an estimate computed by a formula, not by the optimiser."""
    convergence = Convergence(
        converged=True,
        iterations=0,
        message="closed form",
        at_boundary=False,
        warnings=(),
        starts_tried=0,
    )
    return MleFit(params, standard_errors, log_likelihood, convergence, log_covariance)


def ratio_axes(pairs: int) -> np.ndarray:
    """Axes for parameters in pairs (p1, p2, ...): log p1 and log p1/p2 per pair.

    For (r, alpha) the second is the log of the mean buying rate, for Pareto/NBD's (s, beta)
    of the mean drop-out rate, for BG/NBD's (a, b) of the odds of dropping out: the limits
    where a pair grows at a fixed ratio (one rate for all) become bounds of one axis.
    """
    return np.kron(np.eye(pairs), np.array([[1.0, 0.0], [1.0, -1.0]]))


def fit_histories(
    model: FittedModel,
    row_log_likelihood: RowLogLikelihood,
    weighted_terms: WeightedTerms,
    rows: Compressed,
    starts: Sequence[Sequence[float]],
) -> None:
    """Fit ``model`` by :func:`fit_rows` to compressed histories (frequency, T and maybe
    recency), each column as :class:`Levels`, times scaled to a mean T of 1 and alpha back;
    ``weighted_terms`` the weighted log-likelihood and its exact gradient (:func:`together`
    makes them from per-row functions); the parameters in pairs (:func:`ratio_axes`); from
    the model's parameters first when it has some (:func:`fit_rows`'s ``warm``)."""
    fit = fit_rows(
        row_log_likelihood,
        {name: Levels.of(column) for name, column in rows.values.items()},
        rows.weights,
        model.parameter_names,
        starts,
        model.model_name,
        scale=mean_scale(rows.values["T"], rows.weights),
        scaled_columns=tuple(name for name in ("recency", "T") if name in rows.values),
        scaled_params=("alpha",),
        weighted_terms=weighted_terms,
        axes=ratio_axes(len(model.parameter_names) // 2),
        warm=model.params,
    )
    model._store(fit)


def together(row_log_likelihood: RowLogLikelihood, row_gradient: RowLogLikelihood) -> WeightedTerms:
    """The weighted terms of separate per-row log-likelihood and gradient functions.

    Sums are elementwise, not ``@``: a threaded BLAS call per evaluation costs far more than
    it saves on a busy machine. The gradient's einsum adds the same products in the same
    order as np.sum(weights[:, None] * gradient, axis=0), several times faster.
    """

    def terms(
        params: tuple[float, ...], data: dict[str, Any], weights: np.ndarray
    ) -> tuple[float, np.ndarray]:
        total = float(np.sum(weights * row_log_likelihood(params, data)))
        return total, np.einsum("i,ij->j", weights, row_gradient(params, data))

    return terms


def fit_rows(
    row_log_likelihood: RowLogLikelihood,
    data: dict[str, Any],
    weights: np.ndarray,
    names: Sequence[str],
    starts: Sequence[Sequence[float]],
    model_name: str,
    scale: float = 1.0,
    scaled_columns: Sequence[str] = (),
    scaled_params: Sequence[str] = (),
    weighted_terms: WeightedTerms | None = None,
    axes: np.ndarray | None = None,
    warm: dict[str, float] | None = None,
    limit: dict[str, float] | None = None,
) -> MleFit:
    """Maximise ``sum(weights * row_log_likelihood(params, data))`` on rescaled data.

    ``scaled_columns`` are divided by ``scale`` (time to a mean age of 1, money to a mean
    spend of 1) so that the starts and bounds suit any unit; ``scaled_params`` (the scale
    parameters such as alpha) are multiplied back afterwards, and the log-likelihood is
    evaluated again on the original data, so it is the one of the data as given.
    ``weighted_terms(params, data, weights)``, when given, is the weighted log-likelihood
    and its exact gradient in one evaluation (:func:`together` makes it from per-row
    functions). ``warm``: parameters (of similar data) to start from first. ``limit``:
    parameters at the model's best point at a limit (:func:`maximise`'s).
    """
    scaled = {k: v / scale if k in scaled_columns else v for k, v in data.items()}

    def on_scale(params: dict[str, float]) -> list[float]:
        return [params[name] / (scale if name in scaled_params else 1.0) for name in names]

    if warm:
        starts = [on_scale(warm), *starts]

    def log_likelihood(params: np.ndarray) -> float:
        return float(np.sum(weights * row_log_likelihood(tuple(params), scaled)))

    def with_gradient(params: np.ndarray) -> tuple[float, np.ndarray]:
        assert weighted_terms is not None
        return weighted_terms(tuple(params), scaled, weights)

    fit = maximise(
        log_likelihood,
        names,
        starts,
        float(weights.sum()),
        model_name,
        with_gradient=None if weighted_terms is None else with_gradient,
        axes=axes,
        warm=bool(warm),
        limit=None if limit is None else on_scale(limit),
    )
    factor = {name: scale if name in scaled_params else 1.0 for name in names}
    params = {name: value * factor[name] for name, value in fit.params.items()}
    with np.errstate(all="ignore"):
        total = float(np.sum(weights * row_log_likelihood(tuple(params.values()), data)))
    return MleFit(
        params=params,
        standard_errors={name: se * factor[name] for name, se in fit.standard_errors.items()},
        log_likelihood=total,
        convergence=fit.convergence,
        log_covariance=fit.log_covariance,  # log(scale x param) = log param + a constant
    )
