"""From orders to the frozen `Analysis` the report shows: customers
(:mod:`clv_xl.analysis.customers`, where the definitions of active, revenue and fully
refunded live), segments (:mod:`clv_xl.analysis.segments`), the CLV framework
(:mod:`clv_xl.analysis.valuation`) on the lifetimes (:mod:`clv_xl.analysis.survival`), cohorts
and revenue retention (:mod:`clv_xl.analysis.cohorts`) and the models' forecasts
(:mod:`clv_xl.analysis.prediction`).

Refunds of customers with no order make no customer and are kept aside
(``unmatched_refunds``). Fully refunded customers have no value to date and none expected:
the model's forecasts for them are set to 0, and its P(alive) and spend per purchase, which
read the refunded orders as purchases, are left blank.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from clv_xl.alongside import alongside
from clv_xl.analysis.cohorts import cohort_matrices, curves_by_year, revenue_retention
from clv_xl.analysis.customers import PROFITABILITY, customer_summary, labels
from clv_xl.analysis.forecast_ranges import (
    Verdict,
    intervals_by_groupings,
    no_forecast,
    verdicts_by_group,
)
from clv_xl.analysis.params import DEFAULT_MARGIN, Params
from clv_xl.analysis.prediction import Prediction, predict
from clv_xl.analysis.segments import (
    ALL,
    BEHAVIOUR_DIMENSIONS,
    channel_dimension,
    segment_dimensions,
    segment_lifetimes,
    segment_table,
)
from clv_xl.analysis.valuation import Valuation, monthly_rate, value_customers
from clv_xl.errors import InputError
from clv_xl.orders.load import BLANK_SEGMENT, Orders

#: P(alive) below this for an active customer, or above the next for a lost one, is named.
UNLIKELY_ALIVE, LIKELY_ALIVE = 0.05, 0.5
#: The model's per-customer forecasts, in revenue (margin 1) and in margin.
PREDICTED_REVENUE = {"predicted_clv_12m": "predicted_revenue_12m",
                     "predicted_clv_36m": "predicted_revenue_36m"}  # fmt: skip
MODEL_COLUMNS = ("prob_alive", "expected_purchases_12m", "expected_spend")
#: The segments' 80% ranges: parameter sets drawn, customers forecast per segment (the
#: cost is bounded whatever the number of customers: about 1 s on two cores).
RANGE_DRAWS, RANGE_SAMPLE = 40, 30
#: The progress steps inside the analysis.
MODEL_STEP, SEGMENTS_STEP = "Fitting the models", "Segments and the models' ranges"


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
    prediction: Prediction  # the chosen purchase model's and Gamma-Gamma's forecasts, or why none
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


def analyze(
    orders: Orders, params: Params = Params(), progress: Callable[[str], None] = lambda step: None
) -> Analysis:
    """Run the whole analysis of ``orders`` with ``params``; ``progress`` is called with the
    name of each long step as it starts (the wait for the models' fits, which start with the
    customers' summaries, then the segments)."""
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
    # The models fit in a second thread (mostly numpy) while this one summarises the
    # customers (mostly pandas); they forecast revenue (margin 1): margins are applied here,
    # as for the formula.
    fitting = partial(predict, lines[["customer", "date", "amount"]], as_of, margin=1.0,
                      monthly_discount_rate=rate)  # fmt: skip
    with alongside(fitting) as predicting:
        customers = customer_summary(lines, orders.segments, as_of, params.churn_window_days)
        if customers.empty:
            raise InputError(
                f"None of the {orders.rows_used:,} usable rows is an order: they are all "
                "refunds (negative amounts), so there are no customers to analyse."
            )
        # Each customer looked up once, by category (pandas' isin on text is a hundred times
        # slower than get_indexer).
        known = customers.index.get_indexer(lines["customer"].cat.categories) >= 0
        unmatched = ~known[lines["customer"].cat.codes.to_numpy()]
        channel = channel_dimension(orders.segments)
        valuation = value_customers(
            lines, customers, pd.Timestamp(as_of), params.churn_window_days,
            customers[channel] if channel else None,
        )  # fmt: skip
        cohort_retention, cohort_revenue = cohort_matrices(lines, customers, as_of)
        paid = lines[["customer", "date", "amount"]]
        retention = revenue_retention(paid[~unmatched] if unmatched.any() else paid, as_of)
        lifetimes = segment_lifetimes(customers, orders.segments, valuation, channel)
        progress(MODEL_STEP)  # the wait for the fits
        predicted = predicting.result()

    progress(SEGMENTS_STEP)
    customers = customers.assign(remaining_revenue=valuation.remaining_revenue)
    customers = _with_forecasts(customers, predicted, margin)
    by_data = source == "cost data"
    # the models' ranges (numpy and scipy) in a second thread while the segments are summed
    with alongside(partial(_model_ranges, customers, orders.segments, predicted)) as ranging:
        segments = segment_table(customers, orders.segments, margin, by_data, params, lifetimes)
        segments = _with_model_ranges(segments, ranging.result(), no_forecast(predicted))
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
    can neither replace a figure nor be replaced by a built-in dimension; a missing value
    in a segment column (in orders built by hand: `load_orders` names blank cells so) reads
    BLANK_SEGMENT, as a segment of its own."""
    own = {name.casefold() for name in OWN_NAMES}
    renamed = {s: f"{s} (segment)" for s in orders.segments if s.casefold() in own}
    lines = orders.lines
    blanks = {s: _blank_named(lines[s]) for s in orders.segments if lines[s].isna().any()}
    if not renamed and not blanks:
        return orders
    return dataclasses.replace(
        orders,
        lines=lines.assign(**blanks).rename(columns=renamed),
        segments=tuple(renamed.get(s, s) for s in orders.segments),
    )


def _blank_named(values: pd.Series) -> pd.Series:
    """A segment column with its missing values read BLANK_SEGMENT (categories kept)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        if BLANK_SEGMENT not in values.cat.categories:
            values = values.cat.add_categories([BLANK_SEGMENT])
        return values.fillna(BLANK_SEGMENT)
    return values.astype(object).fillna(BLANK_SEGMENT)


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


def _with_forecasts(customers: pd.DataFrame, predicted: Prediction, margin: float) -> pd.DataFrame:
    """The model's forecasts joined per customer: revenue (margin 1) and margin at ``margin``;
    for fully refunded customers 0, and no P(alive) or spend per purchase (the model read
    their refunded orders as purchases); and where status and model disagree, a note."""
    forecasts = _in_order_of(_by_customer_name(predicted.customers), customers.index)
    refunded = (customers["profitability"] == PROFITABILITY[2]).to_numpy()
    c = customers.assign(**{column: forecasts[column] for column in MODEL_COLUMNS})
    for clv, revenue in PREDICTED_REVENUE.items():
        values = forecasts[clv].mask(refunded, 0.0)
        c[revenue] = values
        c[clv] = values * margin
    c.loc[refunded, ["expected_purchases_12m", "remaining_revenue"]] = 0.0
    c.loc[refunded, ["prob_alive", "expected_spend"]] = np.nan
    active, alive = c["active"].to_numpy(), c["prob_alive"].to_numpy()
    c["status_note"] = labels(
        ("", "Overdue", "Lapsed"),  # defined on the About sheet (a sentence printed cut off)
        np.select([active & (alive < UNLIKELY_ALIVE), ~active & (alive > LIKELY_ALIVE)], [1, 2], 0),
        c.index,
    )  # fmt: skip
    return c


def _by_customer_name(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` indexed by the customers' names as text, like the customers table (aligning
    text with categories costs pandas a second a million customers; text with text does not)."""
    return frame.set_axis(pd.Index(frame.index.astype(str), name="customer"))


def _in_order_of(frame: pd.DataFrame, names: pd.Index) -> pd.DataFrame:
    """``frame``'s rows for ``names``, in that order (missing ones blank): as they are when
    the names are already the same (the usual case, both sorted by name), else looked up."""
    return frame if frame.index.equals(names) else frame.reindex(names)


#: Per dimension, the segments' 80% ranges (`intervals_by_groupings`) and their verdicts.
ModelRanges = tuple[dict[str, pd.DataFrame], dict[str, dict[Any, Verdict]]]


def _model_ranges(
    customers: pd.DataFrame, segments: tuple[str, ...], predicted: Prediction
) -> ModelRanges:
    """Each segment's 80% range of the model's 36-month revenue per customer (from the
    parameters' uncertainty, :func:`clv_xl.analysis.forecast_ranges.intervals_by_groupings`) and
    the verdict on whether its forecast can be trusted
    (:func:`clv_xl.analysis.forecast_ranges.verdicts_by_group`), for every dimension.

    Both are given the customers as the prediction indexes them (its own index, and subsets
    of it), so that pandas aligns them without converting between text and categories. Fully
    refunded customers count as 0 in the ranges, as in the forecasts (`_with_forecasts`).
    """
    columns = {ALL: "_all", **segment_dimensions(segments)}
    whole = customers.assign(_all=ALL)
    groupings = pd.DataFrame({d: whole[column].astype(str) for d, column in columns.items()})
    forecast = predicted.customers.index
    by_name = _by_customer_name(pd.DataFrame(index=forecast)).index
    groupings = _in_order_of(groupings, by_name).set_axis(forecast)
    profitability = _in_order_of(customers[["profitability"]], by_name)["profitability"]
    refunded = profitability.eq(PROFITABILITY[2]).set_axis(forecast)
    ranges = intervals_by_groupings(
        predicted,
        groupings,
        draws=RANGE_DRAWS,
        sample_per_group=RANGE_SAMPLE,
        without_value=refunded,
    )
    verdicts = {d: verdicts_by_group(predicted, groupings[d]) for d in groupings.columns}
    return ranges, verdicts


def _with_model_ranges(table: pd.DataFrame, ranges: ModelRanges, without: Verdict) -> pd.DataFrame:
    """The segment table with each segment's range and verdict (`_model_ranges`); ``without``:
    the verdict on a segment without a customer who bought."""
    intervals, verdicts_of = ranges
    low, high, verdicts = [], [], []
    for dimension, segment in zip(table["dimension"], table["segment"], strict=True):
        known = segment in intervals[dimension].index
        row = intervals[dimension].loc[segment] if known else None
        low.append(np.nan if row is None else row["low"] - row["mid"])
        high.append(np.nan if row is None else row["high"] - row["mid"])
        verdicts.append(verdicts_of[dimension].get(segment, without))
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
