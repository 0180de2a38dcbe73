"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "Counting Your Customers
the Easy Way", Marketing Science 24(2), 275-284).

While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after each purchase
she drops out with probability p ~ Beta(a, b). Inputs per customer: ``frequency`` x (repeat
purchases), ``recency`` t_x (time of the last purchase since the first) and ``T`` (time
since the first purchase), all times in one unit of your choice.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from scipy.special import expit, hyp2f1, roots_jacobi

from clv_xl.models._data import Levels, compress, read_history
from clv_xl.models._mle import Convergence, FittedModel, fit_histories
from clv_xl.models._rising import log_rising, log_scaled_power, rising_slope
from clv_xl.models._two_terms import log_sum_and_share

_STARTS = ((1.0, 1.0, 1.0, 1.0), (0.3, 0.3, 0.8, 2.5), (3.0, 3.0, 0.3, 0.3))


def row_log_likelihood(params: tuple[float, ...], data: dict[str, Levels]) -> np.ndarray:
    """Log of FHL (2005) eq. 6 per customer.

    L = B(a, b+x)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x)).
    The special functions are evaluated once per distinct x, t_x and T.
    """
    r, alpha, a, b = params
    x, t_x, age = data["frequency"], data["recency"], data["T"]
    common = x.map(lambda v: _common(r, a, b, v))
    alive = log_scaled_power(r, alpha, x.full, age)
    with np.errstate(divide="ignore"):
        dropped = np.where(
            x.full > 0,
            x.map(lambda v: np.log(a) - np.log(b + np.maximum(v, 1) - 1))
            + log_scaled_power(r, alpha, x.full, t_x),
            -np.inf,
        )
    return common + np.logaddexp(alive, dropped)


def _common(r: float, a: float, b: float, v: np.ndarray) -> np.ndarray:
    """log[G(r+x)/G(r) B(a, b+x)/B(a, b)] per distinct x, as rising factorials: exact at
    the limits where r or a and b grow without bound (`_rising`)."""
    return log_rising(r, v) + log_rising(b, v) - log_rising(a + b, v)


def weighted_terms(
    params: tuple[float, ...], data: dict[str, Levels], weights: np.ndarray
) -> tuple[float, np.ndarray]:
    """sum(weights * log L) of :func:`row_log_likelihood` and its derivatives by r, alpha, a
    and b, in one evaluation.

    With ll = C(x) + r log(alpha) + log(e^A + e^D) (A: alive at T, D: dropped after t_x) and
    the shares w_A, w_D of e^A, e^D in their sum:
    d/dr = psi(r+x) - psi(r) + log(alpha) - w_A log(alpha+T) - w_D log(alpha+t_x),
    d/dalpha = r/alpha - (r+x) (w_A/(alpha+T) + w_D/(alpha+t_x)),
    d/da = psi(a+b) - psi(a+b+x) + w_D/a,
    d/db = psi(b+x) - psi(b) + psi(a+b) - psi(a+b+x) - w_D/(b+x-1).
    The terms of x alone are summed per distinct x (bincount).
    """
    r, alpha, a, b = params
    x, t_x, age = data["frequency"], data["recency"], data["T"]
    v = x.values
    by_x = np.bincount(x.codes, weights, len(v))
    total_weight = float(weights.sum())
    power = r + x.full
    log_age, log_last = np.log(alpha + age.values), np.log(alpha + t_x.values)
    alive = log_scaled_power(r, alpha, x.full, age)
    with np.errstate(divide="ignore"):
        odds_dropped = np.where(v > 0, np.log(a) - np.log(b + np.maximum(v, 1) - 1), -np.inf)
    dropped = odds_dropped[x.codes] + log_scaled_power(r, alpha, x.full, t_x)
    log_sum, share_dropped = log_sum_and_share(alive, dropped)
    total = by_x @ _common(r, a, b, v) + float(np.sum(weights * log_sum))
    on_dropped = weights * share_dropped
    on_alive = weights - on_dropped
    dropped_by_x = np.bincount(x.codes, on_dropped, len(v))
    alive_by_age = np.bincount(age.codes, on_alive * power, len(age.values))
    dropped_by_last = np.bincount(t_x.codes, on_dropped * power, len(t_x.values))
    ab_shift = -rising_slope(a + b, v)  # psi(a+b) - psi(a+b+x)
    gradient = np.array(
        [
            by_x @ rising_slope(r, v)
            + total_weight * np.log(alpha)
            - np.bincount(age.codes, on_alive, len(age.values)) @ log_age
            - np.bincount(t_x.codes, on_dropped, len(t_x.values)) @ log_last,
            total_weight * r / alpha
            - alive_by_age @ (1 / (alpha + age.values))
            - dropped_by_last @ (1 / (alpha + t_x.values)),
            by_x @ ab_shift + dropped_by_x.sum() / a,
            by_x @ (ab_shift + rising_slope(b, v))
            - dropped_by_x @ (1 / (b + np.maximum(v, 1) - 1)),
        ]
    )
    return float(total), gradient


class BetaGeo(FittedModel):
    """BG/NBD fitted by maximum likelihood: ``BetaGeo().fit(frequency, recency, T)``.

    ``params`` holds r, alpha (in the time unit of the data), a and b.
    """

    model_name = "BG/NBD"
    parameter_names = ("r", "alpha", "a", "b")

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> BetaGeo:  # noqa: N803
        """Maximum-likelihood estimates; ``weights`` counts customers with identical rows."""
        columns = read_history(self.model_name, frequency, recency, T, weights)
        rows = compress(columns.values, columns.weights)
        fit_histories(self, row_log_likelihood, weighted_terms, rows, _STARTS)
        if not (rows.values["frequency"] > 0).any():
            self.convergence = _without_repeat_purchases(self.convergence)
        return self

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """P(alive | x, t_x, T) = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).

        Fader, Hardie & Lee (2008), "Computing P(alive) using the BG/NBD model", note 021.
        """
        r, alpha, a, b = self._values()
        columns = read_history(self.model_name, frequency, recency, T).values
        x, t_x, age = columns["frequency"], columns["recency"], columns["T"]
        log_odds_dead = np.log(a / (b + np.maximum(x, 1) - 1)) + (r + x) * (
            np.log(alpha + age) - np.log(alpha + t_x)
        )
        return np.where(x > 0, expit(-log_odds_dead), 1.0)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` time units (FHL eq. 10).

        = (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]
          / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)),  z = t/(alpha+T+t).
        """
        columns = read_history(self.model_name, frequency, recency, T).values
        x, age = columns["frequency"], columns["T"]
        horizon = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
        # The hypergeometric part depends on (t, x, T) only: compute it once per distinct triple.
        triples = compress({"t": horizon, "x": x, "T": age})
        u_t, u_x, u_age = (triples.values[k] for k in ("t", "x", "T"))
        if_alive = self.expected_purchases_if_alive(u_t, u_x, u_age)[triples.inverse]
        return if_alive * self.probability_alive(x, columns["recency"], age)

    def expected_purchases_if_alive(self, t: Any, frequency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """E[Y(t) | alive, x, T] (:func:`_expected_if_alive`), broadcast over t, x and T: several
        horizons at once as a column of t."""
        r, alpha, a, b = self._values()
        return _expected_if_alive(r, alpha, a, b, t, frequency, T)

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray:
        """E[X(t)] for a customer just acquired (FHL eq. 9).

        = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))].
        """
        r, alpha, a, b = self._values()
        horizon = np.asarray(t, dtype=float)
        return _expected_if_alive(r, alpha, a, b, horizon, np.zeros(horizon.shape), 0.0)


def _without_repeat_purchases(convergence: Convergence | None) -> Convergence:
    """The record of a fit to customers who never bought again, marked as at the edge.

    With x = 0 for everyone the likelihood is prod (alpha/(alpha+T))^r: it rises towards 1
    as r falls to 0 or alpha grows without end, so the optimiser stops somewhere along
    that edge (alpha ~ 1e6) without a maximum inside the range, and a, b do not enter it.
    """
    assert convergence is not None
    warning = (
        "No customer bought again, so the BG/NBD likelihood has no maximum: it keeps rising "
        "as r falls to 0 or alpha grows and does not depend on a and b, so the estimates are "
        "where the optimiser stopped on the way to the edge of the parameters' range."
    )
    return replace(convergence, at_boundary=True, warnings=(warning, *convergence.warnings))


#: Gauss-Jacobi nodes for E[Y(t) | alive] where the hypergeometric form cannot be computed.
_QUADRATURE_NODES = 48


def _expected_if_alive(
    r: float, alpha: float, a: float, b: float, t: Any, x: Any, age: Any
) -> np.ndarray:
    """E[Y(t) | alive, x, T] = (a+b+x-1)/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)].

    Where that is not finite (2F1 overflows or a = 1, as near the Poisson limit r, alpha ->
    infinity), the same expectation is integrated over the posterior p ~ Beta(a, b+x):
    E_p[(1 - (1 + p t/(alpha+T))^-(r+x)) / p] (FHL 2005: E[Y(t) | lambda, p, alive] =
    (1 - exp(-lambda p t)) / p, and lambda ~ Gamma(r+x, alpha+T) given alive), whose
    integrand stays finite as p -> 0.
    """
    t, x = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(x, dtype=float))
    with np.errstate(all="ignore"):
        expected = (
            (a + b + x - 1) / (a - 1) * _one_minus_hypergeometric_term(r, alpha, a, b, t, x, age)
        )
    age = np.broadcast_to(np.asarray(age, dtype=float), t.shape)
    failed = ~np.isfinite(expected) | (expected < 0)
    if failed.any():
        expected = np.array(expected, dtype=float)
        expected[failed] = _integrated_if_alive(r, alpha, a, b, t[failed], x[failed], age[failed])
    return expected


def _integrated_if_alive(
    r: float, alpha: float, a: float, b: float, t: np.ndarray, x: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """E_p[(1 - (1 + p t/(alpha+T))^-(r+x)) / p], p ~ Beta(a, b+x), by Gauss-Jacobi per x."""
    result = np.empty(len(t))
    for value in np.unique(x):
        rows = x == value
        with np.errstate(all="ignore"):
            nodes, weights = roots_jacobi(_QUADRATURE_NODES, b + value - 1, a - 1)
            weights = weights / weights.sum()
        p = (1 + nodes) / 2  # weight (1-u)^(b+x-1) (1+u)^(a-1) on [-1, 1]
        if not (np.isfinite(weights).all() and np.isfinite(p).all()):
            # b + x so large that the rule overflows: p ~ Beta(a, b+x) sits at its mean.
            p, weights = np.array([a / (a + b + value)]), np.ones(1)
        ratio = t[rows, None] / (alpha + age[rows, None]) * p
        gain = -np.expm1(-(r + value) * np.log1p(ratio)) / p
        result[rows] = gain @ weights
    return result


def _one_minus_hypergeometric_term(
    r: float, alpha: float, a: float, b: float, t: Any, x: Any, age: Any
) -> np.ndarray:
    """1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) with z = t/(alpha+T+t).

    Where 2F1 overflows, Euler's transformation gives the same value as
    1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z).
    """
    z, x = np.broadcast_arrays(t / (alpha + age + t), x)
    c = a + b + x - 1
    with np.errstate(all="ignore"):
        term = (1 - z) ** (r + x) * hyp2f1(r + x, b + x, c, z)
        overflow = ~np.isfinite(term)
        if overflow.any():  # the transformed series only where it is needed
            z, x, c = z[overflow], x[overflow], c[overflow]
            term[overflow] = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, c, z)
    return 1 - term
