"""The bundled sample orders: reproducible, realistic, and written the way Excel users expect."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from clv_xl.orders.load import load_orders
from clv_xl.templates import sample
from clv_xl.templates.sample import (
    CHANNEL_ORDER_VALUES,
    CHANNELS,
    COLUMNS,
    COUNTRIES,
    DATE_FORMAT,
    MONEY_FORMAT,
    sample_orders,
    write_sample_orders,
)

START = dt.date(2023, 1, 1)
END = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    return sample_orders()


def test_same_seed_same_orders_and_another_seed_other_orders(orders: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(orders, sample_orders(seed=7))
    assert not orders.equals(sample_orders(seed=8))


def test_shape_and_types(orders: pd.DataFrame) -> None:
    assert tuple(orders.columns) == COLUMNS
    assert orders["Customer ID"].nunique() == 3000  # every customer bought at least once
    assert 15_000 < len(orders) < 45_000
    assert orders["Order ID"].is_unique
    assert orders["Order date"].is_monotonic_increasing
    assert orders["Order date"].min() >= pd.Timestamp(START)
    assert orders["Order date"].max() < pd.Timestamp(END)
    assert set(orders["Channel"]) == set(CHANNELS)
    assert set(orders["Country"]) == set(COUNTRIES)
    assert orders["Order date"].dtype == "datetime64[ns]"
    assert (orders["Order date"] == orders["Order date"].dt.normalize()).all()
    assert orders[["Amount", "Cost"]].dtypes.tolist() == [np.float64, np.float64]
    per_customer = orders.groupby("Customer ID")[["Channel", "Country"]].nunique()
    assert (per_customer == 1).all().all()  # one channel and one country per customer


def test_margins_are_25_to_45_percent(orders: pd.DataFrame) -> None:
    sales = orders[orders["Amount"] > 0]
    margin = (sales["Amount"] - sales["Cost"]) / sales["Amount"]
    cent = 0.005 / sales["Amount"]  # costs are rounded to cents
    assert (margin >= 0.25 - cent).all() and (margin <= 0.45 + cent).all()
    assert 0.33 < margin.mean() < 0.37


def test_refunds_refer_to_an_earlier_order_of_the_same_customer(orders: pd.DataFrame) -> None:
    refunds = orders[orders["Amount"] < 0]
    assert 0.01 < len(refunds) / len(orders) < 0.03
    assert refunds["Order ID"].str.startswith("CR-").all()
    original = orders.set_index("Order ID").loc[refunds["Order ID"].str.replace("CR-", "SO-")]
    assert (original["Customer ID"].to_numpy() == refunds["Customer ID"].to_numpy()).all()
    assert (original["Order date"].to_numpy() < refunds["Order date"].to_numpy()).all()
    share = -refunds["Amount"].to_numpy() / original["Amount"].to_numpy()
    assert np.all((np.abs(share - 1) < 0.01) | (np.abs(share - 0.5) < 0.01))
    assert (refunds["Cost"] < 0).all()


def test_customers_arrive_over_time_buy_at_different_rates_and_drop_out(
    orders: pd.DataFrame,
) -> None:
    sales = orders[orders["Amount"] > 0]
    first = sales.groupby("Customer ID")["Order date"].min().dt.year.value_counts()
    assert first[2023] > 300 and first[2024] > first[2023] and first[2025] > first[2023]
    purchases = sales.groupby("Customer ID").size()
    assert (purchases == 1).mean() > 0.1 and (purchases >= 20).mean() > 0.05
    early = sales.groupby("Customer ID")["Order date"].agg(["min", "max"])
    early = early[early["min"] < pd.Timestamp("2023-07-01")]
    silent = early["max"] < pd.Timestamp("2025-01-01")  # no purchase in the last year
    assert 0.2 < silent.mean() < 0.9


def test_order_values_depend_on_the_channel(orders: pd.DataFrame) -> None:
    sales = orders[orders["Amount"] > 0]
    median = sales.groupby("Channel")["Amount"].median()
    expected_order = [CHANNELS[i] for i in np.argsort(CHANNEL_ORDER_VALUES)]
    assert median.sort_values().index.tolist() == expected_order


def test_repeat_purchases_of_a_live_customer_are_a_poisson_process() -> None:
    """Never dropping out, a customer's repeats in a window are Poisson(rate x window) and
    uniformly spread over it."""
    rng = np.random.default_rng(1)
    customers, rate, window = 20_000, 0.01, 1000.0
    owner, day = sample._purchase_days(
        rng,
        np.zeros(customers),
        np.full(customers, window),
        np.full(customers, rate),
        np.full(customers, 10**6),
    )
    repeats = np.bincount(owner, minlength=customers) - 1
    assert repeats.mean() == pytest.approx(rate * window, rel=0.02)
    assert repeats.var() == pytest.approx(rate * window, rel=0.05)
    repeat_days = day[customers:]
    assert repeat_days.min() >= 0 and repeat_days.max() < window
    assert repeat_days.mean() == pytest.approx(window / 2, rel=0.01)
    assert np.histogram(repeat_days, bins=4, range=(0, window))[0] / len(repeat_days) == (
        pytest.approx([0.25] * 4, abs=0.01)
    )


def test_a_customer_who_drops_out_stops_buying() -> None:
    rng = np.random.default_rng(2)
    owner, _ = sample._purchase_days(
        rng, np.zeros(3), np.full(3, 1000.0), np.full(3, 0.05), np.array([0, 2, 1000])
    )
    assert np.bincount(owner).tolist()[:2] == [1, 3]


def test_the_workbook_has_one_orders_sheet_with_dates_and_euros(tmp_path: Path) -> None:
    frame = sample_orders(customers=40, seed=1)
    path = write_sample_orders(tmp_path / "sample.xlsx", customers=40, seed=1)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Orders"]
    sheet = workbook["Orders"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert len(rows) == len(frame) + 1
    assert rows[1][:2] == (frame["Order ID"][0], frame["Customer ID"][0])
    assert rows[1][2] == frame["Order date"][0].to_pydatetime()
    assert [row[3] for row in rows[1:]] == frame["Amount"].tolist()
    assert sheet["C2"].is_date and sheet["C2"].number_format == DATE_FORMAT
    assert sheet["D2"].number_format == MONEY_FORMAT == sheet["E2"].number_format
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold


def test_the_dutch_csv_reads_back_the_same(tmp_path: Path) -> None:
    frame = sample_orders(customers=40, seed=1)
    path = write_sample_orders(tmp_path / "sample.csv", customers=40, seed=1)
    text = path.read_text(encoding="utf-8-sig")
    assert text.startswith("Order ID;Customer ID;Order date;Amount;Cost;Channel;Country")
    day = frame["Order date"][0]
    assert f"{day:%d-%m-%Y};" in text.splitlines()[1]
    orders = load_orders(path)
    assert orders.rows_used == len(frame)
    assert orders.lines["amount"].tolist() == frame["Amount"].tolist()
    assert (orders.lines["date"] == frame["Order date"]).all()
