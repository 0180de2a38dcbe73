"""The CLV framework against simulated businesses whose true CLV is set (tests/business.py),
and its definitions against the numbers they are made of."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from business import Channel, simulate

from clv_xl.analysis.customers import customer_summary
from clv_xl.analysis.segments import segment_dimensions
from clv_xl.analysis.survival import DAYS_PER_MONTH, CustomerHistory, kaplan_meier, lifetime
from clv_xl.analysis.valuation import Blend, group_lifetime, value_customers
from clv_xl.orders.load import load_orders

CHANNELS = (Channel("Web", 0.03, 0.5), Channel("Shop", 0.08, 0.5))
#: (monthly growth of acquisitions, customers acquired in the first month)
SCENARIOS = {"growing": (0.05, 60), "flat": (0.0, 100), "shrinking": (-0.03, 150)}


@pytest.fixture(scope="module", params=list(SCENARIOS))
def business(request: pytest.FixtureRequest) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    growth, first = SCENARIOS[request.param]
    lines, as_of = simulate(CHANNELS, monthly_growth=growth, first_month_customers=first, seed=0)
    orders = load_orders(lines, as_of=as_of)
    coded = orders.lines.assign(
        customer=orders.lines["customer"].astype("category"),
        margin_amount=orders.lines["amount"],
    )
    return coded, orders, as_of


def valued(business, window: int):
    lines, orders, as_of = business
    customers = customer_summary(lines, orders.segments, as_of, window)
    valuation = value_customers(lines, customers, pd.Timestamp(as_of), window, customers["Channel"])
    return customers, valuation


@pytest.mark.parametrize("window", [365, 90])
def test_clv_of_each_channel_and_the_whole_base_is_within_10_pct_of_the_truth(
    business, window: int
) -> None:
    customers, valuation = valued(business, window)
    for channel in CHANNELS:
        members = (customers["Channel"] == channel.name).to_numpy()
        estimate = group_lifetime(valuation, members).lifetime_revenue
        assert estimate == pytest.approx(channel.true_lifetime_revenue, rel=0.10), channel.name
    shares = customers["Channel"].value_counts(normalize=True)
    truth = sum(shares[c.name] * c.true_lifetime_revenue for c in CHANNELS)
    assert isinstance(valuation.base, Blend)
    assert valuation.base.lifetime_revenue == pytest.approx(truth, rel=0.10)


def test_the_old_estimator_is_biased_by_growth() -> None:
    """What the project used to do (churn = losses / customer-months over the last 12
    months) on a growing business: the low-churn channel comes out far too high."""
    lines, as_of = simulate(CHANNELS, monthly_growth=0.05, first_month_customers=60, seed=0)
    web = lines[lines["Channel"] == "Web"]
    end = pd.Timestamp(as_of)
    first = web.groupby("Customer ID")["Order date"].min()
    last = web.groupby("Customer ID")["Order date"].max()
    lost_on = last + pd.Timedelta(days=366)
    start = end - pd.DateOffset(months=12)
    months = sum(
        (
            (first < end - pd.DateOffset(months=k - 1)) & (lost_on > end - pd.DateOffset(months=k))
        ).sum()
        for k in range(1, 13)
    )
    lost = ((lost_on > start) & (lost_on <= end)).sum()
    revenue = web.loc[web["Order date"] > start, "Amount"].sum()
    old = revenue / months / (lost / months)
    assert old > 1.2 * CHANNELS[0].true_lifetime_revenue


def test_the_bridge_never_falls_below_the_margin_to_date(business) -> None:
    customers, valuation = valued(business, 365)
    remaining = valuation.remaining_revenue
    assert (remaining >= 0).all() and remaining[~customers["active"]].eq(0).all()
    # Over every customer acquired, to date + remaining estimates the lifetime revenue.
    total = (customers["revenue"] + remaining).mean()
    assert total == pytest.approx(valuation.base.lifetime_revenue, rel=0.10)


def test_kaplan_meier_by_hand() -> None:
    # Durations 1, 2+, 3, 3, 4+ (+ censored): S(1) = 4/5, S(3) = 4/5 x (1 - 2/3).
    times, survival, at_risk = kaplan_meier(
        np.array([1, 2, 3, 3, 4]), np.array([True, False, True, True, False])
    )
    assert list(times) == [1, 2, 3, 4] and list(at_risk) == [5, 4, 3, 1]
    assert survival == pytest.approx([0.8, 0.8, 0.8 / 3, 0.8 / 3])


def test_lifetime_of_customers_who_buy_every_month_until_they_leave() -> None:
    """40 customers each buy 10 on day 0 and once in each later month (on its first whole
    day); customer j stops after j months (0..39) and all were acquired 60 months ago:
    fully observed, no censoring."""
    n, window = 40, 60
    months = np.arange(n)
    lines = [(j, k) for j in range(n) for k in range(months[j] + 1)]
    customer = np.array([j for j, _ in lines])
    day = np.array([np.ceil(k * DAYS_PER_MONTH) for _, k in lines]).astype(np.int64)
    age = np.full(n, int(60 * DAYS_PER_MONTH))
    span = np.ceil(months * DAYS_PER_MONTH).astype(np.int64)
    amounts = np.full(len(day), 10.0)
    history = CustomerHistory(age, span, age - span > window, customer, day, amounts)
    curves = lifetime(history, window)
    # S(k) = share with lifetime >= k months = (40 - k) / 40, while 5 or more are at risk
    # (k <= 35); then extrapolated, so the lifetime is at least the observed sum.
    seen = n - 4
    assert curves.survival[:seen] == pytest.approx((n - months[:seen]) / n)
    assert curves.lifetime_months >= ((n - months[:seen]) / n).sum()
    # Revenue: 10 a month alive, observed for all 60 months: 10 x 20.5 in all.
    assert curves.revenue[:seen] == pytest.approx(10 * (n - months[:seen]) / n)
    assert curves.revenue.sum() == pytest.approx(10 * 20.5)
    assert curves.revenue_within(10) == pytest.approx(sum(10 * (n - k) / n for k in range(10)))
    assert curves.lifetime_revenue >= 10 * 20.5


def test_acquisition_year_is_a_dimension_with_a_clv() -> None:
    assert segment_dimensions(())["Acquisition year"] == "cohort_year"


CDNOW = Path(__file__).parent / "data" / "cdnow" / "CDNOW_sample.txt"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """CDNOW's 2,357 customers, all acquired in the first quarter of 1997, 78 weeks."""
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=None, dtype={2: str},
                      names=["customer", "id", "date", "quantity", "amount"])  # fmt: skip
    return pd.DataFrame(
        {"customer": raw["customer"].astype(str), "date": pd.to_datetime(raw["date"]),
         "amount": raw["amount"]}
    )  # fmt: skip


def cdnow_lifetime(cdnow: pd.DataFrame, weeks: int, window: int):
    cut = pd.Timestamp("1997-01-01") + pd.Timedelta(weeks=weeks, days=-1)
    orders = load_orders(cdnow[cdnow["date"] <= cut], as_of=cut.date())
    lines = orders.lines.assign(customer=orders.lines["customer"].astype("category"))
    customers = customer_summary(lines, (), cut.date(), window)
    return value_customers(lines, customers, cut, window).base


def test_on_cdnow_a_year_of_data_forecasts_the_next_half_year(cdnow) -> None:
    """Real data: the curves from the first 52 weeks forecast each customer's revenue in
    their first 16 months, which the remaining 26 weeks show (every customer was acquired
    in 1997's first quarter, so all are seen through their 16th month)."""
    months = 16
    first = cdnow.groupby("customer")["date"].transform("min")
    seen = (cdnow["date"] - first).dt.days < months * DAYS_PER_MONTH
    actual = cdnow.loc[seen, "amount"].sum() / cdnow["customer"].nunique()
    estimate = cdnow_lifetime(cdnow, 52, 90)
    assert estimate.revenue_within(months) == pytest.approx(actual, rel=0.10)
    assert len(estimate.revenue) < months  # the last months are the tail's, not observed


def test_on_cdnow_39_weeks_cannot_show_a_365_day_loss(cdnow) -> None:
    estimate = cdnow_lifetime(cdnow, 39, 365)
    assert not estimate.estimated and np.isnan(estimate.lifetime_revenue)
    assert "No loss can be seen yet" in estimate.reason
