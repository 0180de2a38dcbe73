"""The shifted-beta-geometric (sBG) model of contract renewal (Fader & Hardie 2007, "How to
Project Customer Retention", Journal of Interactive Marketing 21(1), 76-90; discounted
expected residual lifetime from Fader & Hardie 2010, "Customer-Base Valuation in a
Contractual Setting: The Perils of Ignoring Heterogeneity", Marketing Science 29(1), 85-93).

At the end of each period a customer cancels with probability theta ~ Beta(alpha, beta)
across customers. Input: ``survivors[t]``, the customers still active at the start of
period t (t = 0..n), so ``survivors[0]`` is the cohort size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaln, hyp2f1

from clv_xl.models._data import read_columns
from clv_xl.models._errors import ModelDataError
from clv_xl.models._mle import FittedModel, fit_rows

_STARTS = ((1.0, 1.0), (0.5, 3.0), (3.0, 0.5))


def row_log_likelihood(params: tuple[float, ...], data: dict[str, np.ndarray]) -> np.ndarray:
    """Log-likelihood terms of FH (2007) eq. B3, one per period plus one for the survivors.

    Rows with ``lost`` = 1 are churn in period t: log P(T = t) = log B(alpha+1, beta+t-1) -
    log B(alpha, beta); the row with ``lost`` = 0 is the survivors after the last period:
    log S(t) = log B(alpha, beta+t) - log B(alpha, beta). The counts are the weights.
    """
    alpha, beta = params
    t, lost = data["period"], data["lost"]
    return np.where(
        lost > 0,
        betaln(alpha + 1, beta + t - 1),
        betaln(alpha, beta + t),
    ) - betaln(alpha, beta)


class ShiftedBetaGeo(FittedModel):
    """sBG fitted by maximum likelihood: ``ShiftedBetaGeo().fit(survivors)``."""

    model_name = "sBG"
    parameter_names = ("alpha", "beta")

    def fit(self, survivors: Any) -> ShiftedBetaGeo:
        """Maximum-likelihood estimates from a survival table (cohort size first)."""
        active = _read_survivors(survivors)
        periods = len(active) - 1
        churned = -np.diff(active)
        data = {
            "period": np.append(np.arange(1, periods + 1), periods).astype(float),
            "lost": np.append(np.ones(periods), 0.0),
        }
        counts = np.append(churned, active[-1])
        used = counts > 0
        self._store(
            fit_rows(
                row_log_likelihood,
                {name: column[used] for name, column in data.items()},
                counts[used],
                self.parameter_names,
                _STARTS,
                self.model_name,
            )
        )
        return self

    def retention_rate(self, t: Any) -> np.ndarray:
        """r_t = (beta + t - 1)/(alpha + beta + t - 1): share of period t-1's customers renewing
        at the end of period t-1 (FH 2007 eq. 4), t = 1, 2, ..."""
        alpha, beta = self._values()
        period = _periods(t, "t", low=1)
        return (beta + period - 1) / (alpha + beta + period - 1)

    def survival(self, t: Any) -> np.ndarray:
        """S(t) = B(alpha, beta + t) / B(alpha, beta): share still active at the start of
        period t (FH 2007 eq. 3), t = 0, 1, ..."""
        alpha, beta = self._values()
        period = _periods(t, "t", low=0)
        return np.exp(betaln(alpha, beta + period) - betaln(alpha, beta))

    def discounted_expected_residual_lifetime(
        self, renewals: Any, discount_rate: float
    ) -> np.ndarray:
        """DERL: expected discounted number of future payments of a customer who has renewed
        ``renewals`` = n-1 times, standing just before her next renewal decision (FH 2010 eq. 6):

        DERL = sum over t >= n of S(t)/S(n-1) / (1+d)^(t-n)
             = (beta+n-1)/(alpha+beta+n-1) 2F1(1, beta+n; alpha+beta+n; 1/(1+d)),
        so the payment at the coming renewal is not discounted. Multiply by the margin per
        period for the customer's residual value.
        """
        alpha, beta = self._values()
        n = _periods(renewals, "renewals", low=0) + 1
        if not (np.isfinite(discount_rate) and discount_rate > 0):
            raise ModelDataError(
                f"The discount rate must be above 0 (10% = 0.1); got {discount_rate}."
            )
        renew = (beta + n - 1) / (alpha + beta + n - 1)
        return renew * hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + discount_rate))


def _read_survivors(survivors: Any) -> np.ndarray:
    columns = read_columns("sBG", survivors=survivors)
    active = columns.values["survivors"]
    if len(active) < 2:
        raise ModelDataError(
            "The sBG model needs the cohort size and at least one later count of survivors."
        )
    columns.reject_first(
        np.append(False, active[1:] > active[:-1]),
        lambda i: (
            f"survivors {active[i]:g} is more than the {active[i - 1]:g} of the period before."
        ),
    )
    if active[0] == 0:
        raise ModelDataError("The sBG survival table starts with 0 customers; it needs a cohort.")
    return active


def _periods(values: Any, name: str, low: int) -> np.ndarray:
    period = np.asarray(values, dtype=float)
    if not np.all((period == np.round(period)) & (period >= low)):
        raise ModelDataError(f"{name} must be whole numbers of periods from {low}; got {values}.")
    return period
