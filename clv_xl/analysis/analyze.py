"""From orders to customers, segments, cohorts and retention (pandas, vectorised).

Definitions (the report's About sheet repeats them; the CLV framework is
:mod:`clv_xl.analysis.valuation`, the lifetimes :mod:`clv_xl.analysis.survival`):

* A customer is *active* when their last order lies within the churn window
  (default 365 days) before the analysis date; otherwise lost, the loss dated at
  their last order.
* Revenue is net of refunds; an order is a purchase with an amount of 0 or more
  (a refund is not an order); AOV = order value / orders. Refunds of customers
  with no order make no customer and are kept aside (``unmatched_refunds``).
* A customer whose orders were refunded in full (refunds, revenue 0 or less) is *fully refunded*:
  no value to date and none expected (the model's forecasts for them are set to 0).

"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_xl.analysis.cohorts import cohort_matrix, curves_by_year, revenue_retention
from clv_xl.analysis.forecast_ranges import forecast_verdict, intervals_by_groupings
from clv_xl.analysis.params import DEFAULT_MARGIN, Params
from clv_xl.analysis.prediction import Prediction, predict
from clv_xl.analysis.survival import Lifetime
from clv_xl.analysis.valuation import (
    BEHAVIOUR_NOTE,
    Blend,
    Valuation,
    discounted_clv,
    group_lifetime,
    value_customers,
)
from clv_xl.errors import InputError
from clv_xl.functions.formulas import MONTHS_PER_YEAR
from clv_xl.models.units import days_per
from clv_xl.orders.load import Orders

ALL = "All customers"
DAYS_PER_YEAR = days_per("years")
DAYS_PER_MONTH = days_per("months")
VALUE_TIERS = ("Top 20%", "Middle 60%", "Bottom 20%")
PROFITABILITY = ("Profitable", "Unprofitable", "Fully refunded")
#: Orders per year is shown only for customers known this long (a rate from a few weeks
#: would annualise noise).
MIN_MONTHS_FOR_RATE = 3
#: P(alive) below this for an active customer, or above the next for a lost one, is named.
UNLIKELY_ALIVE, LIKELY_ALIVE = 0.05, 0.5
#: The model's per-customer forecasts, in revenue (margin 1) and in margin.
PREDICTED_REVENUE = {"predicted_clv_12m": "predicted_revenue_12m",
                     "predicted_clv_36m": "predicted_revenue_36m"}  # fmt: skip
MODEL_COLUMNS = ("prob_alive", "expected_purchases_12m", "expected_spend")
#: The segments' 80% ranges: parameter sets drawn, customers forecast per segment (the
#: cost is bounded whatever the number of customers: about 1 s on two cores).
RANGE_DRAWS, RANGE_SAMPLE = 40, 30

#: Customers columns summed per segment (repeat_customers and active_customers are flags).
SEGMENT_SUMS = (
    "orders", "order_value", "revenue", "margin", "repeat_customers", "active_customers",
    "remaining_revenue", "predicted_revenue_36m",
)  # fmt: skip
#: Segment-column names that say where a customer came from (the channel).
CHANNEL_WORDS = re.compile(r"channel|kanaal|source|bron|medium|campaign|campagne", re.I)
#: Dimensions defined by behaviour after acquisition: no new-customer CLV.
BEHAVIOUR_DIMENSIONS = ("Value tier", "RFM group", "Profitability")

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


@dataclass(frozen=True)
class Analysis:
    """Everything the report shows; computed once, never recomputed by the writer.

    ``customers``: one row per customer (index ``customer``).
    ``segments``: one row per (dimension, segment), first the whole base.
    ``cohort_retention``/``cohort_revenue``: acquisition month x months since the
    first order: share of the cohort buying that month / cumulative revenue per
    customer. ``revenue_retention``: per 12-month year, NRR and GRR of the
    customers who bought in the year before.
    """

    params: Params
    as_of: dt.date
    margin: float  # gross-margin fraction behind every CLV unless a segment has its own
    margin_source: str  # "your setting", "cost data" or "assumption"
    segment_margins_from_data: bool
    monthly_discount_rate: float
    orders: Orders
    customers: pd.DataFrame
    segments: pd.DataFrame
    cohort_retention: pd.DataFrame
    cohort_revenue: pd.DataFrame
    revenue_retention: pd.DataFrame
    prediction: Prediction  # BG/NBD + Gamma-Gamma forecasts, or why there are none
    valuation: Valuation  # the base's lifetime curves and the loss-detection gap
    channel: str | None  # the segment column that says where customers came from (CAC's)
    #: Refund rows of customers with no order (row, amount): in no figure, listed on
    #: the Data quality sheet.
    unmatched_refunds: pd.DataFrame

    @property
    def retention_curves(self) -> pd.DataFrame:
        """Months since first order x acquisition year: share of customers buying."""
        return curves_by_year(self.cohort_retention, self.customers)

    @property
    def revenue_curves(self) -> pd.DataFrame:
        """Months since first order x acquisition year: cumulative revenue per customer."""
        return curves_by_year(self.cohort_revenue, self.customers)

    @property
    def overall(self) -> pd.Series:
        """The whole base's row of ``segments``."""
        return self.segments.iloc[0]

    @property
    def dimensions(self) -> list[str]:
        return list(dict.fromkeys(self.segments["dimension"]))


def monthly_rate(annual_rate: float) -> float:
    """Monthly rate compounding to the annual one: (1 + annual)^(1/12) - 1."""
    return (1.0 + annual_rate) ** (1.0 / MONTHS_PER_YEAR) - 1.0


def analyze(orders: Orders, params: Params = Params()) -> Analysis:
    """Run the whole analysis of ``orders`` with ``params``."""
    orders = _segments_apart(orders)
    lines = orders.lines
    as_of = params.as_of or lines["date"].max().date()
    if (lines["date"] > pd.Timestamp(as_of)).any():
        lines = lines[lines["date"] <= pd.Timestamp(as_of)]
    margin, source = _margin(lines, params)
    # One copy of the lines: customer ids as categories (every group-by below then
    # works on integer codes) and each line's margin in currency.
    lines = lines.assign(
        customer=lines["customer"].astype("category"),
        margin_amount=_line_margins(lines, params, margin),
    )
    rate = monthly_rate(params.annual_discount_rate)
    customers = customer_summary(lines, orders.segments, as_of, params.churn_window_days)
    if customers.empty:
        raise InputError(
            f"None of the {orders.rows_used:,} usable rows is an order: they are all "
            "refunds (negative amounts), so there are no customers to analyse."
        )
    unmatched = ~lines["customer"].isin(customers.index).to_numpy()
    channel = channel_dimension(orders.segments)
    valuation = value_customers(
        lines, customers, pd.Timestamp(as_of), params.churn_window_days,
        customers[channel] if channel else None,
    )  # fmt: skip
    cohort_retention = cohort_matrix(lines, customers, as_of, "share")
    cohort_revenue = cohort_matrix(lines, customers, as_of, "cumulative revenue")
    retention = revenue_retention(lines.loc[~unmatched, ["customer", "date", "amount"]], as_of)
    # The model forecasts revenue (margin 1); margins are applied here, as for the formula.
    predicted = predict(lines, as_of, margin=1.0, monthly_discount_rate=rate)
    customers = customers.assign(remaining_revenue=valuation.remaining_revenue)
    customers = _with_forecasts(customers, predicted, margin)
    by_data = source == "cost data"
    segments = segment_table(customers, orders.segments, margin, by_data, params, valuation)
    segments = _with_model_ranges(segments, customers, orders.segments, predicted)
    return Analysis(
        params=dataclasses.replace(params, as_of=as_of),
        as_of=as_of,
        margin=margin,
        margin_source=source,
        segment_margins_from_data=by_data,
        monthly_discount_rate=rate,
        orders=orders,
        customers=customers,
        segments=segments,
        cohort_retention=cohort_retention,
        cohort_revenue=cohort_revenue,
        revenue_retention=retention,
        prediction=predicted,
        valuation=valuation,
        channel=channel,
        unmatched_refunds=lines.loc[unmatched, ["row", "amount"]].reset_index(drop=True),
    )


#: The names the analysis gives its own columns and dimensions: a segment column of the
#: orders named like one is renamed "<name> (segment)" (see `_segments_apart`).
OWN_NAMES = frozenset({
    "first_order", "last_order", "orders", "order_value", "revenue", "refunds", "margin",
    "tenure_months", "recency_days", "aov", "orders_per_year", "active", "margin_to_date",
    "value_tier", "r_score", "f_score", "m_score", "rfm_group", "cohort_month", "cohort_year",
    "profitability", "remaining_revenue", "status_note", *MODEL_COLUMNS,
    *PREDICTED_REVENUE, *PREDICTED_REVENUE.values(), "_all", "repeat_customers",
    "active_customers", ALL, *BEHAVIOUR_DIMENSIONS, "Acquisition year",
})  # fmt: skip


def _segments_apart(orders: Orders) -> Orders:
    """``orders`` with every segment column named like one of the analysis' own columns or
    dimensions (OWN_NAMES, compared without case) renamed "<name> (segment)", so that it
    can neither replace a figure nor be replaced by a built-in dimension."""
    own = {name.casefold() for name in OWN_NAMES}
    renamed = {s: f"{s} (segment)" for s in orders.segments if s.casefold() in own}
    if not renamed:
        return orders
    return dataclasses.replace(
        orders,
        lines=orders.lines.rename(columns=renamed),
        segments=tuple(renamed.get(s, s) for s in orders.segments),
    )


def _margin(lines: pd.DataFrame, params: Params) -> tuple[float, str]:
    if params.margin is not None:
        return params.margin, "your setting"
    known = lines["margin_amount"].notna()
    revenue = lines.loc[known, "amount"].sum()
    if known.any() and revenue > 0:
        return float(lines.loc[known, "margin_amount"].sum() / revenue), "cost data"
    return DEFAULT_MARGIN, "assumption"


def _line_margins(lines: pd.DataFrame, params: Params, margin: float) -> pd.Series:
    """Each line's margin in currency: from the data, else amount x the margin used."""
    assumed = lines["amount"] * margin
    if params.margin is not None:
        return assumed
    return lines["margin_amount"].fillna(assumed)


def customer_summary(
    lines: pd.DataFrame, segments: tuple[str, ...], as_of: dt.date, churn_window_days: int
) -> pd.DataFrame:
    """One row per customer: history, value, activity, tiers, RFM, cohort, segments."""
    end = pd.Timestamp(as_of)
    customer = lines["customer"].cat.codes.to_numpy()
    n_customers = len(lines["customer"].cat.categories)
    buys = (lines["amount"] >= 0).to_numpy()
    # A row per customer category (observed=False groups by the codes as they are); the
    # ones without a purchase are dropped below.
    by_customer = lines.groupby("customer", sort=True, observed=False)
    bought = lines.loc[buys, ["customer", "date", "amount"]].groupby(
        "customer", sort=True, observed=False
    )
    if "order_id" in lines.columns:  # several lines of one order count once
        order = lines["order_id"].cat.codes.to_numpy()[buys]
        orders = _orders_per_customer(customer[buys], order, n_customers)
    else:
        orders = np.bincount(customer[buys], minlength=n_customers)
    c = pd.DataFrame(
        {
            "first_order": bought["date"].min(),
            "last_order": bought["date"].max(),
            "orders": orders,
            "order_value": bought["amount"].sum(),
        }
    )
    c["revenue"] = by_customer["amount"].sum()
    c["refunds"] = c["order_value"] - c["revenue"]
    c["margin"] = by_customer["margin_amount"].sum()
    # First purchase line of each customer (earliest date, then row): on their first day.
    first_day = c["first_order"].to_numpy()[customer]
    on_first_day = buys & (lines["date"].to_numpy() == first_day)
    first_lines = (
        lines.loc[on_first_day, ["customer", "row", *segments]]
        .sort_values("row", kind="stable")
        .drop_duplicates("customer")
        .set_index("customer")
    )
    c = c[c["orders"] > 0].copy()  # refunds alone make no customer: see unmatched_refunds
    days_known = (end - c["first_order"]).dt.days
    c["tenure_months"] = days_known / DAYS_PER_MONTH
    c["recency_days"] = (end - c["last_order"]).dt.days
    c["aov"] = c["order_value"] / c["orders"]
    c["orders_per_year"] = (c["orders"] / days_known * DAYS_PER_YEAR).where(
        c["tenure_months"] >= MIN_MONTHS_FOR_RATE
    )
    c["active"] = c["recency_days"] <= churn_window_days
    c["margin_to_date"] = c["margin"]
    c["value_tier"] = _value_tiers(c["revenue"])
    c["r_score"] = _score(-c["recency_days"])
    c["f_score"] = _score(c["orders"])
    c["m_score"] = _score(c["revenue"])
    c["rfm_group"] = _rfm_group(c["r_score"], c["f_score"])
    # Formatted once per distinct month of first order.
    months, month_of = np.unique(
        c["first_order"].to_numpy().astype("datetime64[M]"), return_inverse=True
    )
    firsts = pd.Series(months.astype("datetime64[ns]"))
    c["cohort_month"] = firsts.dt.strftime("%Y-%m").array.take(month_of)
    c["cohort_year"] = firsts.dt.year.astype(str).array.take(month_of)
    refunded = (c["refunds"] > 0) & (c["revenue"] <= 0)
    profitability = np.select([refunded, c["margin"] <= 0], [2, 1], 0)
    c["profitability"] = _labels(PROFITABILITY, profitability, c.index)
    for dimension in segments:
        c[dimension] = first_lines[dimension].reindex(c.index).astype(str)
    c.index = pd.Index(c.index.astype(str), name="customer")
    return c


def _orders_per_customer(customer: np.ndarray, order: np.ndarray, n_customers: int) -> np.ndarray:
    """Orders per customer code: its distinct order codes, and each line without an order id
    (code -1) as an order of its own."""
    with_id = order >= 0
    width = int(order.max(initial=0)) + 1  # (customer, order) keyed as customer x width + order
    pairs = pd.unique(customer[with_id].astype(np.int64) * width + order[with_id])
    distinct = np.bincount(pairs // width, minlength=n_customers)
    return distinct + np.bincount(customer[~with_id], minlength=n_customers)


def _with_forecasts(customers: pd.DataFrame, predicted: Prediction, margin: float) -> pd.DataFrame:
    """The model's forecasts joined per customer: revenue (margin 1) and margin at ``margin``;
    0 for fully refunded customers; and where status and model disagree, a note."""
    forecasts = predicted.customers.reindex(customers.index)
    refunded = (customers["profitability"] == PROFITABILITY[2]).to_numpy()
    c = customers.join(forecasts[list(MODEL_COLUMNS)])
    for clv, revenue in PREDICTED_REVENUE.items():
        values = forecasts[clv].mask(refunded, 0.0)
        c[revenue] = values
        c[clv] = values * margin
    c.loc[refunded, ["expected_purchases_12m", "remaining_revenue"]] = 0.0
    alive = c["prob_alive"]
    c["status_note"] = _labels(
        ("", "Overdue: active by the churn window, unlikely alive by the model",
         "Lapsed by the churn window, likely alive by the model"),
        np.select([c["active"] & (alive < UNLIKELY_ALIVE), ~c["active"] & (alive > LIKELY_ALIVE)],
                  [1, 2], 0),
        c.index,
    )  # fmt: skip
    return c


def _value_tiers(revenue: pd.Series) -> pd.Series:
    """Top 20% / middle 60% / bottom 20% of customers by revenue (ties by customer id).

    The tiers hold round(20% of customers) each, so 4 customers split 1 / 2 / 1.
    """
    rank = revenue.rank(ascending=False, method="first")
    edge = round(0.2 * len(revenue))
    tier = np.select([rank <= edge, rank <= len(revenue) - edge], [0, 1], 2)
    return _labels(VALUE_TIERS, tier, revenue.index)


def _score(values: pd.Series) -> pd.Series:
    """Quintile score 1-5, higher is better; equal values get equal scores."""
    share = values.rank(method="average", pct=True)
    return np.clip(np.ceil(share * 5), 1, 5).astype("int64")


def _rfm_group(r: pd.Series, f: pd.Series) -> pd.Series:
    conditions = [
        r.between(r_low, r_high) & f.between(f_low, f_high)
        for _, r_low, r_high, f_low, f_high in RFM_GROUPS
    ]
    names = [name for name, *_ in RFM_GROUPS]
    group = np.select(conditions, range(len(names)), len(names))
    return _labels([*names, "Need attention"], group, r.index)


def _labels(names: Sequence[str], which: np.ndarray, index: pd.Index) -> pd.Series:
    """Text ``names[which]`` (each name made a string once, not once per row)."""
    return pd.Series(pd.array(names, dtype="str").take(which), index=index)


def segment_dimensions(segments: tuple[str, ...]) -> dict[str, str]:
    """Report label -> customers column, for every dimension segments are cut by."""
    built_in = {
        "Value tier": "value_tier",
        "RFM group": "rfm_group",
        "Acquisition year": "cohort_year",
        "Profitability": "profitability",
    }
    return {**{s: s for s in segments}, **built_in}


def segment_table(
    customers: pd.DataFrame,
    segments: tuple[str, ...],
    margin: float,
    margins_from_data: bool,
    params: Params,
    valuation: Valuation,
) -> pd.DataFrame:
    """Metrics per segment of every dimension, the whole base first (columns: see the
    Segments sheet; the CLV framework: :mod:`clv_xl.analysis.valuation`)."""
    whole = customers.assign(
        _all=ALL, repeat_customers=customers["orders"] > 1, active_customers=customers["active"]
    )
    parts = [_segment_metrics(whole, "_all", ALL)]
    for label, column in segment_dimensions(segments).items():
        parts.append(_segment_metrics(whole, column, label))
    table = pd.concat(parts, ignore_index=True)
    total_customers = len(customers)
    total_revenue = customers["revenue"].sum()
    table["share_customers"] = table["customers"] / total_customers
    table["share_revenue"] = table["revenue"] / total_revenue if total_revenue else np.nan
    data_rate = _ratio(table["margin"], table["revenue"]).fillna(margin)
    # Each segment's margin = the overall margin + its spread (both inputs in the workbook).
    table["margin_spread"] = data_rate - margin if margins_from_data else 0.0
    table["margin_rate"] = margin + table["margin_spread"]
    columns = segment_dimensions(segments)
    lifetimes = [_lifetime(valuation, customers, columns, d, s) for d, s in zip(
        table["dimension"], table["segment"], strict=True)]  # fmt: skip
    table["lifetime_months"] = [lt.lifetime_months if lt else np.nan for lt in lifetimes]
    table["monthly_churn"] = 1.0 / table["lifetime_months"]
    table["arpu"] = [lt.revenue_per_month if lt else np.nan for lt in lifetimes]
    table["lifetime_revenue"] = table["arpu"] * table["lifetime_months"]
    table["clv"] = table["lifetime_revenue"] * table["margin_rate"]
    rate = monthly_rate(params.annual_discount_rate)
    table["clv_discounted"] = discounted_clv(
        table["arpu"], table["margin_rate"], table["monthly_churn"], rate
    )
    table["clv_note"] = [_note(lt) for lt in lifetimes]
    per_customer = table["customers"]
    table["margin_to_date"] = table["revenue"] / per_customer * table["margin_rate"]
    table["remaining_revenue"] = table["remaining_revenue"] / per_customer
    table["remaining_margin"] = table["remaining_revenue"] * table["margin_rate"]
    table["lifetime_margin"] = table["margin_to_date"] + table["remaining_margin"]
    table["model_revenue_36m"] = table["predicted_revenue_36m"] / per_customer
    table["model_margin_36m"] = table["model_revenue_36m"] * table["margin_rate"]
    table["model_lifetime_margin"] = table["margin_to_date"] + table["model_margin_36m"]
    table["lifetime_index"] = table["lifetime_margin"] / table["lifetime_margin"].iloc[0]
    table["small"] = table["customers"] < params.min_segment_customers
    return table


def channel_dimension(segments: tuple[str, ...]) -> str | None:
    """The segment column that says where customers came from: the first whose name says
    channel or source, else the first segment column; None without segment columns."""
    return next((c for c in segments if CHANNEL_WORDS.search(c)), segments[0] if segments else None)


def _with_model_ranges(
    table: pd.DataFrame, customers: pd.DataFrame, segments: tuple[str, ...], predicted: Prediction
) -> pd.DataFrame:
    """Each segment's 80% range of the model's 36-month revenue per customer (from the
    parameters' uncertainty, :func:`clv_xl.analysis.prediction.intervals_by_groupings`) and
    the verdict on whether its forecast can be trusted
    (:func:`clv_xl.analysis.prediction.forecast_verdict`)."""
    low, high, verdicts = [], [], []
    columns = {ALL: "_all", **segment_dimensions(segments)}
    whole = customers.assign(_all=ALL)
    dimensions = list(dict.fromkeys(table["dimension"]))
    groupings = pd.DataFrame({d: whole[columns[d]].astype(str) for d in dimensions})
    ranges = intervals_by_groupings(
        predicted, groupings, draws=RANGE_DRAWS, sample_per_group=RANGE_SAMPLE
    )
    for dimension in dimensions:
        groups = groupings[dimension]
        for segment in table.loc[table["dimension"] == dimension, "segment"]:
            known = segment in ranges[dimension].index
            row = ranges[dimension].loc[segment] if known else None
            low.append(np.nan if row is None else row["low"] - row["mid"])
            high.append(np.nan if row is None else row["high"] - row["mid"])
            verdicts.append(forecast_verdict(predicted, groups.index[groups == segment]))
    mid = table["model_revenue_36m"]
    low_revenue, high_revenue = mid + np.array(low, dtype=float), mid + np.array(high, dtype=float)
    return table.assign(
        model_revenue_36m_low=low_revenue,
        model_revenue_36m_high=high_revenue,
        model_margin_36m_low=low_revenue * table["margin_rate"],
        model_margin_36m_high=high_revenue * table["margin_rate"],
        model_trusted=[v.trustworthy for v in verdicts],
        model_verdict=[v.reason for v in verdicts],
    )


def _lifetime(
    valuation: Valuation,
    customers: pd.DataFrame,
    columns: dict[str, str],
    dimension: str,
    segment: str,
) -> Lifetime | Blend | None:
    """The segment's lifetime curves; None for a dimension defined by behaviour."""
    if dimension == ALL:
        return valuation.base
    if dimension in BEHAVIOUR_DIMENSIONS:
        return None
    members = (customers[columns[dimension]].astype(str) == segment).to_numpy()
    return group_lifetime(valuation, members)


def _note(lifetime: Lifetime | Blend | None) -> str:
    if lifetime is None:
        return BEHAVIOUR_NOTE
    return lifetime.reason or lifetime.tail_note


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return numerator / denominator.where(denominator > 0)


def _segment_metrics(customers: pd.DataFrame, column: str, label: str) -> pd.DataFrame:
    """Per value of ``column``: customers, the SEGMENT_SUMS and the mean P(alive)."""
    groups = customers.groupby(column, sort=True, dropna=False)
    table = pd.concat(
        [
            groups.size().rename("customers"),
            groups[list(SEGMENT_SUMS)].sum(min_count=1),
            groups[["prob_alive"]].mean(),
        ],
        axis=1,
    )
    table["aov"] = table["order_value"] / table["orders"]
    table["orders_per_customer"] = table["orders"] / table["customers"]
    table["repeat_rate"] = table["repeat_customers"] / table["customers"]
    table.index = table.index.astype(str)
    table = table.rename_axis("segment").reset_index()
    table.insert(0, "dimension", label)
    return table
