"""The CLV framework: one home for each definition the report, the command line and the
README quote.

* **CLV** (of a newly acquired customer): the expected lifetime gross margin from the first
  order on = lifetime revenue x margin, lifetime revenue and lifetime from
  :mod:`clv_xl.analysis.survival` (Kaplan-Meier on right-censored lifetimes). The whole base's is
  its
  channels' mix (each channel's curves, weighted by its customers) where the orders name a
  channel: customers who churn at different rates, pooled into one curve, would be
  extrapolated at the pooled late churn, which undervalues the long-lived ones.
  Equivalently revenue per active month x margin / monthly churn (seed 003), churn =
  1 / lifetime. Discounted: the same margins month by month, month k after the first order
  at (1 + i)^-k (the first month now), with retention 1 - churn: revenue per month x
  margin x (1 + i) / (i + churn).
  This is the figure to set against CAC. It exists for the whole base and for segments
  fixed at acquisition (the columns of the first order, the acquisition year); a segment
  defined by later behaviour (value tier, RFM group, profitability) has none: its
  customers were sorted into it by what they did after acquisition.
* **Margin to date**: the gross margin each customer has brought so far (historical).
* **Expected remaining margin** (formula): for each month-of-age cohort (customers whose
  first order was the same whole number of months ago), the cohort's expected revenue from
  now on, its size x the lifetime revenue after that age (of the customers' channel, else
  the base's), shared among its active customers in proportion to their revenue to date (a
  lost customer expects none), x margin.
  Summed over today's customers it is the *customer equity*.
* **Expected lifetime margin** per customer = margin to date + expected remaining margin
  (the CLV bridge). It cannot be below the margin to date. Over all customers ever acquired
  it estimates the same thing as the CLV (each cohort's to-date plus remaining is its
  lifetime), which is how the bridge reconciles the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clv_xl.analysis.survival import (
    DAYS_PER_MONTH,
    CustomerHistory,
    Lifetime,
    LifetimeFigures,
    detection_days,
    lifetime,
)
from clv_xl.functions.formulas import MONTHS_PER_YEAR

#: Dimensions whose segment is fixed at acquisition have a new-customer CLV.
BEHAVIOUR_NOTE = (
    "No new-customer CLV: customers fall in this group by what they did after acquisition. "
    "See the expected lifetime margin per customer."
)


@dataclass(frozen=True)
class Blend(LifetimeFigures):
    """The whole base as the mix of its channels: each figure the customer-weighted mean of
    the channels' (the tails stay each channel's own)."""

    parts: tuple[Lifetime, ...]
    weights: tuple[float, ...]
    reason: str = ""
    tail_note: str = "The channels' mix: each channel's lifetime, weighted by its customers."

    @property
    def estimated(self) -> bool:
        return True

    @property
    def lifetime_months(self) -> float:
        return float(
            sum(w * p.lifetime_months for p, w in zip(self.parts, self.weights, strict=True))
        )

    @property
    def lifetime_revenue(self) -> float:
        return float(
            sum(w * p.lifetime_revenue for p, w in zip(self.parts, self.weights, strict=True))
        )

    def _mean(self, figure: str) -> float:
        pairs = zip(self.parts, self.weights, strict=True)
        return float(sum(weight * getattr(part, figure) for part, weight in pairs))


@dataclass(frozen=True)
class Valuation:
    """The base's lifetime (``base``: the channels' blend where there are channels, else
    ``curve``), the pooled curves (``curve``: the tail any group without losses of its own
    falls back on), the loss-detection gap, each customer's remaining revenue (formula),
    indexed like the customers frame, and each channel's own curves (``by_channel``, by the
    channel's name; empty without channels)."""

    base: Lifetime | Blend
    curve: Lifetime
    detection_days: int
    history: CustomerHistory
    remaining_revenue: pd.Series
    by_channel: dict[str, Lifetime] = field(default_factory=dict)


def value_customers(
    lines: pd.DataFrame,
    customers: pd.DataFrame,
    as_of: pd.Timestamp,
    churn_window_days: int,
    channel: pd.Series | None = None,
) -> Valuation:
    """The base's lifetime and every customer's expected remaining revenue.

    ``lines``: customer (categories), date, amount; ``customers``: first_order,
    last_order, revenue and active, indexed by (some of) the customer categories;
    ``channel``: each customer's channel (aligned with ``customers``), if the orders name one.
    """
    # Per line, 32 bits (positions and day numbers fit): the lines' arrays are kept.
    position = customers.index.get_indexer(lines["customer"].cat.categories).astype(np.int32)
    line_customer = position[lines["customer"].cat.codes.to_numpy()]
    matched = line_customer >= 0
    known = slice(None) if matched.all() else matched  # (picking every line would copy them)
    line_customer = line_customer[known]
    line_date = lines["date"].to_numpy()[known].astype("datetime64[D]").astype(np.int32)
    first = customers["first_order"].to_numpy().astype("datetime64[D]").astype(np.int32)
    last = customers["last_order"].to_numpy().astype("datetime64[D]").astype(np.int64)
    end = np.datetime64(as_of, "D").astype(np.int64)
    window = detection_days(churn_window_days, lambda: _gaps(line_customer, line_date))
    history = CustomerHistory(
        age_days=end - first,
        span_days=last - first,
        lost=end - last > window,
        line_customer=line_customer,
        line_day=line_date - first[line_customer],
        line_amount=lines["amount"].to_numpy()[known],
    )
    curve = lifetime(history, window)
    pooled = Valuation(curve, curve, window, history, pd.Series(dtype=float))
    active, revenue = customers["active"].to_numpy(), customers["revenue"].to_numpy()
    remaining = _remaining(curve, history.age_days, active, revenue)
    base: Lifetime | Blend = curve
    parts: dict[str, Lifetime] = {}
    if channel is not None and curve.estimated:
        codes, names = pd.factorize(channel.astype(str), sort=True, use_na_sentinel=False)
        groups = {name: codes == k for k, name in enumerate(names)}
        parts = {name: group_lifetime(pooled, members) for name, members in groups.items()}
        if all(part.estimated for part in parts.values()):
            n = len(codes)
            base = Blend(tuple(parts.values()), tuple(m.sum() / n for m in groups.values()))
            for name, members in groups.items():
                remaining[members] = _remaining(
                    parts[name], history.age_days[members], active[members], revenue[members]
                )
    series = pd.Series(remaining, index=customers.index)
    return Valuation(base, curve, window, history, series, parts)


def group_lifetime(valuation: Valuation, members: np.ndarray) -> Lifetime:
    """The lifetime of the customers marked in ``members`` (a mask over the customers),
    with the base's tail where the group shows too few losses of its own."""
    h = valuation.history
    new_position = np.cumsum(members) - 1
    on_line = members[h.line_customer]
    subset = CustomerHistory(
        age_days=h.age_days[members],
        span_days=h.span_days[members],
        lost=h.lost[members],
        line_customer=new_position[h.line_customer[on_line]],
        line_day=h.line_day[on_line],
        line_amount=h.line_amount[on_line],
    )
    curve = valuation.curve
    fallback = curve.tail_retention if curve.estimated else None
    return lifetime(subset, valuation.detection_days, fallback)


def monthly_rate(annual_rate: float) -> float:
    """Monthly rate compounding to the annual one: (1 + annual)^(1/12) - 1."""
    return (1.0 + annual_rate) ** (1.0 / MONTHS_PER_YEAR) - 1.0


def _gaps(customer: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days between one customer's consecutive order days (several lines a day count once).

    Sorted as one integer key, customer x width + day: a fifth of the time of a lexsort.
    """
    low = day.min(initial=0)
    width = int(day.max(initial=0)) - int(low) + 1
    key = np.sort(customer.astype(np.int64) * width + (day - low))
    gaps = np.diff(key)[key[1:] // width == key[:-1] // width]
    return gaps[gaps > 0]


def _remaining(base: Lifetime, age_days: np.ndarray, active: np.ndarray,
               revenue: np.ndarray) -> np.ndarray:  # fmt: skip
    """Each customer's share of their age cohort's expected remaining revenue."""
    if not base.estimated:
        return np.full(len(age_days), np.nan)
    cohort = np.floor(age_days / DAYS_PER_MONTH).astype(np.int64)
    expected = np.bincount(cohort, weights=base.remaining_revenue(age_days))
    weight = np.where(active, np.clip(revenue, 0.0, None), 0.0)
    weights = np.bincount(cohort, weights=weight, minlength=len(expected))
    actives = np.bincount(cohort, weights=active.astype(float), minlength=len(expected))
    by_revenue = weights[cohort] > 0
    share = np.where(
        by_revenue,
        weight / np.where(by_revenue, weights[cohort], 1.0),
        active / np.maximum(actives[cohort], 1.0),  # no revenue to weigh by: equal shares
    )
    return expected[cohort] * share
