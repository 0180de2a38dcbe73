"""Predicted customer lifetime value from a purchase model and a spend model.

CLV_i = sum over periods k = 1..H of E[purchases of i in period k] x E(spend of i) / (1 + d)^k,

with H the horizon in periods of ``horizon_unit`` and d the discount rate per such period,
each period's value discounted at its end (Fader, Hardie & Lee 2005, "RFM and CLV",
discrete form; the same sum as the ``lifetimes`` package). The data's time unit and the
horizon's are explicit; a month is 365.25/12 days.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from ._data import compress, read_history
from ._errors import ModelDataError
from .gamma_gamma import GammaGamma
from .units import days_per


class PurchaseModel(Protocol):
    """A fitted BetaGeo or ParetoNBD."""

    model_name: str

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray: ...  # noqa: N803


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
    Multiply by a margin for profit.
    """
    if not (isinstance(horizon, int | np.integer) and horizon >= 0):
        raise ModelDataError(
            f"The horizon must be a whole number of periods, 0 or more; got {horizon}."
        )
    if not (math.isfinite(discount_rate) and discount_rate > -1):
        raise ModelDataError(
            f"The discount rate must be above -1 (1% = 0.01); got {discount_rate}."
        )
    period = days_per(horizon_unit) / days_per(time_unit)
    columns = read_history(purchases.model_name, frequency, recency, T).values
    spend_per_purchase = spend.expected_spend(columns["frequency"], monetary_value)
    # Customers with the same history share their expected purchases: compute them once.
    rows = compress(columns)
    history = (rows.values["frequency"], rows.values["recency"], rows.values["T"])
    discounted_purchases = np.zeros(len(rows.weights))
    previous = np.zeros(len(rows.weights))
    for k in range(1, horizon + 1):
        cumulative = purchases.expected_purchases(k * period, *history)
        discounted_purchases += (cumulative - previous) / (1 + discount_rate) ** k
        previous = cumulative
    return discounted_purchases[rows.inverse] * spend_per_purchase
