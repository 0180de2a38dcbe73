"""The analysis against a small fixture computed by hand, metric by metric.

The fixture (analysis date 2024-12-31, churn window 365 days, no cost column so
the margin is the assumed 30%):

    A  Web    2023-01-15 100, 2023-06-10 50, 2024-03-01 150    active, 12 months active
    B  Store  2023-02-01 200                                   lost 2024-02-02, 2 months
    C  Web    2024-11-20 80 and a refund of -30 the same day   active, 2 months
    D  Store  2023-12-31 0 (a free order)                      lost 2024-12-31, 12 months
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clv_xl.analysis.analyze import analyze
from clv_xl.analysis.customers import _orders_per_customer, _rfm_group
from clv_xl.analysis.params import Params
from clv_xl.analysis.valuation import monthly_rate
from clv_xl.orders.load import load_orders

AS_OF = dt.date(2024, 12, 31)


@pytest.fixture(scope="module")
def fixture_orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer": ["A", "A", "A", "B", "C", "C", "D"],
            "date": pd.to_datetime(
                [
                    "2023-01-15",
                    "2023-06-10",
                    "2024-03-01",
                    "2023-02-01",
                    "2024-11-20",
                    "2024-11-20",
                    "2023-12-31",
                ]
            ),
            "amount": [100.0, 50.0, 150.0, 200.0, 80.0, -30.0, 0.0],
            "channel": ["Web", "Web", "Web", "Store", "Web", "Web", "Store"],
        }
    )


@pytest.fixture(scope="module")
def analysis(fixture_orders):
    return analyze(load_orders(fixture_orders, as_of=AS_OF), Params(as_of=AS_OF))


def segment(analysis, dimension, name):
    table = analysis.segments
    return table[(table["dimension"] == dimension) & (table["segment"] == name)].iloc[0]


class TestCustomers:
    def test_orders_revenue_and_refunds(self, analysis):
        c = analysis.customers
        assert c.loc["A", "orders"] == 3 and c.loc["A", "revenue"] == 300
        assert c.loc["C", "orders"] == 1  # the refund is not an order
        assert c.loc["C", "revenue"] == 50 and c.loc["C", "refunds"] == 30
        assert c.loc["D", "orders"] == 1 and c.loc["D", "revenue"] == 0  # a free order counts

    def test_margin_is_the_assumed_30_pct_of_revenue(self, analysis):
        assert analysis.margin_source == "assumption"
        assert analysis.customers.loc["C", "margin"] == pytest.approx(0.3 * 50)

    def test_activity(self, analysis):
        c = analysis.customers
        assert c["active"].to_dict() == {"A": True, "B": False, "C": True, "D": False}
        assert c.loc["A", "recency_days"] == (AS_OF - dt.date(2024, 3, 1)).days
        assert c.loc["D", "recency_days"] == 366  # one day past the 365-day window

    def test_value_tiers_split_one_two_one(self, analysis):
        assert analysis.customers["value_tier"].to_dict() == {
            "A": "Top 20%", "B": "Middle 60%", "C": "Middle 60%", "D": "Bottom 20%"
        }  # fmt: skip

    def test_rfm_scores(self, analysis):
        c = analysis.customers
        # Recency ranks (most recent best): C, A, D, B -> pct 1, .75, .5, .25 -> 5, 4, 3, 2.
        assert c["r_score"].to_dict() == {"A": 4, "B": 2, "C": 5, "D": 3}
        # Frequency: B, C, D tie on 1 order (average pct 0.5 -> 3); A has 3 (pct 1 -> 5).
        assert c["f_score"].to_dict() == {"A": 5, "B": 3, "C": 3, "D": 3}
        assert c.loc["A", "rfm_group"] == "Champions"

    def test_segment_of_a_customer_is_their_first_order_channel(self, analysis):
        assert analysis.customers["channel"].to_dict() == {
            "A": "Web", "B": "Store", "C": "Web", "D": "Store"
        }  # fmt: skip

    def test_cohorts(self, analysis):
        c = analysis.customers
        assert c.loc["A", "cohort_month"] == "2023-01" and c.loc["C", "cohort_year"] == "2024"


class TestWholeBase:
    def test_counts(self, analysis):
        o = analysis.overall
        assert (o["customers"], o["orders"], o["active_customers"]) == (4, 6, 2)
        assert o["revenue"] == pytest.approx(550)
        assert o["aov"] == pytest.approx(580 / 6)  # order value before the refund
        assert o["repeat_rate"] == pytest.approx(0.25)

    def test_four_customers_give_no_clv_but_a_sentence(self, analysis):
        o = analysis.overall
        assert np.isnan(o["clv"]) and np.isnan(o["lifetime_months"])
        assert "Fewer than 5 customers" in o["clv_note"]
        assert o["margin_to_date"] == pytest.approx(0.3 * 550 / 4)

    def test_monthly_rate(self):
        assert monthly_rate(0.1) == pytest.approx(1.1 ** (1 / 12) - 1)
        assert (1 + monthly_rate(0.1)) ** 12 == pytest.approx(1.1)


class TestSegments:
    def test_every_dimension_is_there(self, analysis):
        assert analysis.dimensions == [
            "All customers", "channel", "Value tier", "RFM group", "Acquisition year",
            "Profitability",
        ]  # fmt: skip

    def test_behaviour_segments_have_no_new_customer_clv(self, analysis):
        tiers = analysis.segments[analysis.segments["dimension"] == "Value tier"]
        assert tiers["clv"].isna().all()
        assert tiers["clv_note"].str.contains("by what they did after acquisition").all()

    def test_store(self, analysis):
        store = segment(analysis, "channel", "Store")
        assert store["customers"] == 2
        assert store["share_customers"] == pytest.approx(0.5)
        assert store["share_revenue"] == pytest.approx(200 / 550)
        assert store["margin_to_date"] == pytest.approx(0.3 * 200 / 2)
        assert np.isnan(store["clv"]) and "Fewer than 5" in store["clv_note"]

    def test_small_segments_are_marked_not_hidden(self, analysis):
        assert analysis.segments["small"].all()  # every segment is under 30 customers
        assert len(analysis.segments) > 6

    def test_profitability(self, analysis):
        assert analysis.customers["profitability"].to_dict() == {
            "A": "Profitable", "B": "Profitable", "C": "Profitable",
            "D": "Unprofitable",  # a free order: no margin, nothing refunded
        }  # fmt: skip

    def test_a_customer_refunded_in_full_is_labelled_and_expects_nothing(self, fixture_orders):
        refunded = pd.DataFrame(
            {"customer": ["E", "E"], "date": pd.to_datetime(["2024-05-01", "2024-05-09"]),
             "amount": [60.0, -60.0], "channel": ["Web", "Web"]}
        )  # fmt: skip
        a = analyze(load_orders(pd.concat([fixture_orders, refunded]), as_of=AS_OF),
                    Params(as_of=AS_OF))  # fmt: skip
        e = a.customers.loc["E"]
        assert e["profitability"] == "Fully refunded" and e["revenue"] == 0
        assert e["remaining_revenue"] == 0 and e["expected_purchases_12m"] == 0


class TestCohortsAndRetention:
    def test_retention_matrix(self, analysis):
        m = analysis.cohort_retention
        assert m.loc["2023-01", 0] == 1 and m.loc["2023-01", 5] == 1 and m.loc["2023-01", 14] == 1
        assert m.loc["2023-01", 1] == 0
        assert m.loc["2023-01"].notna().sum() == 24  # 2023-01 .. 2024-12 observed
        assert np.isnan(m.loc["2024-11", 2])  # not observable yet

    def test_a_refund_before_the_first_order_is_netted_from_month_0(self):
        """Cumulative revenue per customer of the 2024-02 cohort (A: 10 then 30 in March, B:
        20): A's refund of 4, dated before A's first order, is in the revenue to date from
        the first month on, as it is in the base's revenue. By hand: (10 + 20 - 4) / 2 = 13,
        then (26 + 30) / 2 = 28 (the data end in March)."""
        lines = pd.DataFrame(
            {
                "customer": ["A", "A", "B", "A"],
                "date": pd.to_datetime(["2024-02-05", "2024-03-05", "2024-02-10", "2024-01-20"]),
                "amount": [10.0, 30.0, 20.0, -4.0],
            }
        )
        m = analyze(load_orders(lines, as_of=dt.date(2024, 4, 30))).cohort_revenue
        assert m.loc["2024-02"].tolist() == [13.0, 28.0]

    def test_cumulative_revenue_per_customer(self, analysis):
        m = analysis.cohort_revenue
        assert m.loc["2023-01", 0] == 100 and m.loc["2023-01", 5] == 150
        assert m.loc["2023-01", 23] == 300
        assert m.loc["2024-11", 0] == 50  # the refund in the same month

    def test_revenue_retention_last_year(self, analysis):
        r = analysis.revenue_retention
        assert len(r) == 1 and r.iloc[0]["year_to"] == AS_OF
        row = r.iloc[0]
        # 2023 buyers with revenue: A (150) and B (200); in 2024 A 150, B nothing.
        assert row["start_revenue"] == 350 and row["churned"] == 200
        assert row["expansion"] == 0 and row["contraction"] == 0
        assert row["nrr"] == pytest.approx(150 / 350) and row["grr"] == pytest.approx(150 / 350)

    def test_curves_by_acquisition_year(self, analysis):
        curves = analysis.retention_curves
        assert curves.loc[0, "2023"] == 1.0
        # Month 5: of the 2023 cohorts (A, B, D: all observed at month 5) only A bought.
        assert curves.loc[5, "2023"] == pytest.approx(1 / 3)


class TestMargins:
    def test_cost_column_gives_per_segment_margins(self, fixture_orders):
        orders = fixture_orders.assign(cost=fixture_orders["amount"] * 0.6)
        orders.loc[orders["channel"] == "Store", "cost"] = orders["amount"] * 0.9
        a = analyze(load_orders(orders, as_of=AS_OF), Params(as_of=AS_OF))
        assert a.margin_source == "cost data" and a.segment_margins_from_data
        assert segment(a, "channel", "Web")["margin_rate"] == pytest.approx(0.4)
        assert segment(a, "channel", "Store")["margin_rate"] == pytest.approx(0.1)
        assert a.margin == pytest.approx((0.4 * 350 + 0.1 * 200) / 550)

    def test_an_explicit_margin_overrides_cost_data(self, fixture_orders):
        orders = fixture_orders.assign(cost=fixture_orders["amount"] * 0.6)
        a = analyze(load_orders(orders, as_of=AS_OF), Params(as_of=AS_OF, margin=0.5))
        assert a.margin_source == "your setting" and not a.segment_margins_from_data
        assert (a.segments["margin_rate"] == 0.5).all()
        assert a.overall["margin_to_date"] == pytest.approx(0.5 * 550 / 4)


def test_analysis_date_defaults_to_the_last_order(fixture_orders):
    a = analyze(load_orders(fixture_orders, as_of=AS_OF))
    assert a.as_of == dt.date(2024, 11, 20)


def test_lines_of_one_order_count_as_one_order():
    lines = pd.DataFrame(
        {
            "order": ["o1", "o1", "o2"],
            "customer": ["A", "A", "A"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01"]),
            "amount": [10.0, 5.0, 20.0],
        }
    )
    a = analyze(load_orders(lines, as_of=AS_OF))
    assert a.customers.loc["A", "orders"] == 2 and a.customers.loc["A", "aov"] == 17.5


def test_each_line_without_an_order_id_is_an_order_of_its_own():
    lines = pd.DataFrame(
        {
            "order": ["o1", "o1", None, " ", "o2", None],
            "customer": ["A", "A", "A", "A", "B", "B"],
            "date": pd.to_datetime(["2024-01-01"] * 2 + ["2024-02-01", "2024-03-01"] * 2),
            "amount": [10.0, 5.0, 20.0, 30.0, 8.0, 4.0],
        }
    )
    a = analyze(load_orders(lines, as_of=AS_OF))
    assert a.customers["orders"].to_dict() == {"A": 3, "B": 2}
    assert a.customers.loc["A", "aov"] == 65.0 / 3


def test_an_order_id_shared_by_two_customers_is_an_order_of_each():
    """Reading sets aside the lines of an id given to another customer, so this is the
    count itself: customer codes 0-2 and order codes (-1: no id, an order of its own). By
    hand: 0 has orders 0 and 1; 1 has 0, 2 and a line without id; 2 has 0 (its lines
    before and after the others') and 3."""
    customer = np.array([0, 0, 1, 0, 1, 2, 1, 2, 2])
    order = np.array([0, 1, 0, 0, 2, 0, -1, 3, 0])
    assert _orders_per_customer(customer, order, 4).tolist() == [2, 3, 2, 0]
    assert _orders_per_customer(customer[::-1], order[::-1], 3).tolist() == [2, 3, 2]
    # codes 0-5 on no purchase line (refunds only, left out before the count); 6 shared
    assert _orders_per_customer(np.array([1, 0]), np.array([6, 6]), 2).tolist() == [1, 1]
    assert _orders_per_customer(np.array([1, 1]), np.array([-1, -1]), 2).tolist() == [0, 2]
    assert _orders_per_customer(np.array([], int), np.array([], int), 2).tolist() == [0, 0]


def test_customers_are_sorted_by_id_and_tied_tiers_go_by_id():
    """Whatever the order of the rows: five customers with the same revenue."""
    lines = pd.DataFrame(
        {
            "customer": ["C5", "C3", "C1", "C4", "C2"],
            "date": pd.to_datetime(["2024-01-01"] * 5),
            "amount": [10.0] * 5,
        }
    )
    a = analyze(load_orders(lines, as_of=AS_OF))
    assert list(a.customers.index) == ["C1", "C2", "C3", "C4", "C5"]
    assert list(a.customers["value_tier"]) == ["Top 20%", *["Middle 60%"] * 3, "Bottom 20%"]


def test_refunds_of_customers_without_an_order_are_listed_not_counted():
    lines = pd.DataFrame(
        {
            "customer": ["A", "A", "B"],
            "date": pd.to_datetime(["2024-01-05", "2024-03-05", "2024-02-01"]),
            "amount": [10.0, 30.0, -15.0],
        }
    )
    a = analyze(load_orders(lines, as_of=AS_OF))
    assert list(a.customers.index) == ["A"] and a.overall["revenue"] == 40
    assert a.unmatched_refunds.to_dict("list") == {"row": [4], "amount": [-15.0]}


def test_a_refund_with_its_order_id_reduces_revenue():
    lines = pd.DataFrame(
        {
            "order id": ["O3", "O3", "O4"],
            "customer": ["A", "A", "B"],
            "date": pd.to_datetime(["2024-03-01", "2024-03-09", "2024-04-01"]),
            "amount": [20.0, -20.0, 8.0],
        }
    )
    orders = load_orders(lines, as_of=AS_OF)
    assert orders.rows_excluded == 0
    a = analyze(orders)
    assert a.customers.loc["A", "revenue"] == 0 and a.customers.loc["A", "orders"] == 1


def test_a_customer_is_active_up_to_the_last_day_of_the_window():
    lines = pd.DataFrame(
        {"customer": ["A", "B"], "date": pd.to_datetime(["2024-11-30", "2024-11-29"]),
         "amount": [10.0, 10.0]}
    )  # fmt: skip
    a = analyze(load_orders(lines, as_of=AS_OF), Params(as_of=AS_OF, churn_window_days=31))
    assert a.customers["active"].to_dict() == {"A": True, "B": False}


def test_every_pair_of_rfm_scores_has_the_group_of_the_grid():
    """The grid written out by hand (rows R 5..1, columns F 1..5), not from RFM_GROUPS."""
    champions, loyal, new, promising = "Champions", "Loyal customers", "New customers", "Promising"
    at_risk, hibernating, attention = "At risk", "Hibernating", "Need attention"
    grid = {
        5: [new, promising, promising, champions, champions],
        4: [new, promising, promising, champions, champions],
        3: [attention, attention, attention, loyal, loyal],
        2: [hibernating, at_risk, at_risk, loyal, loyal],
        1: [hibernating, at_risk, at_risk, loyal, loyal],
    }
    r = pd.Series([r for r in grid for _ in range(5)])
    f = pd.Series([f for _ in grid for f in range(1, 6)])
    assert _rfm_group(r, f).tolist() == [name for row in grid.values() for name in row]


def test_a_year_without_buyers_has_blank_revenue_retention():
    lines = pd.DataFrame(
        {
            "customer": ["A", "B", "A", "C"],
            "date": pd.to_datetime(["2020-01-05", "2020-02-01", "2023-03-01", "2023-06-01"]),
            "amount": [10.0, 5.0, 20.0, 7.0],
        }
    )
    r = analyze(load_orders(lines, as_of=AS_OF)).revenue_retention
    empty = r[r["start_revenue"] == 0]
    assert len(empty) and empty["nrr"].isna().all() and empty["grr"].isna().all()
    assert r[r["start_revenue"] > 0]["nrr"].notna().all()


def test_a_segment_column_named_like_a_figure_does_not_replace_it(fixture_orders):
    """Columns called orders, active and Value tier in the export: they stay segments of
    their own and every figure is what it is without them."""
    named = fixture_orders.assign(
        orders=["x", "x", "x", "y", "y", "y", "x"],
        active=["no"] * 7,
        **{"Value tier": ["gold"] * 7},
    )
    plain = analyze(load_orders(fixture_orders, as_of=AS_OF), Params(as_of=AS_OF))
    a = analyze(load_orders(named, as_of=AS_OF), Params(as_of=AS_OF))
    assert a.orders.segments == ("channel", "orders (segment)", "active (segment)",
                                 "Value tier (segment)")  # fmt: skip
    for column in ("orders", "active", "value_tier", "revenue"):
        assert a.customers[column].to_dict() == plain.customers[column].to_dict(), column
    assert a.customers["orders (segment)"].to_dict() == {"A": "x", "B": "y", "C": "y", "D": "x"}
    tiers = a.segments[a.segments["dimension"] == "Value tier"]
    assert set(tiers["segment"]) == {"Top 20%", "Middle 60%", "Bottom 20%"}


def test_a_missing_segment_value_in_orders_built_by_hand_is_the_blank_segment(fixture_orders):
    """Orders built by hand (not by load_orders) may hold a missing segment value: it reads
    "(blank)", as a blank cell does, and its customers are a segment like any other."""
    import dataclasses

    read = load_orders(fixture_orders, as_of=AS_OF)
    lines = read.lines.assign(channel=read.lines["channel"].astype(object).where(
        read.lines["customer"] != "B", None).astype("category"))  # fmt: skip
    a = analyze(dataclasses.replace(read, lines=lines), Params(as_of=AS_OF))
    assert a.customers["channel"].to_dict() == {"A": "Web", "B": "(blank)", "C": "Web",
                                                "D": "Store"}  # fmt: skip
    blank, store = segment(a, "channel", "(blank)"), segment(a, "channel", "Store")
    assert (blank["customers"], blank["revenue"]) == (1, 200.0)
    assert (store["customers"], store["revenue"]) == (1, 0.0)


def test_gaps_between_order_days_match_each_customers_own():
    from clv_xl.analysis.valuation import _gaps

    rng = np.random.default_rng(5)
    customer = rng.integers(0, 40, size=600)
    day = rng.integers(-800, 400, size=600)  # days from 1970: some before it
    day[:50] = day[50:100]  # lines on the same day as another
    customer[:50] = customer[50:100]
    expected = []
    for c in np.unique(customer):
        days = np.unique(day[customer == c])  # several lines a day count once
        expected.extend(np.diff(days).tolist())
    assert sorted(_gaps(customer, day).tolist()) == sorted(expected)
    assert _gaps(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).size == 0


@pytest.mark.parametrize("seed", [1, 2])
def test_scores_and_tiers_equal_pandas_ranks(seed: int) -> None:
    """The RFM scores (ceil of 5 x the percentile rank, ties averaged) and the value tiers
    (rank by revenue, ties in row order) against pandas' own rank."""
    from clv_xl.analysis.customers import VALUE_TIERS, _score, _value_tiers

    rng = np.random.default_rng(seed)
    for values in (rng.integers(0, 7, 999).astype(float), rng.normal(size=500), np.zeros(4)):
        series = pd.Series(values, index=[f"C{i}" for i in range(len(values))])
        share = series.rank(method="average", pct=True)
        expected = np.clip(np.ceil(share * 5), 1, 5).astype("int64")
        assert _score(series).equals(expected)
        rank = series.rank(ascending=False, method="first")
        edge = round(0.2 * len(series))
        tier = np.select([rank <= edge, rank <= len(series) - edge], [0, 1], 2)
        assert _value_tiers(series).tolist() == [VALUE_TIERS[t] for t in tier]


def test_each_channel_segment_has_the_valuations_own_curves() -> None:
    """The channels' lifetimes are computed once (for the base's blend) and the Segments
    sheet's channel rows show the same, as a group of their own would have them."""
    from clv_xl.analysis.segments import segment_lifetimes
    from clv_xl.analysis.valuation import group_lifetime
    from clv_xl.templates.sample import sample_orders

    done = analyze(load_orders(sample_orders(customers=300, seed=2)), Params())
    channel, valuation, customers = done.channel, done.valuation, done.customers
    assert channel and len(valuation.by_channel) > 1
    lifetimes = segment_lifetimes(customers, done.orders.segments, valuation, channel)
    for name, curves in valuation.by_channel.items():
        assert lifetimes[channel, name] is curves
        alone = group_lifetime(valuation, (customers[channel].astype(str) == name).to_numpy())
        assert alone.lifetime_months == pytest.approx(curves.lifetime_months, rel=1e-12)
        shown = segment(done, channel, name)
        assert shown["lifetime_months"] == pytest.approx(curves.lifetime_months, rel=1e-12)
