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
    """The currency each text names (see IN_AMOUNT) as categories of codes; missing where it
    names none, or two different ones."""
    named = text.str.contains(r"[^0-9 .,+\-()%]")  # digits, signs and spaces name none
    found = (
        text[named]
        .str.findall(IN_AMOUNT)
        .map(
            lambda names: (
                codes.pop()
                if len(codes := {currency_code(n) for n in names} - {None}) == 1
                else None
            ),
            na_action="ignore",
        )
    )
    return pd.Series(pd.Categorical(found.reindex(text.index)), index=text.index)


def column_currencies(text: pd.Series) -> pd.Series:
    """The currency code each text of a currency column names, as categories; missing where it
    names none."""
    return pd.Series(pd.Categorical(text.map(currency_code, na_action="ignore")), index=text.index)


def other_currency(
    currency: pd.Series, candidate: np.ndarray, rows: np.ndarray, where: str, only: str | None
) -> np.ndarray:
    """Which candidate rows are in another currency than ``only`` (``currency``: each row's
    code, missing where none is shown); InputError when the candidates are in several and
    none was chosen."""
    shown = pd.Categorical(currency)
    known = candidate & (shown.codes >= 0)
    rows_of = np.bincount(shown.codes[known], minlength=len(shown.categories))
    position = {str(shown.categories[int(i)]): int(i) for i in np.flatnonzero(rows_of)}
    codes = sorted(position)
    if only is None:
        if len(codes) > 1:
            shown_in = {code: rows[known & (shown.codes == position[code])] for code in codes}
            examples = [
                f"{code} (rows {', '.join(map(str, shown_in[code][:EXAMPLE_ROWS]))})"
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
    return known & (shown.codes != position.get(chosen, -1))
