"""The Pareto/NBD model of repeat buying (Schmittlein, Morrison & Colombo 1987, "Counting
Your Customers: Who Are They and What Will They Do Next?", Management Science 33(1), 1-24).

While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); her lifetime is
exponential with rate mu ~ Gamma(s, beta). The formulas follow Fader & Hardie (2005),
"A Note on Deriving the Pareto/NBD Model and Related Expressions" (note 009), with the
alpha >= beta / alpha < beta case split that keeps the Gauss hypergeometric function
convergent, and evaluated on the log scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln, hyp2f1

from clv_xl.models._data import compress, mean_scale, read_history
from clv_xl.models._mle import FittedModel, fit_rows

_STARTS = ((1.0, 1.0, 1.0, 1.0), (0.5, 0.5, 0.5, 2.0), (2.0, 2.0, 0.3, 0.3))


def _log_a0(r: float, alpha: float, s: float, beta: float, x: Any, t_x: Any, age: Any) -> Any:
    """log A_0 of note 009, eqs. 19-20.

    With k = r+s+x: for alpha >= beta, A_0 = F(alpha+t_x) - F(alpha+T), where
    F(q) = 2F1(k, s+1; k+1; (alpha-beta)/q) / q^k; for alpha < beta the roles of
    (alpha, s+1) and (beta, r+x) swap. A_0 = 0 (log -inf) when t_x = T.
    """
    k = r + s + x
    if alpha >= beta:
        larger, smaller, second = alpha, beta, s + 1
    else:
        larger, smaller, second = beta, alpha, r + x

    def log_f(q: Any) -> Any:
        return np.log(hyp2f1(k, second, k + 1, (larger - smaller) / q)) - k * np.log(q)

    at_last = log_f(larger + t_x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return at_last + np.log1p(-np.exp(log_f(larger + age) - at_last))


def row_log_likelihood(params: tuple[float, ...], data: dict[str, np.ndarray]) -> np.ndarray:
    """Log of note 009 eq. 18 per customer.

    L = G(r+x) alpha^r beta^s / G(r) * [1 / ((alpha+T)^(r+x) (beta+T)^s) + s/(r+s+x) A_0].
    """
    r, alpha, s, beta = params
    x, t_x, age = data["frequency"], data["recency"], data["T"]
    front = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    dropped = np.log(s) - np.log(r + s + x) + _log_a0(r, alpha, s, beta, x, t_x, age)
    return front + np.logaddexp(alive, dropped)


class ParetoNBD(FittedModel):
    """Pareto/NBD fitted by maximum likelihood: ``ParetoNBD().fit(frequency, recency, T)``.

    ``params`` holds r, alpha, s and beta (alpha and beta in the time unit of the data).
    """

    model_name = "Pareto/NBD"
    parameter_names = ("r", "alpha", "s", "beta")

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> ParetoNBD:  # noqa: N803
        """Maximum-likelihood estimates; ``weights`` counts customers with identical rows."""
        columns = read_history(self.model_name, frequency, recency, T, weights)
        rows = compress(columns.values, columns.weights)
        self._store(
            fit_rows(
                row_log_likelihood,
                rows.values,
                rows.weights,
                self.parameter_names,
                _STARTS,
                self.model_name,
                scale=mean_scale(rows.values["T"], rows.weights),
                scaled_columns=("recency", "T"),
                scaled_params=("alpha", "beta"),
            )
        )
        return self

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A_0) (note 009)."""
        r, alpha, s, beta = self._values()
        columns = read_history(self.model_name, frequency, recency, T).values
        x, t_x, age = columns["frequency"], columns["recency"], columns["T"]
        log_ratio = (
            np.log(s / (r + s + x))
            + (r + x) * np.log(alpha + age)
            + s * np.log(beta + age)
            + _log_a0(r, alpha, s, beta, x, t_x, age)
        )
        return 1.0 / (1.0 + np.exp(log_ratio))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """E[Y(t) | x, t_x, T] (note 009 eq. 41): expected purchases in the next ``t`` units.

        = P(alive) (r+x)/(alpha+T) (beta+T)/(s-1) [1 - ((beta+T)/(beta+T+t))^(s-1)].
        """
        r, alpha, s, beta = self._values()
        columns = read_history(self.model_name, frequency, recency, T).values
        x, age = columns["frequency"], columns["T"]
        alive = self.probability_alive(x, columns["recency"], age)
        return alive * (r + x) / (alpha + age) * _lifetime_exposure(s, beta + age, t)

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray:
        """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (note 009 eq. 27)."""
        r, alpha, s, beta = self._values()
        return r / alpha * _lifetime_exposure(s, beta, t)


def _lifetime_exposure(s: float, beta: Any, t: Any) -> np.ndarray:
    """Expected time alive within the next t: beta/(s-1) [1 - (1 + t/beta)^-(s-1)].

    Written with expm1/log1p so that it tends smoothly to beta log(1 + t/beta) at s = 1.
    """
    growth = np.log1p(np.asarray(t, dtype=float) / beta)
    if abs(s - 1) < 1e-12:
        return beta * growth
    return beta * -np.expm1(-(s - 1) * growth) / (s - 1)
