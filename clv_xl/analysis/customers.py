"""One row per customer: history, value, activity, value tiers, RFM scores and groups,
cohort, and the segment columns of their first order (pandas and numpy, vectorised).

* A customer is *active* when their last order lies within the churn window (default 365
  days) before the analysis date; otherwise lost, the loss dated at their last order.
* Revenue is net of refunds; an order is a purchase with an amount of 0 or more (a refund
  is not an order); AOV = order value / orders.
* A customer whose orders were refunded in full (refunds, revenue 0 or less) is *fully
  refunded*.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from clv_xl.models.units import days_per

DAYS_PER_YEAR = days_per("years")
DAYS_PER_MONTH = days_per("months")
VALUE_TIERS = ("Top 20%", "Middle 60%", "Bottom 20%")
PROFITABILITY = ("Profitable", "Unprofitable", "Fully refunded")
#: Orders per year is shown only for customers known this long (a rate from a few weeks
#: would annualise noise).
MIN_MONTHS_FOR_RATE = 3

#: Named RFM groups, first match wins: (name, minimum R, maximum R, minimum F, maximum F).
RFM_GROUPS = (
    ("Champions", 4, 5, 4, 5),
    ("Loyal customers", 1, 3, 4, 5),
    ("New customers", 4, 5, 1, 1),
    ("Promising", 4, 5, 2, 3),
    ("At risk", 1, 2, 2, 3),
    ("Hibernating", 1, 2, 1, 1),
    ("Need attention", 3, 3, 1, 3),
)


def customer_summary(
    lines: pd.DataFrame, segments: tuple[str, ...], as_of: dt.date, churn_window_days: int
) -> pd.DataFrame:
    """One row per customer: history, value, activity, tiers, RFM, cohort, segments."""
    end = pd.Timestamp(as_of)
    customer = lines["customer"].cat.codes.to_numpy()
    n_customers = len(lines["customer"].cat.categories)
    amount = lines["amount"].to_numpy()
    buys = amount >= 0
    dates = lines["date"].to_numpy()
    first_order, last_order = _first_and_last(customer[buys], dates[buys], n_customers)
    if "order_id" in lines.columns:  # several lines of one order count once
        order = lines["order_id"].cat.codes.to_numpy()[buys]
        orders = _orders_per_customer(customer[buys], order, n_customers)
    else:
        orders = np.bincount(customer[buys], minlength=n_customers)
    # A row per customer category, by code (numpy on the codes: grouping by a categorical
    # costs pandas ten times more); the ones without a purchase are dropped below.
    c = pd.DataFrame(
        {
            "first_order": first_order,
            "last_order": last_order,
            "orders": orders,
            "order_value": np.bincount(customer[buys], amount[buys], n_customers),
            "revenue": np.bincount(customer, amount, n_customers),
        },
        index=pd.Index(lines["customer"].cat.categories.astype(str), name="customer"),
    )
    c["refunds"] = c["order_value"] - c["revenue"]
    c["margin"] = np.bincount(customer, lines["margin_amount"].to_numpy(), n_customers)
    # First purchase line of each customer (earliest date, then row): on their first day.
    first_day = c["first_order"].to_numpy()[customer]
    on_first_day = np.flatnonzero(buys & (dates == first_day))
    by_row = on_first_day[np.argsort(lines["row"].to_numpy()[on_first_day], kind="stable")]
    owners, first = np.unique(customer[by_row], return_index=True)
    first_line = np.zeros(n_customers, dtype=np.int64)  # position in lines, by customer code
    first_line[owners] = by_row[first]
    kept = c["orders"].to_numpy() > 0
    c = c[kept].copy()  # refunds alone make no customer: see unmatched_refunds
    days_known = (end - c["first_order"]).dt.days
    c["tenure_months"] = days_known / DAYS_PER_MONTH
    c["recency_days"] = (end - c["last_order"]).dt.days
    c["aov"] = c["order_value"] / c["orders"]
    c["orders_per_year"] = (c["orders"] / days_known * DAYS_PER_YEAR).where(
        c["tenure_months"] >= MIN_MONTHS_FOR_RATE
    )
    c["active"] = c["recency_days"] <= churn_window_days
    c["value_tier"] = _value_tiers(c["revenue"])
    c["r_score"] = _score(-c["recency_days"])
    c["f_score"] = _score(c["orders"])
    c["m_score"] = _score(c["revenue"])
    c["rfm_group"] = _rfm_group(c["r_score"], c["f_score"])
    # Formatted once per distinct month of first order.
    month_of, months = pd.factorize(
        c["first_order"].to_numpy().astype("datetime64[M]").astype(np.int64), sort=True
    )
    firsts = pd.Series(months.astype("datetime64[M]").astype("datetime64[ns]"))
    c["cohort_month"] = firsts.dt.strftime("%Y-%m").array.take(month_of)
    c["cohort_year"] = firsts.dt.year.astype(str).array.take(month_of)
    # numpy's own arrays: handed Series, np.select asks each for numpy's array attributes,
    # and pandas looks for a column of that name among the customers (a scan of their names)
    refunded = ((c["refunds"] > 0) & (c["revenue"] <= 0)).to_numpy()
    profitability = np.select([refunded, c["margin"].to_numpy() <= 0], [2, 1], 0)
    c["profitability"] = labels(PROFITABILITY, profitability, c.index)
    at = first_line[kept]
    for dimension in segments:
        c[dimension] = _as_text(lines[dimension], at, c.index)
    return c


def _as_text(values: pd.Series, at: np.ndarray, index: pd.Index) -> pd.Series:
    """``values`` at positions ``at`` as text, on ``index``: a category's text picked by its
    code (converting the picked categorical itself costs pandas ten times more)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()[at]
        if (codes >= 0).all():
            return pd.Series(values.cat.categories.astype(str).take(codes), index=index)
    return values.iloc[at].set_axis(index).astype(str)


def _first_and_last(
    customer: np.ndarray, dates: np.ndarray, n_customers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer code's earliest and latest of ``dates`` (datetime64; NaT for a code
    without one): numpy's minimum and maximum at the codes, in the dates' own unit."""
    ticks = dates.view(np.int64)
    nat = np.iinfo(np.int64).min  # NaT's ticks, the least of all
    dated = ticks != nat
    first = np.full(n_customers, np.iinfo(np.int64).max)
    last = np.full(n_customers, nat)
    np.minimum.at(first, customer[dated], ticks[dated])
    np.maximum.at(last, customer[dated], ticks[dated])
    first[first == np.iinfo(np.int64).max] = nat
    return first.view(dates.dtype), last.view(dates.dtype)


def _orders_per_customer(customer: np.ndarray, order: np.ndarray, n_customers: int) -> np.ndarray:
    """Orders per customer code: its distinct order codes, and each line without an order id
    (code -1) as an order of its own.

    An order id is nearly always one customer's: each order is counted once for the customer
    of one of its lines, and only the lines of other customers (an id shared by mistake) are
    paired by hashing, so no hash table of all the lines' pairs is built."""
    with_id = order >= 0
    owner = np.full(int(order.max(initial=-1)) + 1, -1, dtype=np.int32)
    owner[order[with_id]] = customer[with_id]  # one of the order's customers
    counts = np.bincount(owner[owner >= 0], minlength=n_customers)
    other = with_id.copy()
    other[with_id] = owner[order[with_id]] != customer[with_id]
    width = len(owner)  # (customer, order) keyed as customer x width + order
    pairs = pd.unique(customer[other].astype(np.int64) * width + order[other])
    counts += np.bincount(pairs // width, minlength=n_customers)
    return counts + np.bincount(customer[~with_id], minlength=n_customers)


def _value_tiers(revenue: pd.Series) -> pd.Series:
    """Top 20% / middle 60% / bottom 20% of customers by revenue (ties by customer id).

    The tiers hold round(20% of customers) each, so 4 customers split 1 / 2 / 1.
    """
    rank = np.empty(len(revenue))  # 1 = the highest revenue, ties in row order
    rank[np.argsort(-revenue.to_numpy(), kind="stable")] = np.arange(1, len(revenue) + 1)
    edge = round(0.2 * len(revenue))
    tier = np.select([rank <= edge, rank <= len(revenue) - edge], [0, 1], 2)
    return labels(VALUE_TIERS, tier, revenue.index)


def _score(values: pd.Series) -> pd.Series:
    """Quintile score 1-5, higher is better; equal values get equal scores: ceil(5 x the
    value's percentile rank), ties at their average rank (pandas' rank(pct=True), on the
    numbers alone: pandas would look names up in the customer index)."""
    share = _average_ranks(values.to_numpy()) / len(values)
    score = np.clip(np.ceil(share * 5), 1, 5).astype("int64")
    return pd.Series(score, index=values.index)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of the values, equal values at the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values))
    ranks[order] = np.repeat((starts + 1 + ends) / 2, ends - starts)
    return ranks


def _rfm_group(r: pd.Series, f: pd.Series) -> pd.Series:
    """The RFM group of each (R, F) score pair: the first of RFM_GROUPS whose ranges hold
    it, else "Need attention"; looked up in a 5 x 5 table of the groups."""
    names = [name for name, *_ in RFM_GROUPS]
    table = np.full((6, 6), len(names))  # scores 1-5; row and column 0 unused
    for group, (_, r_low, r_high, f_low, f_high) in reversed(list(enumerate(RFM_GROUPS))):
        table[r_low : r_high + 1, f_low : f_high + 1] = group  # the earlier group wins
    return labels([*names, "Need attention"], table[r.to_numpy(), f.to_numpy()], r.index)


def labels(names: Sequence[str], which: np.ndarray, index: pd.Index) -> pd.Series:
    """Text ``names[which]`` (each name made a string once, not once per row)."""
    return pd.Series(pd.array(names, dtype="str").take(which), index=index)
