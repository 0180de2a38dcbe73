"""Segment tables: the metrics of every segment of every dimension, the whole base first,
with the CLV framework (:mod:`clv_xl.analysis.valuation`) per segment fixed at acquisition."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from clv_xl.analysis.params import Params
from clv_xl.analysis.survival import Lifetime
from clv_xl.analysis.valuation import (
    BEHAVIOUR_NOTE,
    Blend,
    Valuation,
    group_lifetime,
    monthly_rate,
)
from clv_xl.functions import formulas

ALL = "All customers"

#: Customers columns summed per segment (repeat_customers and active_customers are flags).
SEGMENT_SUMS = (
    "orders", "order_value", "revenue", "margin", "repeat_customers", "active_customers",
    "remaining_revenue", "predicted_revenue_36m",
)  # fmt: skip
#: Segment-column names that say where a customer came from (the channel).
CHANNEL_WORDS = re.compile(r"channel|kanaal|source|bron|medium|campaign|campagne", re.I)
#: Dimensions defined by behaviour after acquisition: no new-customer CLV.
BEHAVIOUR_DIMENSIONS = ("Value tier", "RFM group", "Profitability")


def segment_dimensions(segments: tuple[str, ...]) -> dict[str, str]:
    """Report label -> customers column, for every dimension segments are cut by."""
    built_in = {
        "Value tier": "value_tier",
        "RFM group": "rfm_group",
        "Acquisition year": "cohort_year",
        "Profitability": "profitability",
    }
    return {**{s: s for s in segments}, **built_in}


#: Each segment's lifetime curves by (dimension, segment); None for a behaviour dimension's.
SegmentLifetimes = dict[tuple[str, str], Lifetime | Blend | None]


def segment_lifetimes(
    customers: pd.DataFrame, segments: tuple[str, ...], valuation: Valuation, channel: str | None
) -> SegmentLifetimes:
    """The lifetime curves of every segment (:func:`clv_xl.analysis.valuation.group_lifetime`;
    the ``channel`` dimension's as the valuation has them already), the whole base's first;
    None for the dimensions defined by behaviour, which have no new-customer CLV. They need
    no model: the analysis computes them while the models fit."""
    lifetimes: SegmentLifetimes = {(ALL, ALL): valuation.base}
    for dimension, column in segment_dimensions(segments).items():
        codes, names = pd.factorize(customers[column].astype(str))
        known = valuation.by_channel if dimension == channel else {}
        by_behaviour = dimension in BEHAVIOUR_DIMENSIONS
        for code, name in enumerate(names):
            curves = known.get(name)
            if curves is None and not by_behaviour:
                curves = group_lifetime(valuation, codes == code)
            lifetimes[dimension, name] = curves
    return lifetimes


def segment_table(
    customers: pd.DataFrame,
    segments: tuple[str, ...],
    margin: float,
    margins_from_data: bool,
    params: Params,
    lifetimes: SegmentLifetimes,
) -> pd.DataFrame:
    """Metrics per segment of every dimension, the whole base first (columns: see the
    Segments sheet; the CLV framework: :mod:`clv_xl.analysis.valuation`, each segment's
    curves from `segment_lifetimes`)."""
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
    curves = [lifetimes[d, s] for d, s in zip(table["dimension"], table["segment"], strict=True)]
    table["lifetime_months"] = [lt.lifetime_months if lt else np.nan for lt in curves]
    table["monthly_churn"] = 1.0 / table["lifetime_months"]
    table["arpu"] = [lt.revenue_per_month if lt else np.nan for lt in curves]
    table["lifetime_revenue"] = table["arpu"] * table["lifetime_months"]
    table["clv"] = table["lifetime_revenue"] * table["margin_rate"]
    rate = monthly_rate(params.annual_discount_rate)
    table["clv_discounted"] = formulas.clv_discounted.evaluate(
        (table["arpu"] * table["margin_rate"]).to_numpy(), (1 - table["monthly_churn"]).to_numpy(),
        rate,
    ).values  # fmt: skip
    table["clv_note"] = [_note(lt) for lt in curves]
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
