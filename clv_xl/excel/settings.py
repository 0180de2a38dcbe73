"""The Settings sheet: its one layout, and reading it back into :class:`Params`.

The orders template writes the sheet from :data:`SETTINGS` (label in column A,
value in column B, unit in C, note in D; each value cell carries the defined
name), and the ribbon's ``segment_report`` reads the sheet's used range with
:func:`settings_from_rows`. A setting is found by its label in column A (any
case), so rows may move; a blank value means the default. Defaults come from
:class:`clv_xl.analysis.params.Params`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from openpyxl.utils import get_column_letter

from clv_xl.analysis.params import DEFAULT_MARGIN, Params
from clv_xl.errors import InputError
from clv_xl.functions.excel_dates import EXCEL_EPOCH

SHEET = "Settings"
LABEL_COLUMN = 1  # A
VALUE_COLUMN = 2  # B
HEADINGS = ("Setting", "Value", "Unit", "Notes")
#: Day 0 of Excel's (1900, Windows) serial dates: serial 45322 is 2024-01-31. Excel counts a
#: 29 February 1900 that never was, so serials before 61 (1900-03-01) are not read as dates.
FIRST_SERIAL = 61
SEGMENT_COLUMNS = "segment_columns"  # the one setting that is not a Params field

Kind = Literal["fraction", "whole", "date", "text", "names"]
_DEFAULTS = Params()


@dataclass(frozen=True)
class Setting:
    """One row of the Settings sheet; ``field`` is the Params field it sets."""

    label: str
    name: str  # the workbook's defined name of the value cell
    field: str
    kind: Kind
    unit: str
    note: str

    @property
    def default(self) -> Any:
        """The value a blank cell stands for (None: decided from the orders)."""
        return None if self.field == SEGMENT_COLUMNS else getattr(_DEFAULTS, self.field)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "Gross margin",
        "Margin",
        "margin",
        "fraction",
        "fraction of revenue (30% = 0.3)",
        "Blank: from the Cost column when the orders have one, "
        f"else {DEFAULT_MARGIN:.0%} of revenue.",
    ),
    Setting(
        "Annual discount rate",
        "AnnualDiscountRate",
        "annual_discount_rate",
        "fraction",
        "fraction per year (10% = 0.1)",
        "Discounts future margin in the discounted CLV.",
    ),
    Setting(
        "Churn window",
        "ChurnWindowDays",
        "churn_window_days",
        "whole",
        "days",
        "A customer without an order in this many days before the analysis date counts as churned.",
    ),
    Setting(
        "Analysis date",
        "AnalysisDate",
        "as_of",
        "date",
        "date",
        "Blank: the last order date. Orders after this date are excluded and reported.",
    ),
    Setting(
        "Segment columns",
        "SegmentColumns",
        SEGMENT_COLUMNS,
        "names",
        "column headers, comma-separated",
        "Blank: every text column of the orders (e.g. Channel, Country).",
    ),
    Setting(
        "Minimum segment size",
        "MinSegmentCustomers",
        "min_segment_customers",
        "whole",
        "customers",
        "Segments with fewer customers are marked small in the report (shown, not hidden).",
    ),
    Setting(
        "Currency",
        "Currency",
        "currency",
        "text",
        "ISO code",
        "Shown with every amount in the report (EUR, USD, GBP, ...).",
    ),
)


def settings_table() -> list[list[Any]]:
    """The Settings sheet's table as rows of values: the headings, then one row per setting."""
    return [list(HEADINGS)] + [[s.label, s.default, s.unit, s.note] for s in SETTINGS]


def settings_from_rows(rows: list[list[Any]]) -> tuple[Params, tuple[str, ...] | None]:
    """Read the Settings sheet's values (rows from A1) into Params and the segment columns.

    Each setting is found by its label in column A (any case, surrounding spaces
    ignored) and read from column B; unknown labels are ignored, missing or blank
    settings take their default. Dates may be datetimes, dates, Excel serial
    numbers or ISO text; percentages are fractions. A bad value raises InputError
    naming its cell, e.g. ``Settings!B4``.
    """
    by_label = {setting.label.casefold(): setting for setting in SETTINGS}
    given: dict[str, Any] = {}
    label_cells: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        label = row[LABEL_COLUMN - 1] if len(row) >= LABEL_COLUMN else None
        setting = by_label.get(label.strip().casefold()) if isinstance(label, str) else None
        if setting is None:
            continue
        label_cell = f"{SHEET}!{get_column_letter(LABEL_COLUMN)}{number}"
        if setting.field in label_cells:
            raise InputError(
                f"{label_cell} repeats the setting '{setting.label}' already in "
                f"{label_cells[setting.field]}; keep one of the two rows."
            )
        label_cells[setting.field] = label_cell
        value = row[VALUE_COLUMN - 1] if len(row) >= VALUE_COLUMN else None
        cell = f"{SHEET}!{get_column_letter(VALUE_COLUMN)}{number}"
        if not _is_blank(value):
            given[setting.field] = _read(setting, value, cell)
    segment_columns = given.pop(SEGMENT_COLUMNS, None)
    return replace(_DEFAULTS, **given), segment_columns


def _read(setting: Setting, value: Any, cell: str) -> Any:
    """One setting's value, checked by its reader and by Params' own rules."""
    try:
        parsed = _READERS[setting.kind](value)
    except ValueError as problem:
        raise InputError(f"{cell} ({setting.label}): {problem}; got {value!r}.") from None
    if setting.field in _PARAMS_FIELDS:
        try:
            replace(_DEFAULTS, **{setting.field: parsed})
        except InputError as problem:
            raise InputError(f"{cell} ({setting.label}): {problem}") from None
    return parsed


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("the value must be a number")
    return float(value)


def _fraction(value: Any) -> float:
    try:
        return _number(value)
    except ValueError:
        raise ValueError("the value must be a number, a fraction such as 0.3 for 30%") from None


def _whole(value: Any) -> int:
    number = _number(value)
    if not number.is_integer():
        raise ValueError("the value must be a whole number")
    return int(number)


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("the value must be a date such as 2024-12-31") from None
    serial = _number(value)
    if serial < FIRST_SERIAL:
        raise ValueError("the value must be a date such as 2024-12-31")
    return EXCEL_EPOCH + dt.timedelta(days=math.floor(serial))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("the value must be text")
    return value.strip()


def _names(value: Any) -> tuple[str, ...]:
    names = tuple(name.strip() for name in _text(value).split(","))
    if not all(names):
        raise ValueError("the value must be column headers separated by single commas")
    return names


_READERS: dict[str, Callable[[Any], Any]] = {
    "fraction": _fraction,
    "whole": _whole,
    "date": _date,
    "text": _text,
    "names": _names,
}
_PARAMS_FIELDS = frozenset(f.name for f in fields(Params))
