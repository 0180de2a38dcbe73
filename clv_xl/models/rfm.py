"""From orders to the models' inputs: frequency, recency, T and monetary value per customer.

Conventions of the literature (Fader, Hardie & Lee 2005): a customer's purchase periods
are the distinct days with a purchase, so several orders on one day are one purchase of
their summed amount; ``frequency`` counts the purchase days after the first, ``recency``
is the time from the first to the last purchase day, ``T`` the time from the first
purchase day to the end of the calibration period, ``monetary_value`` the mean value of the
repeat purchases (0 without repeats). Refunds (negative amounts) are not purchases; an
order of amount 0 is (CDNOW has such transactions).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import pandas as pd

from clv_xl.models._errors import ModelDataError
from clv_xl.models.integer_keys import run_starts, stable_order
from clv_xl.models.units import days_per

COLUMNS = ("customer", "date", "amount")
AFTER_END = "dated after the observation end"
NOT_PURCHASE = "refund (negative amount), not a purchase"
LATE_FIRST = "customer's first purchase is after the calibration end"


def rfm_summary(
    orders: pd.DataFrame,
    time_unit: str,
    observation_end: Any,
    calibration_end: Any = None,
) -> pd.DataFrame:
    """One row per customer (index ``customer``) with frequency, recency, T, monetary_value.

    With ``calibration_end`` the model inputs describe the orders up to that day and the
    holdout columns the days after it up to ``observation_end``: frequency_holdout (purchase
    days), monetary_value_holdout (their mean value, 0 without any) and duration_holdout.
    Times are in ``time_unit``. Rows not used are counted by reason in
    ``summary.attrs["excluded_rows"]`` ({reason: rows}). The same as
    ``summarise(purchase_days(orders, observation_end), time_unit, calibration_end)``.
    """
    return summarise(purchase_days(orders, observation_end), time_unit, calibration_end)


def purchase_days(orders: pd.DataFrame, observation_end: Any) -> PurchaseDays:
    """The orders' purchases up to ``observation_end`` summed per customer and day (the
    literature's purchase periods), for one or more `summarise` (the whole history, and
    the calibration period of the holdout check)."""
    check_orders(orders)
    end = _day(observation_end, "observation end")
    day = orders["date"].dt.tz_localize(None).dt.normalize()
    after_end = day > end
    is_purchase = (orders["amount"] >= 0) & ~after_end
    days = _daily_purchases(orders["customer"], day, orders["amount"], is_purchase.to_numpy())
    return replace(
        days,
        end=end,
        excluded={
            AFTER_END: int(after_end.sum()),
            NOT_PURCHASE: int((~is_purchase & ~after_end).sum()),
        },
    )


def summarise(days: PurchaseDays, time_unit: str, calibration_end: Any = None) -> pd.DataFrame:
    """`rfm_summary` of the purchase days (see there), up to ``calibration_end`` when given."""
    unit = days_per(time_unit)
    end = days.end
    split = end if calibration_end is None else _day(calibration_end, "calibration end")
    if split > end:
        raise ModelDataError(
            f"The calibration end {split.date()} is after the observation end {end.date()}."
        )
    owner, date, amount = days.customer, days.day, days.amount
    begins = np.flatnonzero(np.diff(owner, prepend=-1))  # each customer's first purchase day
    late = date[begins] > np.datetime64(split.date(), "D")  # per customer, in code order
    excluded = {**days.excluded, LATE_FIRST: int(days.rows_per_customer[late].sum())}
    kept = ~late[owner]
    in_calibration = kept & (date <= np.datetime64(split.date(), "D"))
    owner_c, date_c, amount_c = owner[in_calibration], date[in_calibration], amount[in_calibration]
    starts = np.flatnonzero(np.diff(owner_c, prepend=-1))
    frequency = np.diff(starts, append=len(owner_c)) - 1
    first_day = date_c[starts]
    repeat_total = np.add.reduceat(amount_c, starts) - amount_c[starts] if len(starts) else []
    with np.errstate(divide="ignore", invalid="ignore"):
        monetary = np.where(frequency > 0, np.asarray(repeat_total) / frequency, 0.0)
    summary = pd.DataFrame(
        {
            "frequency": frequency.astype(float),
            "recency": (date_c[starts + frequency] - first_day).astype(np.int64) / unit,
            "T": (np.datetime64(split.date(), "D") - first_day).astype(np.int64) / unit,
            "monetary_value": monetary.astype(float),
        },
        index=pd.Index(days.names.take(owner_c[starts]), name="customer"),
    )
    if calibration_end is not None:
        in_holdout = kept & ~in_calibration
        customers = len(days.rows_per_customer)
        size = np.bincount(owner[in_holdout], minlength=customers)[owner_c[starts]]
        spent = np.bincount(owner[in_holdout], amount[in_holdout], customers)[owner_c[starts]]
        summary["frequency_holdout"] = size.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            summary["monetary_value_holdout"] = np.where(size > 0, spent / size, 0.0)
        summary["duration_holdout"] = (end - split).days / unit
    summary.attrs["excluded_rows"] = {reason: rows for reason, rows in excluded.items() if rows}
    return summary


@dataclass(frozen=True)
class PurchaseDays:
    """The purchases summed per customer and day, sorted by customer code then day, up to
    ``end`` (the observation end); ``excluded``: the order rows that are no purchase, by
    reason."""

    customer: np.ndarray  # codes, in sorted order of the names
    day: np.ndarray  # datetime64[D]
    amount: np.ndarray
    names: Any  # the customers, by code
    rows_per_customer: np.ndarray  # purchase rows per code
    end: pd.Timestamp = pd.Timestamp.max
    excluded: dict[str, int] = field(default_factory=dict)


def _daily_purchases(
    customer: pd.Series, day: pd.Series, amount: pd.Series, purchase: np.ndarray
) -> PurchaseDays:
    """The purchases summed per customer and day, sorted.

    Sorted on one integer key, customer number x days spanned + day number
    (:mod:`clv_xl.models.integer_keys`): several times faster than grouping on the two
    columns. Only the days with several purchases are summed (a pandas group
    sum over the rows in their own order).
    """
    codes, names = _sorted_codes(customer[purchase].to_numpy())
    rows_per_customer = np.bincount(codes, minlength=len(names))
    days = day[purchase].to_numpy(dtype="datetime64[D]")
    first = days.min() if len(days) else np.datetime64(0, "D")
    span = int((days.max() - first).astype(np.int64)) + 1 if len(days) else 1
    # The key built in place, each temporary let go of as soon as it is used: at millions of
    # rows every array of them is tens of MB.
    keys = codes.astype(np.int64, copy=False)  # a new array (see `_sorted_codes`)
    keys *= span
    keys += days.view(np.int64)
    keys -= first.astype(np.int64)
    del codes, days
    order = stable_order(keys)  # the same day's purchases stay in row order
    keys = keys[order]
    amounts = amount.to_numpy(dtype=np.float64)[purchase][order]
    del order
    begins = run_starts(keys)  # a new (customer, day)
    starts = np.flatnonzero(begins)
    sums = amounts[starts]
    several = np.diff(starts, append=len(keys)) > 1
    if several.any():
        group = np.cumsum(begins)
        group -= 1
        summed = several[group]
        sums[several] = pd.Series(amounts[summed]).groupby(group[summed]).sum().to_numpy()
    keys = keys[starts]
    return PurchaseDays(
        customer=keys // span,
        day=first + keys % span,
        amount=sums,
        names=names,
        rows_per_customer=rows_per_customer,
    )


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=True)``: each value's rank among the distinct values (64
    bits), and those in order. Whole numbers from 0 to about the count (customer codes, as
    `predict` gives them) are ranked by counting, without the hash table. The ranks are a
    new array, which the caller may change in place."""
    whole = values.dtype.kind == "i" or (values.dtype.kind == "u" and values.dtype.itemsize < 8)
    if whole and len(values) and 0 <= values.min() <= values.max() < 2 * len(values):
        present = np.bincount(values.astype(np.intp)) > 0
        rank = np.cumsum(present, dtype=np.intp) - 1
        return rank[values], np.flatnonzero(present).astype(values.dtype)
    codes, names = pd.factorize(values, sort=True)
    return codes.astype(np.intp), np.asarray(names)


def check_orders(orders: pd.DataFrame) -> None:
    """Raise ModelDataError naming the first row `rfm_summary` cannot use, if any."""
    missing = [name for name in COLUMNS if name not in orders.columns]
    if missing:
        raise ModelDataError(
            f"The orders need the columns {', '.join(COLUMNS)}; missing {', '.join(missing)}."
        )
    if not pd.api.types.is_datetime64_any_dtype(orders["date"]):
        raise ModelDataError(
            f"The orders' date column must hold dates; it holds {orders['date'].dtype}."
        )
    if not pd.api.types.is_numeric_dtype(orders["amount"]) or pd.api.types.is_bool_dtype(
        orders["amount"]
    ):
        raise ModelDataError(
            f"The orders' amount column must hold numbers; it holds {orders['amount'].dtype}."
        )
    problems = (
        (orders["customer"].isna(), "the customer is missing"),
        (orders["date"].isna(), "the date is missing"),
        # np.isfinite keeps a Series a Series (the stub says ndarray).
        (
            ~cast("pd.Series[bool]", np.isfinite(orders["amount"].astype(float))),
            "the amount is missing",
        ),
    )
    for bad, sentence in problems:
        if bad.any():
            raise ModelDataError(
                f"Orders row {bad.to_numpy().argmax() + 1} (index {bad.idxmax()!r}): {sentence}."
            )


def _day(value: Any, name: str) -> pd.Timestamp:
    try:
        day = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ModelDataError(f"The {name} must be a date; got {value!r}.") from None
    if pd.isna(day):
        raise ModelDataError(f"The {name} must be a date; got {value!r}.")
    return day.tz_localize(None).normalize()
