"""Predicted customer lifetime value from a purchase model and a spend model.

CLV_i = sum over periods k = 1..H of E[purchases of i in period k] x E(spend of i) / (1 + d)^(k-1),

with H the horizon in periods of ``horizon_unit`` and d the discount rate per such period,
each period's value discounted at its start: the first period now, the report's one
convention (as its CLV formula counts a new customer's first month). Fader, Hardie & Lee
2005 ("RFM and CLV", discrete form) and the ``lifetimes`` package discount at its end: one
period's discount less here. The data's time unit and the
horizon's are explicit; a month is 365.25/12 days.

:func:`forecast_purchases` evaluates the purchase model in one call for every period up
to the longest horizon, the shorter horizons being read off the same running sum, and once
per distinct (x, T): in both buy-till-you-die models the future of a customer still
alive depends on x and T only, so
E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) E[Y(t) | alive, x, T]
(FHL 2005, eq. 10; Schmittlein, Morrison & Colombo 1987 for the Pareto/NBD).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from clv_xl.models._data import compress, read_history
from clv_xl.models._errors import ModelDataError
from clv_xl.models.gamma_gamma import GammaGamma
from clv_xl.models.units import days_per


class PurchaseModel(Protocol):
    """A fitted BetaGeo, ParetoNBD or one of their no-drop-out limits (NBD, Poisson)."""

    model_name: str
    parameter_names: tuple[str, ...]
    params: dict[str, float]
    log_covariance: np.ndarray | None

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray: ...

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray: ...  # noqa: N803

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray: ...  # noqa: N803

    def expected_purchases_if_alive(self, t: Any, frequency: Any, T: Any) -> np.ndarray: ...  # noqa: N803


def predicted_clv(
    purchases: PurchaseModel,
    spend: GammaGamma,
    frequency: Any,
    recency: Any,
    T: Any,  # noqa: N803
    monetary_value: Any,
    *,
    horizon: int,
    discount_rate: float,
    time_unit: str,
    horizon_unit: str,
) -> np.ndarray:
    """Discounted expected revenue per customer over ``horizon`` periods of ``horizon_unit``.

    ``frequency``, ``recency`` and ``T`` are in ``time_unit`` (the unit the purchase model
    was fitted in); ``discount_rate`` is per ``horizon_unit`` period (1% a month = 0.01).
    Multiply by a margin for profit. For several horizons, use one
    :func:`forecast_purchases` and its ``discounted``.
    """
    _check_discount_rate(discount_rate)  # before the costly forecast
    spend_per_purchase = spend.expected_spend(frequency, monetary_value)
    forecast = forecast_purchases(
        purchases,
        frequency,
        recency,
        T,
        periods=horizon,
        time_unit=time_unit,
        period_unit=horizon_unit,
    )
    (purchased,) = forecast.discounted((horizon,), discount_rate)
    return purchased * spend_per_purchase


@dataclass(frozen=True)
class PurchaseForecast:
    """Each customer's expected purchases by the end of each period k = 0..K.

    E[Y(k periods) | x, t_x, T] = ``probability_alive`` x ``if_alive[k, pair]``, with
    ``if_alive`` = E[Y(k periods) | alive, x, T] once per distinct (x, T) and ``pair`` each
    customer's column in it (see the module docstring).
    """

    probability_alive: np.ndarray
    if_alive: np.ndarray
    pair: np.ndarray

    def expected_purchases(self, periods: int) -> np.ndarray:
        """E[Y(periods) | x, t_x, T] per customer."""
        self._check_covered((periods,))
        return self.if_alive[periods][self.pair] * self.probability_alive

    def discounted(self, horizons: Sequence[int], discount_rate: float) -> np.ndarray:
        """sum over k = 1..H of E[purchases in period k] / (1 + d)^(k-1) for each horizon H
        (the first period now).

        One row per horizon, one column per customer.
        """
        self._check_covered(horizons)
        _check_discount_rate(discount_rate)
        k = np.arange(1, len(self.if_alive))[:, None]
        by_period = np.diff(self.if_alive, axis=0) / (1 + discount_rate) ** (k - 1)
        running_sums = np.concatenate(
            [np.zeros_like(self.if_alive[:1]), np.cumsum(by_period, axis=0)]
        )
        return running_sums[list(horizons)][:, self.pair] * self.probability_alive

    def _check_covered(self, horizons: Sequence[int]) -> None:
        _check_horizons(horizons)
        longest = len(self.if_alive) - 1
        beyond = [horizon for horizon in horizons if horizon > longest]
        if beyond:
            raise ModelDataError(
                f"The purchase forecast covers {longest} periods; {beyond[0]} periods is beyond it."
            )


def forecast_purchases(
    purchases: PurchaseModel,
    frequency: Any,
    recency: Any,
    T: Any,  # noqa: N803
    *,
    periods: int,
    time_unit: str,
    period_unit: str,
) -> PurchaseForecast:
    """Expected purchases by the end of periods 0..``periods`` of ``period_unit``.

    ``frequency``, ``recency`` and ``T`` are in ``time_unit``. The model's E[Y(t) | alive,
    x, T] is evaluated in one call for every period and distinct (x, T).
    """
    _check_horizons((periods,))
    period = days_per(period_unit) / days_per(time_unit)
    columns = read_history(purchases.model_name, frequency, recency, T).values
    pairs = compress({"frequency": columns["frequency"], "T": columns["T"]})
    x, age = pairs.values["frequency"], pairs.values["T"]
    if_alive = np.zeros((periods + 1, len(x)))
    horizons = period * np.arange(1, periods + 1, dtype=float)[:, None]
    if_alive[1:] = purchases.expected_purchases_if_alive(horizons, x, age)
    return PurchaseForecast(
        probability_alive=purchases.probability_alive(
            columns["frequency"], columns["recency"], columns["T"]
        ),
        if_alive=if_alive,
        pair=pairs.inverse,
    )


def _check_horizons(horizons: Sequence[int]) -> None:
    for horizon in horizons:
        if not (isinstance(horizon, int | np.integer) and horizon >= 0):
            raise ModelDataError(
                f"The horizon must be a whole number of periods, 0 or more; got {horizon}."
            )


def _check_discount_rate(discount_rate: float) -> None:
    if not (math.isfinite(discount_rate) and discount_rate > -1):
        raise ModelDataError(
            f"The discount rate must be above -1 (1% = 0.01); got {discount_rate}."
        )
