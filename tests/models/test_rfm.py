"""rfm_summary against a plain per-customer computation of the literature's definitions."""

import numpy as np
import pandas as pd
import pytest

from clv_xl.models import ModelDataError, rfm_summary
from clv_xl.models.rfm import AFTER_END, LATE_FIRST, NOT_PURCHASE, _daily_purchases


def random_orders(seed: int = 3, rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer": rng.choice([f"C{i}" for i in range(40)], rows),
            "date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 400, rows), unit="D")
            + pd.to_timedelta(rng.integers(0, 24, rows), unit="h"),
            "amount": np.round(rng.normal(50, 40, rows), 2),
        }
    )


def by_hand(orders: pd.DataFrame, unit_days: float, start: str, end: str) -> dict:
    """Each customer's purchase days up to ``end``, one loop at a time."""
    result = {}
    for customer, rows in orders.groupby("customer"):
        days: dict[pd.Timestamp, float] = {}
        for date, amount in zip(rows["date"], rows["amount"], strict=True):
            day = date.normalize()
            if amount >= 0 and day <= pd.Timestamp(end):
                days[day] = days.get(day, 0.0) + amount
        calibration = sorted(day for day in days if day <= pd.Timestamp(start))
        if not calibration:
            continue
        first = calibration[0]
        repeat = [days[day] for day in calibration[1:]]
        later = [days[day] for day in days if day > pd.Timestamp(start)]
        result[customer] = (
            len(repeat),
            (calibration[-1] - first).days / unit_days,
            (pd.Timestamp(start) - first).days / unit_days,
            sum(repeat) / len(repeat) if repeat else 0.0,
            len(later),
            sum(later) / len(later) if later else 0.0,
        )
    return result


def test_summary_matches_the_definitions_with_a_holdout() -> None:
    orders = random_orders()
    summary = rfm_summary(orders, "weeks", "2024-12-31", calibration_end="2024-08-31")
    expected = by_hand(orders, 7.0, "2024-08-31", "2024-12-31")
    assert sorted(summary.index) == sorted(expected)
    columns = [
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "frequency_holdout",
        "monetary_value_holdout",
    ]
    for customer, values in expected.items():
        assert summary.loc[customer, columns].tolist() == pytest.approx(values, rel=1e-12)
    assert (
        summary["duration_holdout"]
        == (pd.Timestamp("2024-12-31") - pd.Timestamp("2024-08-31")).days / 7
    ).all()


def test_every_row_is_used_or_counted_as_excluded() -> None:
    orders = random_orders()
    summary = rfm_summary(orders, "months", "2024-12-31", calibration_end="2024-08-31")
    excluded = summary.attrs["excluded_rows"]
    end, split = pd.Timestamp("2024-12-31"), pd.Timestamp("2024-08-31")
    day = orders["date"].dt.normalize()
    assert excluded[AFTER_END] == (day > end).sum()
    assert excluded[NOT_PURCHASE] == ((orders["amount"] < 0) & (day <= end)).sum()
    purchases = orders[(orders["amount"] >= 0) & (day <= end)]
    first = purchases.groupby("customer")["date"].transform("min").dt.normalize()
    assert excluded[LATE_FIRST] == (first > split).sum()
    used = purchases[purchases["customer"].isin(summary.index)]
    assert len(used) + sum(excluded.values()) == len(orders)


def test_same_day_orders_are_one_purchase_and_months_are_365_25_over_12_days() -> None:
    orders = pd.DataFrame(
        {
            "customer": ["A", "A", "A", "A"],
            "date": pd.to_datetime(
                ["2024-01-01", "2024-03-01 09:00", "2024-03-01 17:00", "2024-03-05"],
                format="ISO8601",
            ),
            "amount": [10.0, 20.0, 5.0, -8.0],
        }
    )
    row = rfm_summary(orders, "months", "2024-12-31").loc["A"]
    assert row["frequency"] == 1 and row["monetary_value"] == 25.0
    assert row["recency"] == pytest.approx(60 / (365.25 / 12))
    assert row["T"] == pytest.approx(365 / (365.25 / 12))


def test_daily_purchases_sum_each_customers_day_and_come_out_sorted() -> None:
    """Rows in no order, many days with several purchases."""
    orders = random_orders(seed=5, rows=3000)
    day = orders["date"].dt.normalize()
    purchase = (orders["amount"] >= 0).to_numpy()
    daily = _daily_purchases(orders["customer"], day, orders["amount"], purchase)
    sums: dict[tuple[str, pd.Timestamp], float] = {}
    for customer, date, amount, bought in zip(
        orders["customer"], day, orders["amount"], purchase, strict=True
    ):
        if bought:
            sums[customer, date] = sums.get((customer, date), 0.0) + amount
    assert len(sums) < purchase.sum()  # some days have several purchases
    expected = sorted(sums.items())
    names, days = daily.names.take(daily.customer), pd.to_datetime(daily.day)
    assert list(zip(names, days, strict=True)) == [k for k, _ in expected]
    assert daily.amount.tolist() == pytest.approx([v for _, v in expected], rel=1e-12)
    rows = orders.loc[purchase, "customer"].value_counts().sort_index()
    assert daily.rows_per_customer.tolist() == rows.tolist()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"customer": [None, "B"]}, "Orders row 1 .index 0.: the customer is missing."),
        (
            {"date": [pd.Timestamp("2024-01-01"), pd.NaT]},
            "Orders row 2 .index 1.: the date is missing.",
        ),
        ({"amount": [1.0, np.nan]}, "Orders row 2 .index 1.: the amount is missing."),
        ({"date": ["2024-01-01", "2024-01-02"]}, "date column must hold dates"),
    ],
)
def test_bad_orders_name_the_row(change: dict, message: str) -> None:
    orders = pd.DataFrame(
        {
            "customer": ["A", "B"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "amount": [1.0, 2.0],
        }
    )
    for column, values in change.items():
        orders[column] = values
    with pytest.raises(ModelDataError, match=message):
        rfm_summary(orders, "days", "2024-12-31")


def test_unknown_time_unit_and_late_calibration_end() -> None:
    orders = random_orders()
    with pytest.raises(ModelDataError, match="time unit must be one of"):
        rfm_summary(orders, "month", "2024-12-31")
    with pytest.raises(ModelDataError, match="calibration end 2025-02-01 is after"):
        rfm_summary(orders, "days", "2024-12-31", calibration_end="2025-02-01")


@pytest.mark.parametrize(
    ("offset", "dtype"),
    [(0, np.int64), (0, np.int32), (0, np.uint32), (0, np.uint64), (10**12, np.int64),
     (-7, np.int64)],
)  # fmt: skip
def test_whole_number_customers_are_summarised_as_any_others(offset: int, dtype: type) -> None:
    """Customer codes 0 to n (ranked by counting), large or negative whole numbers and
    unsigned 64-bit ones (ranked by hashing) and the same customers as text: one summary,
    in the customers' order, the customers as the numbers they were."""
    orders = random_orders(seed=8)
    number = orders["customer"].str[1:].astype(np.int64)  # C0 .. C39 -> 0 .. 39
    as_text = rfm_summary(
        orders.assign(customer=number.map("{:06d}".format)), "weeks", "2025-02-05"
    )
    ids = (number + offset).astype(dtype)
    as_numbers = rfm_summary(orders.assign(customer=ids), "weeks", "2025-02-05")
    assert list(as_numbers.index) == [int(name) + offset for name in as_text.index]
    assert as_numbers.index.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(as_numbers.to_numpy(), as_text.to_numpy())
