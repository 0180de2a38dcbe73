"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV:
Using Iso-Value Curves for Customer Base Analysis", JMR 42(4); Fader & Hardie 2013, "The
Gamma-Gamma Model of Monetary Value", note 025).

A transaction's value is Gamma(p, nu) around a customer's mean p/nu, with nu ~ Gamma(q,
gamma) across customers. Inputs per repeat customer: ``frequency`` x (repeat purchases)
and ``monetary_value`` m_x (mean value of those repeat purchases).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaln, digamma

from clv_xl.models._data import Columns, Levels, check_whole, compress, mean_scale, read_columns
from clv_xl.models._errors import NotFittedError
from clv_xl.models._mle import FittedModel, fit_rows

_STARTS = ((1.0, 1.0, 1.0), (5.0, 3.0, 10.0), (0.5, 5.0, 5.0))


def row_log_likelihood(params: tuple[float, ...], data: dict[str, Any]) -> np.ndarray:
    """Log of the density of m_x given x (note 025, eq. 3).

    f(m_x | p, q, gamma, x)
        = G(px+q)/(G(px) G(q)) gamma^q m_x^(px-1) x^(px) / (gamma + m_x x)^(px+q).
    ``frequency`` is a :class:`Levels`: the beta function is evaluated once per distinct x.
    """
    p, q, gamma = params
    x, m = data["frequency"], data["monetary_value"]
    return (
        -x.map(lambda v: betaln(p * v, q))
        + q * np.log(gamma)
        + (p * x.full - 1) * np.log(m)
        + p * x.map(lambda v: v * np.log(v))
        - (p * x.full + q) * np.log(gamma + m * x.full)
    )


def weighted_terms(
    params: tuple[float, ...], data: dict[str, Any], weights: np.ndarray
) -> tuple[float, np.ndarray]:
    """sum(weights * log f(m_x | x)) of :func:`row_log_likelihood` and its derivatives by p,
    q and gamma, in one evaluation.

    With s = log(gamma + m_x x) and d log B(u, q)/du = psi(u) - psi(u+q), per customer:
    d/dp = x (psi(px+q) - psi(px) + log m_x + log x - s),
    d/dq = psi(px+q) - psi(q) + log gamma - s,
    d/dgamma = q/gamma - (px+q)/(gamma + m_x x).
    The terms of x alone are summed per distinct x (bincount); per customer only s and
    1/(gamma + m_x x) are computed.
    """
    p, q, gamma = params
    x, m = data["frequency"], data["monetary_value"]
    by_x = np.bincount(x.codes, weights, len(x.values))
    total_weight = float(weights.sum())
    spent = gamma + m * x.full
    log_spent, log_m = np.log(spent), np.log(m)
    x_weights = weights * x.full
    sums = {
        "log m": float(np.sum(weights * log_m)),
        "x log m": float(np.sum(x_weights * log_m)),
        "s": float(np.sum(weights * log_spent)),
        "x s": float(np.sum(x_weights * log_spent)),
        "1/spent": float(np.sum(weights / spent)),
        "x/spent": float(np.sum(x_weights / spent)),
    }
    values, shape_shift = x.values, digamma(p * x.values + q)
    total = (
        by_x @ (p * values * np.log(values) - betaln(p * values, q))
        + total_weight * q * np.log(gamma)
        + p * sums["x log m"]
        - sums["log m"]
        - p * sums["x s"]
        - q * sums["s"]
    )
    gradient = np.array(
        [
            by_x @ (values * (shape_shift - digamma(p * values) + np.log(values)))
            + sums["x log m"]
            - sums["x s"],
            by_x @ shape_shift + total_weight * (np.log(gamma) - digamma(q)) - sums["s"],
            total_weight * q / gamma - p * sums["x/spent"] - q * sums["1/spent"],
        ]
    )
    return float(total), gradient


class GammaGamma(FittedModel):
    """Gamma-Gamma spend model: ``GammaGamma().fit(frequency, monetary_value)``.

    Only customers with at least one repeat purchase carry spend information; the others
    are left out of the fit and counted in ``customers_without_repeat_purchases``.
    ``params`` holds p, q and gamma (gamma in the currency of the data).
    """

    model_name = "Gamma-Gamma"
    parameter_names = ("p", "q", "gamma")
    customers_without_repeat_purchases: float = 0.0

    def fit(self, frequency: Any, monetary_value: Any, weights: Any = None) -> GammaGamma:
        """Maximum-likelihood estimates on the customers with frequency > 0."""
        columns = read_spend(self.model_name, frequency, monetary_value, weights)
        repeat = columns.values["frequency"] > 0
        if not repeat.any():
            raise NotFittedError(
                "The Gamma-Gamma model needs customers with at least one repeat purchase; "
                "there are none."
            )
        self.customers_without_repeat_purchases = float(columns.weights[~repeat].sum())
        buyers = columns.select(repeat)
        rows = compress(buyers.values, buyers.weights)
        self._store(
            fit_rows(
                row_log_likelihood,
                {**rows.values, "frequency": Levels.of(rows.values["frequency"])},
                rows.weights,
                self.parameter_names,
                _STARTS,
                self.model_name,
                scale=mean_scale(rows.values["monetary_value"], rows.weights),
                scaled_columns=("monetary_value",),
                scaled_params=("gamma",),
                weighted_terms=weighted_terms,
            )
        )
        return self

    def mean_spend(self) -> float:
        """Population mean spend per transaction: E(Z) = p gamma / (q - 1), for q > 1."""
        p, q, gamma = self._values()
        self._require_finite_mean(q)
        return p * gamma / (q - 1)

    def expected_spend(self, frequency: Any, monetary_value: Any) -> np.ndarray:
        """E(Z | x, m_x) = p (gamma + x m_x) / (p x + q - 1) (note 025, eq. 5).

        A weighted average of the population mean and the customer's own mean m_x; for
        x = 0 it is the population mean.
        """
        p, q, gamma = self._values()
        self._require_finite_mean(q)
        columns = read_spend(self.model_name, frequency, monetary_value).values
        x, m = columns["frequency"], columns["monetary_value"]
        return p * (gamma + x * m) / (p * x + q - 1)

    def _require_finite_mean(self, q: float) -> None:
        if q <= 1:
            raise NotFittedError(
                f"The Gamma-Gamma estimate q = {q:.3g} is at most 1, so the expected spend per "
                "transaction is infinite; the spend data has too heavy a tail for this model."
            )


def read_spend(
    model_name: str, frequency: Any, monetary_value: Any, weights: Any = None
) -> Columns:
    """Validated frequency (whole) and monetary_value (above 0 for repeat customers)."""
    columns = read_columns(model_name, weights, frequency=frequency, monetary_value=monetary_value)
    check_whole(columns, "frequency")
    x, m = columns.values["frequency"], columns.values["monetary_value"]
    columns.reject_first(
        (x > 0) & (m <= 0),
        lambda i: f"monetary_value {m[i]:g} is not above 0 for a customer with repeat purchases.",
    )
    return columns
