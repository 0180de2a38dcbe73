"""Row accounting: why a row is left out (the first reason that applies), duplicate orders,
the margin of each used row, and totals that would overflow.

Every input row is used or excluded with one of REASONS; an `Exclusion` counts the rows of
one reason and keeps the first sheet row numbers as examples.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_xl.errors import InputError
from clv_xl.orders.currency import amount_currencies, column_currencies
from clv_xl.orders.headers import header_key
from clv_xl.orders.values import by_unique, is_text, parse_column, texts


@dataclass(frozen=True)
class Exclusion:
    """Rows (or cells) left out for one reason: how many, and the first sheet row numbers."""

    reason: str
    count: int
    examples: tuple[int, ...]


# ----------------------------------------------------------------------------------------------
# Exclusion reasons and limits

EMPTY_ROW = "empty row"
MISSING_CUSTOMER = "missing customer"
MISSING_DATE = "missing date"
UNREADABLE_DATE = "unreadable date"
FUTURE_DATE = "future date"
MISSING_AMOUNT = "missing amount"
NON_NUMERIC_AMOUNT = "non-numeric amount"
NON_FINITE_AMOUNT = "non-finite amount"
OTHER_CURRENCY = "other currency"
DUPLICATE_ORDER_ID = "duplicate order id"
#: Every exclusion reason, in the order a row is checked (a row gets the first that applies).
REASONS = (
    EMPTY_ROW,
    MISSING_CUSTOMER,
    MISSING_DATE,
    UNREADABLE_DATE,
    FUTURE_DATE,
    MISSING_AMOUNT,
    NON_NUMERIC_AMOUNT,
    NON_FINITE_AMOUNT,
    OTHER_CURRENCY,
    DUPLICATE_ORDER_ID,
)
EXAMPLE_ROWS = 5


def row_reasons(
    cells: pd.DataFrame,
    filled: dict[str, np.ndarray],
    roles: dict[str, str],
    customer: pd.Series,
    date: pd.Series,
    amount: np.ndarray,
    as_of: dt.date,
) -> np.ndarray:
    """Each row's exclusion reason as an index into REASONS (the first that applies), or -1;
    the currency and the order ids are checked after these (see `clv_xl.orders.load`)."""
    checks = {
        EMPTY_ROW: ~np.logical_or.reduce(list(filled.values())),
        MISSING_CUSTOMER: customer.isna().to_numpy(),
        MISSING_DATE: ~filled[roles["date"]],
        UNREADABLE_DATE: date.isna().to_numpy(),
        FUTURE_DATE: (date > pd.Timestamp(as_of).normalize()).to_numpy(),
        MISSING_AMOUNT: ~filled[roles["amount"]],
        NON_NUMERIC_AMOUNT: np.isnan(amount),
        NON_FINITE_AMOUNT: ~np.isfinite(amount),
    }
    return np.select(list(checks.values()), [REASONS.index(name) for name in checks], -1)


def row_currencies(cells: pd.DataFrame, roles: dict[str, str]) -> pd.Series:
    """Each row's currency code, from the currency column or the amount's text (categories,
    missing where none is shown)."""
    if "currency" in roles:
        return by_unique(parse_column(cells[roles["currency"]], texts), column_currencies)
    return parse_column(cells[roles["amount"]], _amount_currency)


def _amount_currency(values: pd.Series) -> pd.Series:
    if is_text(values.dtype):
        return by_unique(values, amount_currencies)
    none = pd.Categorical.from_codes(np.full(len(values), -1), pd.Index([], dtype="str"))
    return pd.Series(none, index=values.index)


def repeated_orders(
    cells: pd.DataFrame,
    order: tuple[np.ndarray, int],
    customer: pd.Series,
    date: pd.Series,
    refund: np.ndarray,
    candidate: np.ndarray,
) -> np.ndarray:
    """Candidate rows that repeat an earlier candidate row in every column (a double export)
    or reuse an earlier row's order id (``order``: its codes and their number, see
    `clv_xl.orders.values.text_codes`) for another customer or
    date. A refund may carry its order's id on a later date (shops export them so); another
    customer it may not."""
    codes, distinct = order
    picked = np.flatnonzero(candidate)
    key = np.where(codes[picked] < 0, distinct, codes[picked])  # the blanks as one more id
    shared = picked[np.bincount(key, minlength=distinct + 1)[key] > 1]  # ids seen again
    repeated = np.zeros(len(cells), dtype=bool)
    repeated[shared] = cells.iloc[shared].duplicated(keep="first").to_numpy()
    with_id = shared[codes[shared] >= 0]
    if len(with_id):
        keys = pd.DataFrame(
            {
                "order": codes[with_id],
                "customer": customer.iloc[with_id].array,
                "date": date.iloc[with_id].array,
            }
        )
        first = keys.groupby("order", sort=False)[["customer", "date"]].transform("first")
        later = (keys["date"] != first["date"]).to_numpy(dtype=bool) & ~refund[with_id]
        conflict = (keys["customer"] != first["customer"]).to_numpy(dtype=bool) | later
        repeated[with_id] |= conflict
    return repeated


#: Margin headers that name money, not a rate: their values are currency whatever their size.
MONEY_MARGINS = frozenset(
    {"marginamount", "margebedrag", "grossprofit", "brutowinst", "profit", "winst",
     "contributionmargin", "dekkingsbijdrage"}
)  # fmt: skip
PERCENT_WORDS = ("percent", "percentage", "procent", "pct")


def margin_amount(
    amount: np.ndarray, optional: dict[str, np.ndarray], used: np.ndarray, margin_header: str
) -> np.ndarray:
    """Currency margin of each used row: amount - cost; or a margin column, read as
    a fraction of the amount when every used value lies in [-1, 1] ('35%' text is 0.35);
    as a percentage when its header says so ('Marge %', 'Margin percent') or every value
    is 0 or lies between 1 and 100 (either sign) and the header does not name money ('Gross
    profit'); else as currency."""
    amount = amount[used]
    if "cost" in optional:
        with np.errstate(over="ignore"):  # an overflow is refused by `check_totals`
            return amount - optional["cost"][used]
    if "margin" in optional:
        margin = optional["margin"][used]
        readable = np.abs(margin[np.isfinite(margin)])
        key = header_key(margin_header)
        if np.all(readable <= 1):
            return margin * amount
        if "%" in margin_header or any(word in key for word in PERCENT_WORDS):
            return margin / 100 * amount
        in_percent = (readable == 0) | ((readable >= 1) & (readable <= 100))
        if np.all(in_percent) and key not in MONEY_MARGINS:
            return margin / 100 * amount
        return margin
    return np.full(len(amount), np.nan)


def check_totals(lines: pd.DataFrame, where: str) -> None:
    """InputError when the amounts or margins of the used rows add up beyond a float64
    (about 1.8e308): no total of them could be shown."""
    for column, label in (("amount", "amounts"), ("margin_amount", "margins")):
        values = lines[column].to_numpy()
        if _bounded_total(values):
            continue
        finite = np.isfinite(values)
        with np.errstate(over="ignore"):
            total = np.abs(values[finite]).sum()
        if np.isfinite(total) and np.isfinite(values[~np.isnan(values)]).all():
            continue
        size = np.where(finite, np.abs(values), np.inf)
        large = size > np.finfo(np.float64).max / len(values)  # the rows that can overflow
        rows = ", ".join(str(row) for row in lines["row"].to_numpy()[large][:EXAMPLE_ROWS])
        raise InputError(
            f"The {label} in {where} add up beyond the largest number a computer holds "
            f"(about 1.8e308), so they have no total; check rows {rows}."
        )


def _bounded_total(values: np.ndarray) -> bool:
    """Whether the values (NaN left out) add up to a finite total because none is infinite
    and their count times the largest size stays below the largest float64: two passes
    that copy nothing (the exact test, in `check_totals`, copies the values)."""
    if not len(values):
        return True
    low, high = np.fmin.reduce(values), np.fmax.reduce(values)  # NaN only when all are NaN
    largest = max(-low, high)
    return bool(np.isnan(largest) or largest <= np.finfo(np.float64).max / len(values))


def finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def exclusion_of(reason: str, mask: np.ndarray, rows: np.ndarray) -> Exclusion:
    return Exclusion(reason, int(mask.sum()), tuple(int(r) for r in rows[mask][:EXAMPLE_ROWS]))


def describe(exclusion: Exclusion) -> str:
    rows = ", ".join(str(row) for row in exclusion.examples)
    count = f"{exclusion.count} row" + ("s" if exclusion.count > 1 else "")
    example = "row" + ("s" if len(exclusion.examples) > 1 else "")
    return f"{exclusion.reason} in {count} ({example} {rows})"
