"""Closed-form CLV and retention mathematics, vectorised with numpy.

Every function takes scalars or array-likes (numpy broadcasting) and returns a
float or an array. Rates are fractions (30% = 0.3). Each rate is *per period*,
and every result is in that same period: give monthly churn, get a lifetime in
months. Bad arguments raise :class:`clv_xl.errors.FormulaError`, naming the
argument and the value.

Sources: the seed articles in ``shared/seeds`` (000: customer value x lifetime;
002: lifetime = 1 / churn; 003: revenue x margin / churn, margin vs markup,
the discounted version) and the textbook discounted-margin formula (Gupta &
Lehmann 2003; Berger & Nasr 1998).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np

from clv_xl.errors import DIV0, NUM
from clv_xl.functions.arguments import Arg, Bound, Rule, formula

#: The seed formulas, as worksheet functions and as `clv_xl.formulas` (the entry point).
__all__ = [
    "breakeven_lifetime",
    "cac_payback",
    "churn_rate",
    "clv",
    "clv_discounted",
    "clv_from_lifetime",
    "convert_rate",
    "customer_lifetime",
    "customer_value",
    "gross_margin",
    "grr",
    "ltv_cac",
    "markup",
    "monthly_revenue",
    "nrr",
    "retention_rate",
]

MONTHS_PER_YEAR = 12

ANY = Bound("any number")
NON_NEGATIVE = Bound("zero or more", low=0.0)
POSITIVE = Bound("above 0", low=0.0, low_open=True, zero_divides=True)
FRACTION = Bound("a fraction from 0 to 1 (30% = 0.3)", low=0.0, high=1.0)
CHURN = Bound(
    "a fraction above 0 and at most 1 (6% = 0.06); zero churn means an endless lifetime",
    low=0.0,
    high=1.0,
    low_open=True,
    zero_divides=True,
)
MARGIN = Bound("a fraction of revenue of at most 1 (30% = 0.3)", high=1.0)
HORIZON = Bound("zero or more periods (blank for no end)", low=0.0)

_CHURN = Arg("Churn per period as a fraction: 6% a month = 0.06", CHURN)
_MARGIN = Arg("Gross margin as a fraction of revenue: 30% = 0.3", MARGIN)


@formula(
    revenue=Arg("Revenue per customer per period, in currency (e.g. 200 a month)", NON_NEGATIVE),
    margin=_MARGIN,
    churn=_CHURN,
)
def clv(revenue, margin, churn):
    """Customer lifetime value = revenue per period x gross margin / churn per period.

    Seed 003: EUR 200 a month x 30% margin / 6% monthly churn = EUR 1,000.
    """
    return revenue * margin / churn


@formula(churn=_CHURN)
def customer_lifetime(churn):
    """Average customer lifetime in periods = 1 / churn per period.

    Seed 002: 1% churn a month means 100 months.
    """
    return 1.0 / churn


@formula(
    average_purchase_value=Arg("Average value of one purchase, in currency", NON_NEGATIVE),
    purchases_per_period=Arg("Purchases per customer per period (e.g. per year)", NON_NEGATIVE),
)
def customer_value(average_purchase_value, purchases_per_period):
    """Customer value per period = average purchase value x purchase frequency (seed 000)."""
    return average_purchase_value * purchases_per_period


@formula(
    customer_value=Arg("Value of a customer per period, in currency", ANY),
    lifetime=Arg("Average customer lifetime, in the same periods", NON_NEGATIVE),
)
def clv_from_lifetime(customer_value, lifetime):
    """Customer lifetime value = customer value per period x average lifetime (seed 000)."""
    return customer_value * lifetime


def _not_discountable(retention, discount_rate, periods, **_):
    return np.isinf(periods) & (retention >= 1 + discount_rate)


@formula(
    rules=[
        Rule(
            _not_discountable,
            NUM,
            "retention must be below 1 + discount_rate for an endless horizon",
        )
    ],
    margin=Arg("Gross margin per customer per period, in currency", ANY),
    retention=Arg("Retention per period as a fraction: 80% = 0.8", FRACTION),
    discount_rate=Arg("Discount rate per period as a fraction: 10% = 0.1", NON_NEGATIVE),
    periods=Arg("Horizon in periods; blank for no end", HORIZON, blank_means=np.inf),
    acquisition_cost=Arg("Acquisition cost per customer, in currency (default 0)", NON_NEGATIVE),
    retention_cost=Arg("Retention cost per customer per period, in currency", NON_NEGATIVE),
    timing=Arg(
        '"begin" (first margin now, the default: as the segment report counts) or "end" '
        "(first margin after one period)",
        choices=("begin", "end"),
    ),
)
def clv_discounted(
    margin,
    retention,
    discount_rate,
    periods=None,
    acquisition_cost=0.0,
    retention_cost=0.0,
    timing="begin",
):
    """Discounted CLV = sum of (margin - retention cost) x retention^t / (1 + rate)^t - AC.

    With timing "begin" (the default, the convention of the segment report and the
    calculator: the first margin now) the sum runs over t = 0..periods-1 (closed form for
    an endless horizon: m (1 + i) / (1 + i - r)); with "end" over t = 1..periods (closed
    form m r / (1 + i - r)). Gupta & Lehmann (2003); seed 003's full version.
    """
    net = margin - retention_cost
    # q = r / (1 + i) is the discounted survival per period; d = q - 1.
    d = (retention - 1.0 - discount_rate) / (1.0 + discount_rate)
    q = 1.0 + d
    growth = np.where(np.isinf(periods), -1.0, np.expm1(periods * np.log1p(d)))  # q^n - 1
    series = np.where(d == 0, periods, growth / np.where(d == 0, 1.0, d))  # sum_{k<n} q^k
    first = q if timing == "end" else 1.0
    return net * first * series - acquisition_cost


@formula(
    price=Arg("Selling price, in currency", POSITIVE),
    cost=Arg("Cost price (what you paid), in currency", NON_NEGATIVE),
)
def gross_margin(price, cost):
    """Gross margin = (price - cost) / price: the share of the price you keep.

    Seed 003: buying at 45 and selling at 60 is a 25% margin (33% is the markup).
    """
    return (price - cost) / price


@formula(
    price=Arg("Selling price, in currency", NON_NEGATIVE),
    cost=Arg("Cost price (what you paid), in currency", POSITIVE),
)
def markup(price, cost):
    """Markup = (price - cost) / cost: the profit over the cost price (not the margin).

    Seed 003: buying at 45 and selling at 60 is a 33.3% markup and a 25% margin.
    """
    return (price - cost) / cost


@formula(
    purchases_per_year=Arg("Purchases per customer per year", NON_NEGATIVE),
    average_purchase_value=Arg("Average value of one purchase, in currency", NON_NEGATIVE),
)
def monthly_revenue(purchases_per_year, average_purchase_value):
    """Monthly revenue per customer = purchases a year x average purchase value / 12.

    Seed 003: 7 purchases a year of EUR 60 is EUR 35 a month.
    """
    return purchases_per_year * average_purchase_value / MONTHS_PER_YEAR


def _more_lost_than_started(customers_at_start, customers_lost, **_):
    return customers_lost > customers_at_start


class _CustomerCounts(TypedDict):
    """The declarations churn_rate and retention_rate share."""

    rules: Sequence[Rule]
    customers_at_start: Arg
    customers_lost: Arg


_CUSTOMER_COUNTS: _CustomerCounts = {
    "rules": [
        Rule(_more_lost_than_started, NUM, "customers_lost cannot exceed customers_at_start")
    ],
    "customers_at_start": Arg("Customers at the start of the period", POSITIVE),
    "customers_lost": Arg("Of those, customers lost during the period", NON_NEGATIVE),
}


@formula(**_CUSTOMER_COUNTS)
def churn_rate(customers_at_start, customers_lost):
    """Churn rate per period = customers lost / customers at the start of the period."""
    return customers_lost / customers_at_start


@formula(**_CUSTOMER_COUNTS)
def retention_rate(customers_at_start, customers_lost):
    """Retention rate per period = 1 - customers lost / customers at the start."""
    return 1.0 - customers_lost / customers_at_start


@formula(
    rate=Arg("Churn (or retention-loss) rate per from-period, a fraction", FRACTION),
    from_periods=Arg("Length of the period the rate is per, e.g. 1 (month)", POSITIVE),
    to_periods=Arg("Length of the period wanted, in the same unit, e.g. 12 (months)", NON_NEGATIVE),
)
def convert_rate(rate, from_periods, to_periods):
    """Rate over another period length = 1 - (1 - rate)^(to / from), survival-consistent.

    5% churn a month is 1 - 0.95^12 = 46% a year, not 60%.
    """
    return -np.expm1(to_periods / from_periods * np.log1p(-rate))


@formula(
    clv=Arg("Customer lifetime value, in currency", ANY),
    cac=Arg("Customer acquisition cost, in currency", POSITIVE),
)
def ltv_cac(clv, cac):
    """LTV:CAC ratio = customer lifetime value / acquisition cost (3 or more is healthy)."""
    return clv / cac


def _margin_not_positive(revenue, margin, **_):
    return revenue * margin <= 0


@formula(
    rules=[Rule(_margin_not_positive, DIV0, "revenue x margin must be above 0 to pay back")],
    cac=Arg("Customer acquisition cost, in currency", NON_NEGATIVE),
    revenue=Arg("Revenue per customer per period, in currency", NON_NEGATIVE),
    margin=_MARGIN,
)
def cac_payback(cac, revenue, margin):
    """CAC payback in periods = acquisition cost / (revenue per period x gross margin)."""
    return cac / (revenue * margin)


def _serving_eats_margin(margin_per_period, cost_to_serve_per_period, **_):
    return margin_per_period - cost_to_serve_per_period <= 0


@formula(
    rules=[
        Rule(
            _serving_eats_margin,
            NUM,
            "margin_per_period must exceed cost_to_serve_per_period to break even",
        )
    ],
    acquisition_cost=Arg("Acquisition cost per customer, in currency", NON_NEGATIVE),
    margin_per_period=Arg("Gross margin per customer per period, in currency", ANY),
    cost_to_serve_per_period=Arg("Cost to serve a customer per period, in currency", NON_NEGATIVE),
)
def breakeven_lifetime(acquisition_cost, margin_per_period, cost_to_serve_per_period):
    """Break-even lifetime in periods = acquisition cost / (margin - cost to serve) per period."""
    return acquisition_cost / (margin_per_period - cost_to_serve_per_period)


def _loses_more_than_start(start_revenue, contraction, churned, **_):
    return np.maximum(contraction, 0.0) + churned > start_revenue


_LOSSES = Rule(
    _loses_more_than_start, NUM, "contraction and churned revenue cannot exceed start_revenue"
)
_START = Arg("Revenue of the existing customers in the earlier period, in currency", POSITIVE)
_CHURNED = Arg("Revenue of the customers who left, in currency", NON_NEGATIVE)


@formula(
    rules=[_LOSSES],
    start_revenue=_START,
    expansion=Arg("Extra revenue from the same customers (upsell), in currency", NON_NEGATIVE),
    contraction=Arg(
        "Revenue lost by customers who stayed but spent less, in currency", NON_NEGATIVE
    ),
    churned=_CHURNED,
)
def nrr(start_revenue, expansion, contraction, churned):
    """Net revenue retention = (start + expansion - contraction - churned) / start."""
    return (start_revenue + expansion - contraction - churned) / start_revenue


@formula(
    rules=[_LOSSES],
    start_revenue=_START,
    contraction=Arg("Net revenue lost by customers who stayed; growth (below 0) is ignored", ANY),
    churned=_CHURNED,
)
def grr(start_revenue, contraction, churned):
    """Gross revenue retention = (start - contraction - churned) / start, capped at 100%.

    Expansion never counts: a net contraction below zero (the stayers grew) is read as 0.
    """
    return (start_revenue - np.maximum(contraction, 0.0) - churned) / start_revenue


#: Every worksheet-facing formula, in the order the README and the templates list them.
ALL = (
    clv,
    customer_lifetime,
    customer_value,
    clv_from_lifetime,
    clv_discounted,
    gross_margin,
    markup,
    monthly_revenue,
    churn_rate,
    retention_rate,
    convert_rate,
    ltv_cac,
    cac_payback,
    breakeven_lifetime,
    nrr,
    grr,
)
