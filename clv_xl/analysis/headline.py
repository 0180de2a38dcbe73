"""The headline in words: the executive summary and the command line's table, from one
Analysis (the Summary sheet, the command line and the ribbon say the same)."""

from __future__ import annotations

import math

import pandas as pd

from clv_xl.analysis.analyze import Analysis
from clv_xl.analysis.customers import DAYS_PER_MONTH
from clv_xl.analysis.segments import ALL, BEHAVIOUR_DIMENSIONS

#: The sensitivity's default steps: margin in percentage points, churn as a share of itself.
MARGIN_STEP, CHURN_STEP = 0.05, 0.25


def in_text(name: str) -> str:
    """A dimension's name inside a sentence: "Value tier" -> "value tier", "RFM group" stays."""
    return name if name[1:2].isupper() else name[:1].lower() + name[1:]


def channel_rows(analysis: Analysis) -> pd.DataFrame:
    """The whole base and each channel: the rows of the segments table CAC applies to."""
    table = analysis.segments
    dimension = analysis.channel
    keep = (table["dimension"] == ALL) | (table["dimension"] == dimension)
    return table[keep]


def cac_of(analysis: Analysis, segment: str) -> float | None:
    """The CAC given for a channel (or for "All customers"), None when not given."""
    return dict(analysis.params.cac).get(segment)


def money(analysis: Analysis, value: float, decimals: int = 0) -> str:
    return (
        "n/a" if not math.isfinite(value) else f"{analysis.params.currency} {value:,.{decimals}f}"
    )


def executive_summary(analysis: Analysis) -> list[str]:
    """Three to five plain sentences from the figures (at the inputs as delivered)."""
    o, q = analysis.overall, analysis.orders
    first, last = q.lines["date"].min(), q.lines["date"].max()
    months = (last - first).days / DAYS_PER_MONTH
    sentences = [
        f"The data cover {first:%d %b %Y} to {last:%d %b %Y} ({months:.0f} months): "
        f"{int(o['customers']):,} customers, {int(o['orders']):,} orders and "
        f"{money(analysis, o['revenue'])} revenue net of refunds."
    ]
    if math.isfinite(o["clv"]):
        low, high = o["clv"] / (1 + CHURN_STEP), o["clv"] / (1 - CHURN_STEP)
        sentences.append(
            f"A new customer is worth {money(analysis, o['clv'])} in gross margin over an "
            f"expected {o['lifetime_months']:.0f}-month lifetime "
            f"({money(analysis, low)} to {money(analysis, high)} if churn is "
            f"{CHURN_STEP:.0%} higher or lower; {money(analysis, o['clv_discounted'])} "
            f"discounted at {analysis.params.annual_discount_rate:.0%} a year): the figure "
            "to set against the cost of acquiring one."
        )
    else:
        sentences.append(f"No CLV can be estimated yet: {o['clv_note']}")
    acquisition = analysis.segments[
        ~analysis.segments["dimension"].isin((ALL, *BEHAVIOUR_DIMENSIONS))
        & ~analysis.segments["small"]
        & analysis.segments["clv"].notna()
    ]
    dimension = analysis.channel
    ranked = acquisition[acquisition["dimension"] == dimension].sort_values("clv")
    if dimension is not None and len(ranked) >= 2:  # no channel column: no ranking
        best, worst = ranked.iloc[-1], ranked.iloc[0]
        sentences.append(
            f"By {in_text(dimension)}, {best['segment']} customers are worth the most "
            f"({money(analysis, best['clv'])}) and {worst['segment']} the least "
            f"({money(analysis, worst['clv'])})."
        )
    given = [
        (row["segment"], row["clv"] / cac)
        for _, row in channel_rows(analysis).iterrows()
        if (cac := cac_of(analysis, row["segment"])) and math.isfinite(row["clv"])
    ]
    if given:
        name, ratio = max(given, key=lambda pair: pair[1])
        low = min(given, key=lambda pair: pair[1])
        sentences.append(
            f"LTV:CAC runs from {low[1]:.1f}x ({low[0]}) to {ratio:.1f}x ({name}); "
            "3x or more is the usual mark of a healthy acquisition spend."
        )
    caveats = [
        f"{int(o['customers'] - o['active_customers']):,} customers have not ordered within "
        f"the {analysis.params.churn_window_days}-day churn window"
    ]
    if not analysis.prediction.fitted:
        caveats.append(f"the purchase model could not be fitted ({analysis.prediction.reason})")
    if q.rows_excluded:
        caveats.append(f"{q.rows_excluded:,} order rows were excluded (see Data quality)")
    sentences.append("Caveats: " + "; ".join(caveats) + ".")
    return sentences


def summary_table(analysis: Analysis) -> str:
    """A short plain-text table of the headline figures and the largest segments."""
    o = analysis.overall
    lines = [
        f"Orders as of {analysis.as_of:%Y-%m-%d}: {analysis.orders.rows_used:,} rows used, "
        f"{analysis.orders.rows_excluded:,} excluded (see the Data quality sheet).",
        f"{'Customers':<34}{int(o['customers']):>14,}",
        f"{'Revenue':<34}{money(analysis, o['revenue']):>14}",
        f"{'Expected lifetime (months)':<34}{o['lifetime_months']:>14.1f}",
        f"{'CLV of a new customer':<34}{money(analysis, o['clv']):>14}",
        f"{'  discounted':<34}{money(analysis, o['clv_discounted']):>14}",
        f"{'Margin to date per customer':<34}{money(analysis, o['margin_to_date']):>14}",
        f"{'Expected lifetime margin, formula':<34}{money(analysis, o['lifetime_margin']):>14}",
        f"{'Expected lifetime margin, model':<34}"
        f"{money(analysis, o['model_lifetime_margin']):>14}"
        + ("" if analysis.prediction.fitted else f"  ({analysis.prediction.reason})"),
        f"{'Margin ' + '(' + analysis.margin_source + ')':<34}{analysis.margin:>14.1%}",
        "",
        f"{'Segment':<34}{'Customers':>10}{'CLV':>14}{'Lifetime':>14}",
    ]
    table = analysis.segments
    for dimension in analysis.dimensions[1:3]:
        for _, row in table[table["dimension"] == dimension].iterrows():
            name = f"{dimension}: {row['segment']}"[:33]
            lines.append(
                f"{name:<34}{int(row['customers']):>10,}{money(analysis, row['clv']):>14}"
                f"{money(analysis, row['lifetime_margin']):>14}"
            )
    lines += ["", *executive_summary(analysis)]
    return "\n".join(lines)
