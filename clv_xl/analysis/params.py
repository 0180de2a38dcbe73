"""The analysis parameters: one small frozen dataclass, units in the field names."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from clv_xl.errors import InputError

DEFAULT_MARGIN = 0.30  # assumed gross margin when the orders carry no cost or margin


@dataclass(frozen=True)
class Params:
    """What the segment report needs besides the orders.

    ``margin`` is a gross-margin fraction; ``None`` means "from the cost column
    when the orders have one, else the assumed DEFAULT_MARGIN". The analysis
    date defaults to the last order date. ``cac``: (channel, acquisition cost per
    customer) pairs, "All customers" for the whole base (:mod:`clv_xl.orders.cac`).
    """

    as_of: dt.date | None = None
    churn_window_days: int = 365
    margin: float | None = None
    annual_discount_rate: float = 0.10
    min_segment_customers: int = 30
    currency: str = "EUR"
    cac: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if self.margin is not None and not -1.0 <= self.margin <= 1.0:
            raise InputError(
                f"The margin must be a fraction between -1 and 1 (30% = 0.3); got {self.margin}."
            )
        if not 0.0 <= self.annual_discount_rate < 1.0:
            raise InputError(
                "The annual discount rate must be a fraction from 0 to 1 (10% = 0.1); "
                f"got {self.annual_discount_rate}."
            )
        if not 1 <= self.churn_window_days <= 3660:
            raise InputError(
                f"The churn window must be 1 to 3660 days; got {self.churn_window_days}."
            )
        if self.min_segment_customers < 1:
            raise InputError(
                "The minimum segment size must be at least 1 customer; "
                f"got {self.min_segment_customers}."
            )
        for channel, cost in self.cac:
            if not (math.isfinite(cost) and cost >= 0):
                raise InputError(
                    f"The CAC of {channel!r} must be an amount of 0 or more; got {cost}."
                )
        if not self.currency.strip():
            raise InputError("The currency must not be blank (for example EUR).")
