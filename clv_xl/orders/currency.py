"""Currencies of order lines: the codes and symbols in amount cells ('€ 12,50', '12.50 USD') or
a currency column, and the rule that amounts in several currencies are never added up.

Several currencies are refused in one sentence naming them and a few rows, unless one is
chosen (``ColumnMap.only_currency``, the command's ``--currency``): then that currency's
rows are read and the others excluded with the reason "other currency". Rows whose
currency is not shown are taken to be in the one the others show.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from clv_xl.errors import InputError

SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY"}
# fmt: off
CODES = (
    "EUR", "USD", "GBP", "CHF", "JPY", "CNY", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "CAD",
    "AUD", "NZD", "INR", "BRL", "MXN", "ZAR", "TRY", "RON", "HKD", "SGD",
)
# fmt: on
#: A currency in an amount's text: a symbol, or a code standing apart from the digits.
IN_AMOUNT = (
    "["
    + re.escape("".join(SYMBOLS))
    + "]|(?i:(?<![A-Za-z])(?:"
    + "|".join(CODES)
    + ")(?![A-Za-z]))"
)
EXAMPLE_ROWS = 3


def currency_code(text: str) -> str | None:
    """'€' -> 'EUR', ' usd ' -> 'USD'; None for text that names no currency."""
    text = text.strip()
    if text in SYMBOLS:
        return SYMBOLS[text]
    return text.upper() if text.upper() in CODES else None


def amount_currencies(text: pd.Series) -> pd.Series:
    """The currency each text names (see IN_AMOUNT), or None (also for two different ones)."""
    found = text.str.findall(IN_AMOUNT).map(
        lambda names: (
            codes.pop() if len(codes := {currency_code(n) for n in names} - {None}) == 1 else None
        ),
        na_action="ignore",
    )
    return found.astype(object).where(found.notna(), None)


def other_currency(
    currency: pd.Series, candidate: np.ndarray, rows: np.ndarray, where: str, only: str | None
) -> np.ndarray:
    """Which candidate rows are in another currency than ``only``; InputError when the
    candidates are in several and none was chosen."""
    shown = currency.to_numpy(dtype=object)
    known = candidate & pd.notna(shown)
    codes = sorted(set(shown[known]))
    if only is None:
        if len(codes) > 1:
            examples = [
                f"{code} (rows {', '.join(map(str, rows[known & (shown == code)][:EXAMPLE_ROWS]))})"
                for code in codes
            ]
            raise InputError(
                f"The amounts in {where} are in {len(codes)} currencies, "
                f"{', '.join(examples[:-1])} and {examples[-1]}: they cannot be added up; "
                "choose one with --currency (the rows in the others are then left out), or "
                "convert them to one currency first."
            )
        return np.zeros(len(shown), dtype=bool)
    if not codes:  # the orders show no currency: nothing to choose from
        return np.zeros(len(shown), dtype=bool)
    chosen = currency_code(only)
    if chosen is None:
        raise InputError(
            f"The currency '{only}' is not a currency code clv_xl knows; use one of "
            f"{', '.join(CODES)}."
        )
    return known & (shown != chosen)
