"""The formula library: seed examples, closed forms against explicit sums, properties, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clv_xl.errors import DIV0, NUM, VALUE, FormulaError
from clv_xl.functions import formulas as f


def explicit_sum(
    margin, retention, rate, periods, acquisition_cost=0.0, retention_cost=0.0, timing="end"
):
    """Period by period: sum of (m - rc) r^t / (1 + i)^t - AC."""
    ts = range(1, periods + 1) if timing == "end" else range(periods)
    total = sum((margin - retention_cost) * retention**t / (1 + rate) ** t for t in ts)
    return total - acquisition_cost


class TestSeedExamples:
    def test_clv_200_eur_30_pct_margin_6_pct_churn_is_1000(self):
        assert f.clv(200, 0.30, 0.06) == pytest.approx(1000)

    def test_one_pct_monthly_churn_is_100_months(self):
        assert f.customer_lifetime(0.01) == pytest.approx(100)

    def test_seven_purchases_a_year_of_60_is_35_a_month(self):
        assert f.monthly_revenue(7, 60) == pytest.approx(35)

    def test_buy_45_sell_60_is_25_pct_margin_and_33_pct_markup(self):
        assert f.gross_margin(60, 45) == pytest.approx(0.25)
        assert f.markup(60, 45) == pytest.approx(1 / 3)

    def test_customer_value_times_lifetime(self):
        value = f.customer_value(60, 7)  # EUR 60 x 7 purchases a year
        assert value == pytest.approx(420)
        assert f.clv_from_lifetime(value, 3) == pytest.approx(1260)

    def test_clv_is_customer_value_times_lifetime(self):
        """Seed 000 and seed 003 are the same formula when value is the margin per period."""
        margin_per_month = 200 * 0.3
        lifetime = f.customer_lifetime(0.06)
        assert f.clv_from_lifetime(margin_per_month, lifetime) == pytest.approx(
            f.clv(200, 0.3, 0.06)
        )


class TestDiscounted:
    @pytest.mark.parametrize("timing", ["end", "begin"])
    @pytest.mark.parametrize("periods", [1, 5, 36])
    def test_finite_horizon_equals_explicit_sum(self, timing, periods):
        got = f.clv_discounted(
            50, 0.85, 0.01, periods=periods, acquisition_cost=120, retention_cost=4, timing=timing
        )
        assert got == pytest.approx(explicit_sum(50, 0.85, 0.01, periods, 120, 4, timing))

    def test_endless_closed_forms(self):
        m, r, i = 100.0, 0.8, 0.1
        assert f.clv_discounted(m, r, i, timing="end") == pytest.approx(m * r / (1 + i - r))
        assert f.clv_discounted(m, r, i, timing="begin") == pytest.approx(m * (1 + i) / (1 + i - r))
        assert f.clv_discounted(m, r, i, timing="end") == pytest.approx(explicit_sum(m, r, i, 2000))

    def test_the_default_counts_the_first_margin_now_as_the_report_does(self):
        """One discounting convention: the report's m (1 + i) / (1 + i - r)."""
        m, r, i = 100.0, 0.8, 0.1
        assert f.clv_discounted(m, r, i) == pytest.approx(m * (1 + i) / (1 + i - r))
        assert f.clv_discounted(m, r, i) == pytest.approx(
            explicit_sum(m, r, i, 2000, timing="begin")
        )

    def test_no_discount_begin_timing_is_the_simple_clv(self):
        assert f.clv_discounted(200 * 0.3, 1 - 0.06, 0.0, timing="begin") == pytest.approx(1000)

    def test_full_retention_no_discount_finite_horizon_is_margin_times_periods(self):
        assert f.clv_discounted(10, 1.0, 0.0, periods=24) == pytest.approx(240)

    def test_endless_full_retention_without_discount_is_num(self):
        with pytest.raises(FormulaError, match="retention must be below 1 \\+ discount_rate") as e:
            f.clv_discounted(10, 1.0, 0.0)
        assert e.value.excel_error == NUM

    def test_bad_timing_word(self):
        with pytest.raises(FormulaError, match="timing must be 'begin' or 'end'"):
            f.clv_discounted(10, 0.9, 0.01, timing="middle")

    def test_zero_periods_leaves_minus_acquisition_cost(self):
        assert f.clv_discounted(10, 0.9, 0.01, periods=0, acquisition_cost=5) == pytest.approx(-5)


class TestRatesAndRatios:
    def test_convert_rate_is_survival_consistent(self):
        assert f.convert_rate(0.05, 1, 12) == pytest.approx(1 - 0.95**12)
        assert f.convert_rate(0.05, 1, 12) != pytest.approx(0.60)

    def test_churn_and_retention_rates(self):
        assert f.churn_rate(200, 12) == pytest.approx(0.06)
        assert f.retention_rate(200, 12) == pytest.approx(0.94)

    def test_ltv_cac_payback_breakeven(self):
        assert f.ltv_cac(1000, 250) == pytest.approx(4)
        assert f.cac_payback(300, 200, 0.3) == pytest.approx(5)  # 300 / (200 x 30%) months
        assert f.breakeven_lifetime(300, 60, 10) == pytest.approx(6)

    def test_nrr_and_grr(self):
        assert f.nrr(1000, 150, 50, 100) == pytest.approx(1.0)
        assert f.grr(1000, 50, 100) == pytest.approx(0.85)

    def test_grr_ignores_growth_so_it_is_capped_at_100_pct(self):
        assert f.grr(1000, -300, 0) == pytest.approx(1.0)


class TestBroadcasting:
    def test_arrays_broadcast_like_numpy(self):
        got = f.clv([100, 200], 0.3, [[0.05], [0.1]])
        assert got.shape == (2, 2)
        assert got[1, 1] == pytest.approx(200 * 0.3 / 0.1)

    def test_scalars_give_a_float(self):
        assert isinstance(f.clv(200, 0.3, 0.06), float)

    def test_sizes_that_do_not_broadcast(self):
        with pytest.raises(FormulaError, match="ranges of different sizes"):
            f.clv([1, 2, 3], [0.3, 0.3], 0.06)


class TestBadArguments:
    @pytest.mark.parametrize(
        ("call", "name", "error"),
        [
            (lambda: f.clv(200, 0.3, 0), "churn", DIV0),
            (lambda: f.clv(200, 0.3, -0.1), "churn", NUM),
            (lambda: f.clv(200, 0.3, 6), "churn", NUM),  # 6 typed for 6%
            (lambda: f.clv(200, 30, 0.06), "margin", NUM),  # 30 typed for 30%
            (lambda: f.clv(-200, 0.3, 0.06), "revenue", NUM),
            (lambda: f.clv("200", 0.3, 0.06), "revenue", VALUE),
            (lambda: f.clv(None, 0.3, 0.06), "revenue", VALUE),
            (lambda: f.clv(True, 0.3, 0.06), "revenue", VALUE),
            (lambda: f.clv(math.nan, 0.3, 0.06), "revenue", VALUE),
            (lambda: f.gross_margin(0, 10), "price", DIV0),
            (lambda: f.markup(10, 0), "cost", DIV0),
            (lambda: f.churn_rate(0, 0), "customers_at_start", DIV0),
            (lambda: f.convert_rate(1.5, 1, 12), "rate", NUM),
            (lambda: f.ltv_cac(1000, 0), "cac", DIV0),
            (lambda: f.clv_discounted(10, 1.2, 0.1), "retention", NUM),
        ],
    )
    def test_names_the_argument_and_gives_the_excel_error(self, call, name, error):
        with pytest.raises(FormulaError, match=rf"^{name} must be") as raised:
            call()
        assert raised.value.excel_error == error
        assert "got" in str(raised.value)

    def test_a_result_beyond_floating_point_is_num(self):
        with pytest.raises(FormulaError, match="too large") as raised:
            f.clv(1e308, 1, 1e-300)
        assert raised.value.excel_error == NUM
        assert f.clv.evaluate([[1e308], [200]], 1, [[1e-300], [0.5]]).cells() == [
            ["#NUM!"],
            [pytest.approx(400)],
        ]

    def test_names_the_position_in_an_array(self):
        with pytest.raises(FormulaError, match=r"got 0\.0 at position \(1,\)"):
            f.clv(200, 0.3, [0.06, 0.0, 0.1])

    def test_impossible_combinations(self):
        with pytest.raises(FormulaError, match="customers_lost cannot exceed"):
            f.churn_rate(10, 12)
        with pytest.raises(FormulaError, match="revenue x margin must be above 0") as e:
            f.cac_payback(100, 0, 0.3)
        assert e.value.excel_error == DIV0
        with pytest.raises(FormulaError, match="must exceed cost_to_serve"):
            f.breakeven_lifetime(100, 10, 10)
        with pytest.raises(FormulaError, match="cannot exceed start_revenue"):
            f.nrr(100, 0, 60, 50)

    def test_lenient_evaluation_marks_only_the_bad_cells(self):
        result = f.clv.evaluate([[200], [100], ["x"], [None]], 0.3, [[0.06], [0], [0.06], [0.06]])
        assert result.cells() == [[pytest.approx(1000.0)], ["#DIV/0!"], ["#VALUE!"], ["#VALUE!"]]


rates = st.floats(0.001, 1.0)
margins = st.floats(0.01, 1.0)
money = st.floats(0.01, 1e6)


@given(money, margins, margins, rates)
def test_clv_rises_with_margin(revenue, m1, m2, churn):
    low, high = sorted((m1, m2))
    assert f.clv(revenue, low, churn) <= f.clv(revenue, high, churn)


@given(money, margins, rates, rates)
def test_clv_falls_with_churn(revenue, margin, c1, c2):
    low, high = sorted((c1, c2))
    assert f.clv(revenue, margin, high) <= f.clv(revenue, margin, low)


@given(money, st.floats(0.01, 0.99), st.floats(1e-4, 0.5))
def test_discounting_lowers_the_value_and_vanishing_rates_restore_it(margin, retention, rate):
    undiscounted = f.clv_discounted(margin, retention, 0.0)
    assert f.clv_discounted(margin, retention, rate) < undiscounted
    assert f.clv_discounted(margin, retention, 1e-12) == pytest.approx(undiscounted, rel=1e-6)


@given(st.floats(0.0, 0.9), st.floats(1, 12), st.floats(1, 12))
def test_convert_rate_round_trips(rate, a, b):
    there = f.convert_rate(rate, a, b)
    assert f.convert_rate(there, b, a) == pytest.approx(rate, abs=1e-6)


def test_every_formula_is_listed_once():
    assert len({formula.__name__ for formula in f.ALL}) == len(f.ALL) == 16


def test_vectorised_result_matches_scalar_calls():
    revenue = np.array([10.0, 55.5, 300.0])
    churn = np.array([0.02, 0.5, 1.0])
    expected = [f.clv(r, 0.4, c) for r, c in zip(revenue, churn, strict=True)]
    np.testing.assert_allclose(f.clv(revenue, 0.4, churn), expected)
