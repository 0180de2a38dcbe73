"""Orders in: read an orders table from a workbook, a CSV or Parquet file, a grid of cells or
a DataFrame.

`load_orders` finds the columns by their headers (English and Dutch, any case,
spacing or punctuation), reads every cell as the type its column needs, and
accounts for every row: it is used, or excluded with a reason and its sheet row
number (the header is row 1, the first data row row 2). The files are opened by
`clv_xl.orders.source` and turned into raw cells by `clv_xl.orders.raw_table`; the headers
are recognised by `clv_xl.orders.headers`. Every step here works on whole columns (Python
loops run only over distinct values).

Knows nothing of the analysis or of Excel's object model.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from clv_xl.errors import InputError
from clv_xl.orders.currency import IN_AMOUNT, amount_currencies, currency_code, other_currency
from clv_xl.orders.headers import (
    GUESS,
    LABELS,
    ColumnMap,
    find_header,
    header_key,
    listing,
    resolve_roles,
)
from clv_xl.orders.raw_table import (
    RawTable,
    categorical,
    csv_table,
    frame_table,
    grid_table,
    parquet_table,
    sheet_table,
)
from clv_xl.orders.source import (
    PARQUET_SUFFIXES,
    WORKBOOK_SUFFIXES,
    OrdersSheet,
    Source,
    orders_file_source,
    read_orders_file,
    workbook_sheet,
)

# ----------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True)
class Exclusion:
    """Rows (or cells) left out for one reason: how many, and the first sheet row numbers."""

    reason: str
    count: int
    examples: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Orders:
    """The used order lines and the account of every row read.

    ``lines`` has one row per used input row, in input order, with the columns
    customer (categories of str), date (datetime64[ns], midnight), amount (float64,
    negative = refund), order_id (categories of str, only when the input has one),
    margin_amount (float64, NaN without cost or margin), quantity (float64, only when
    the input has one), row (int64 sheet row number) and one column per segment
    dimension (categories of str; blank cells read "(blank)"). Text columns are
    categorical so that grouping by them works on integer codes. ``columns`` maps each
    canonical name to the header found. ``ignored_columns`` are the input's other
    columns (numbers, dates, or text with more than MAX_SEGMENT_VALUES distinct
    values). ``unreadable_cells`` counts cost, margin and quantity cells of used rows
    that are not numbers and count as blank.
    """

    lines: pd.DataFrame
    columns: dict[str, str]
    segments: tuple[str, ...]
    rows_read: int
    exclusions: tuple[Exclusion, ...]
    source: Source
    ignored_columns: tuple[str, ...] = ()
    unreadable_cells: tuple[Exclusion, ...] = ()

    @property
    def rows_used(self) -> int:
        return len(self.lines)

    @property
    def rows_excluded(self) -> int:
        return sum(exclusion.count for exclusion in self.exclusions)

    @property
    def rows_without_margin(self) -> int:
        """Used rows without a cost or margin (the analysis assumes its margin for them)."""
        return int(self.lines["margin_amount"].isna().sum())


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

PANDAS_WITH_STR = 3  # the first pandas whose default text dtype is str
BLANK_SEGMENT = "(blank)"
#: A guessed segment dimension has at most this many distinct values (names, e-mails are not).
MAX_SEGMENT_VALUES = 250
EXAMPLE_ROWS = 5
EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # day 0 of Excel's 1900 date system (from March 1900)
FIRST_DATE = pd.Timestamp("1900-01-01")
END_DATE = pd.Timestamp("2262-01-01")  # datetime64[ns] ends in 2262
LINE_COLUMNS = ("customer", "date", "amount", "order_id", "margin_amount", "quantity", "row")


# ----------------------------------------------------------------------------------------------
# The entry point


def load_orders(
    source: str | os.PathLike[str] | pd.DataFrame | OrdersSheet,
    *,
    sheet: str | None = None,
    columns: ColumnMap = GUESS,
    as_of: dt.date | None = None,
) -> Orders:
    """Read orders from a .xlsx/.xlsm/.csv file, a DataFrame or a workbook sheet parsed
    already (`clv_xl.orders.source.workbook_sheet`), and account for every row.

    ``sheet`` picks a workbook's sheet (default: the only sheet, else the first
    whose header row has customer, date and amount columns); ``as_of`` (default
    today) is the last valid order date. Raises InputError for input it cannot use.
    """
    with _text_as_str():
        if isinstance(source, pd.DataFrame):
            table = frame_table(source)
        elif isinstance(source, OrdersSheet):
            table = sheet_table(source, columns)
        else:
            table = _file_table(Path(source), sheet, columns)
        return _orders(table, columns, as_of if as_of is not None else dt.date.today())


def _text_as_str() -> contextlib.AbstractContextManager[object]:
    """Text columns as pandas 3's ``str`` dtype, which the reading relies on.

    pandas 3 (Python 3.11+) infers it by default; pandas 2.3 (Python 3.10) does so
    under its ``future.infer_string`` option, set here for the reading only.
    """
    if int(pd.__version__.split(".")[0]) >= PANDAS_WITH_STR:
        return contextlib.nullcontext()
    return pd.option_context("future.infer_string", True)


def orders_from_grid(
    grid: Sequence[Sequence[object]],
    *,
    workbook: str,
    sheet: str,
    first_row: int = 1,
    columns: ColumnMap = GUESS,
    as_of: dt.date | None = None,
) -> Orders:
    """Orders from a sheet's cell values, as an xlwings Book gives them (rows of values).

    ``first_row`` is the sheet row number of the grid's first row, so that excluded
    rows are reported by their real row numbers.
    """
    with _text_as_str():
        table = grid_table(
            grid,
            first_row,
            f"sheet '{sheet}' of {workbook}",
            False,
            Source(workbook, sheet, None),
            columns,
        )
        return _orders(table, columns, as_of if as_of is not None else dt.date.today())


# ----------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------
# Files to a table of raw cells


def _file_table(path: Path, sheet: str | None, columns: ColumnMap) -> RawTable:
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return sheet_table(workbook_sheet(path, sheet, columns), columns)
    if suffix in PARQUET_SUFFIXES:
        data, source = read_orders_file(path)
        return parquet_table(data, path.name, source)
    return csv_table(path, orders_file_source(path), columns)  # a CSV file, or why it is none


# ----------------------------------------------------------------------------------------------
# Object columns part by part


_NUMBER, _TEXT, _MOMENT, _OTHER, _BLANK = range(5)


def _kind(value: object) -> int:
    if isinstance(value, bool | np.bool_):
        return _OTHER
    if isinstance(value, int | float | np.number):
        return _NUMBER
    if isinstance(value, str):
        return _TEXT
    if isinstance(value, dt.datetime):
        return _MOMENT if value.tzinfo is None else _OTHER
    if isinstance(value, dt.date | np.datetime64):
        return _MOMENT
    return _OTHER


_AS_KIND: dict[int, Callable[[pd.Series], pd.Series]] = {
    _NUMBER: lambda part: part.astype("float64"),
    _TEXT: lambda part: part.astype("str"),
    _MOMENT: pd.to_datetime,
    _OTHER: lambda part: part,
}


def _typed_parts(values: pd.Series) -> list[pd.Series]:
    """An object column split into parts of one dtype: float64, str, datetime64 and the rest."""
    codes, uniques = pd.factorize(values)
    kinds = np.append([_kind(value) for value in uniques], _BLANK).astype(np.int8)
    row_kinds = kinds[codes]  # code -1 (missing) picks the appended _BLANK
    parts = [(values[row_kinds == kind], as_kind) for kind, as_kind in _AS_KIND.items()]
    return [as_kind(part) for part, as_kind in parts if len(part)]


def _parse(values: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a converter of one-dtype columns to any column; object columns part by part."""
    if values.dtype != object:
        return convert(values)
    parts = [convert(part) for part in _typed_parts(values)]
    if not parts:
        return convert(pd.Series(np.nan, index=values.index))
    return pd.concat(parts).reindex(values.index)


def _by_unique(values: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Convert each distinct value once (a categorical's categories), then spread the results
    over the rows."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories.array
    else:
        codes, uniques = pd.factorize(values)
    converted = convert(pd.Series(uniques))
    return pd.Series(converted.reindex(codes).array, index=values.index)  # code -1: missing


# ----------------------------------------------------------------------------------------------
# Converters of one-dtype columns: numbers, dates, text


def _is_text(dtype: np.dtype | pd.api.extensions.ExtensionDtype) -> bool:
    """str or object text, or categories (which `raw_table` only makes of text)."""
    return pdt.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype)


def _numbers(values: pd.Series, decimal_comma: bool) -> pd.Series:
    """float64; NaN for blanks and for anything that is not a number."""
    if pdt.is_bool_dtype(values.dtype) or values.dtype == object:
        return pd.Series(np.nan, index=values.index)
    if pdt.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    if _is_text(values.dtype):
        return _by_unique(values, partial(_number_strings, decimal_comma=decimal_comma))
    return pd.Series(np.nan, index=values.index)


NUMBER_NOISE = r"[\s'’]|" + IN_AMOUNT  # spaces, apostrophes (1'234), currency
COMMA_STYLE = r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*)(?:,\d+)?"  # 1.234,56
POINT_STYLE = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?"  # 1,234.56
INFINITY = r"[+-]?inf(?:inity)?"


def _number_strings(text: pd.Series, decimal_comma: bool) -> pd.Series:
    """Numbers written as text: '€ 1.234,56', '1,234.56', '(12.50)', '35%', '-7'.

    The decimal separator is decided for the whole column: the style that more
    values can only be read in wins (ties: ``decimal_comma``); values that do not
    fit it are not numbers, so nothing is misread by a factor of 1000.
    """
    cleaned = text.str.replace(NUMBER_NOISE, "", regex=True).str.replace("−", "-")
    bracketed = cleaned.str.fullmatch(r"\(.+\)")
    cleaned = cleaned.where(~bracketed, "-" + cleaned.str.slice(1, -1))
    percent = cleaned.str.endswith("%")
    cleaned = cleaned.str.removesuffix("%")
    digits = cleaned.str.contains(r"\d")
    comma = cleaned.str.fullmatch(COMMA_STYLE) & digits
    point = cleaned.str.fullmatch(POINT_STYLE) & digits
    comma_only, point_only = int((comma & ~point).sum()), int((point & ~comma).sum())
    if comma_only > point_only or (comma_only == point_only and decimal_comma):
        valid = comma
        plain = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        valid, plain = point, cleaned.str.replace(",", "", regex=False)
    valid |= cleaned.str.fullmatch(INFINITY, case=False)
    numbers = pd.to_numeric(plain.where(valid), errors="coerce").astype("float64")
    return numbers.where(~percent, numbers / 100)


def _dates(values: pd.Series) -> pd.Series:
    """datetime64[ns] at midnight; NaT for blanks and unreadable or implausible dates.

    Accepts real dates, Excel serial numbers (1900 date system) and text: ISO
    (2024-01-31, with or without a time), day-first (31-01-2024, 31/01/2024,
    31.01.2024, 31 jan 2024) or month-first when the column shows it (see
    `_date_strings`).
    """
    if pdt.is_datetime64_any_dtype(values.dtype):
        moments = values.dt.tz_localize(None) if values.dt.tz is not None else values
    elif pdt.is_bool_dtype(values.dtype) or values.dtype == object:
        moments = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    elif pdt.is_numeric_dtype(values.dtype):
        moments = _excel_serial(values.astype("float64"))
    elif _is_text(values.dtype):
        moments = _by_unique(values, _date_strings)
    else:
        moments = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    plausible = (moments >= FIRST_DATE) & (moments < END_DATE)
    return moments.where(plausible).astype("datetime64[ns]").dt.normalize()


def _excel_serial(serial: pd.Series) -> pd.Series:
    """Excel's 1900-system day numbers (45322 = 2024-01-31); the fraction is the time of day."""
    last = (END_DATE - EXCEL_EPOCH).days
    days = np.floor(serial.where((serial >= 1) & (serial < last)))
    return EXCEL_EPOCH + pd.to_timedelta(days, unit="D")


_TIME = (  # an optional time of day after a date: " 13:05", "T13:05:00.000Z", " 1:05 PM"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[aApP][mM])?\s*(?:Z|[+-]\d{2}:?\d{2})?)?"
)
ISO_DATE = rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME}$"
NUMERIC_DATE = rf"^(\d{{1,2}})[-/.](\d{{1,2}})[-/.](\d{{4}}|\d{{2}}){_TIME}$"
NAMED_DATE = rf"^(\d{{1,2}})[-/. ]+([A-Za-z]{{3,}})\.?[-/. ]+(\d{{4}}){_TIME}$"
SERIAL_TEXT = r"^\d{1,7}(?:[.,]\d+)?$"
# fmt: off
MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "maa": 3, "mrt": 3, "apr": 4, "may": 5, "mei": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "okt": 10, "nov": 11, "dec": 12,
}
# fmt: on


def _date_strings(text: pd.Series) -> pd.Series:
    """Dates written as text; 03/04/2024 is 3 April unless the column holds a 13/31/2024."""
    text = text.str.strip()
    iso = text.str.extract(ISO_DATE).astype("float64")
    numeric = text.str.extract(NUMERIC_DATE).astype("float64")
    named = text.str.extract(NAMED_DATE)
    month_first = bool((numeric[1] > 12).any()) and not bool((numeric[0] > 12).any())
    day, month = (numeric[1], numeric[0]) if month_first else (numeric[0], numeric[1])
    year = numeric[2].where(numeric[2] >= 100, numeric[2] + 2000)
    named_month = named[1].str.slice(0, 3).str.lower().map(MONTHS)
    parts = pd.DataFrame(
        {
            "year": iso[0].fillna(year).fillna(named[2].astype("float64")),
            "month": iso[1].fillna(month).fillna(named_month.astype("float64")),
            "day": iso[2].fillna(day).fillna(named[0].astype("float64")),
        }
    )
    moments = pd.to_datetime(parts, errors="coerce")
    serial = text.where(text.str.fullmatch(SERIAL_TEXT)).str.replace(",", ".", regex=False)
    return moments.fillna(_excel_serial(pd.to_numeric(serial, errors="coerce")))


MIDNIGHT = r"(\d{4}-\d{2}-\d{2}) 00:00:00"  # a date in a text column, as fastexcel writes it


def _texts(values: pd.Series) -> pd.Series:
    """str, or categories of str; whole numbers without '.0' (customer 1001.0 -> '1001');
    dates as ISO text (a reader's '2024-01-31 00:00:00' too)."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # text already (see `raw_table.cleaned`)
        if values.cat.categories.str.fullmatch(MIDNIGHT).any():
            return _by_unique(values, lambda text: text.str.replace(MIDNIGHT, r"\1", regex=True))
        return values
    if pdt.is_bool_dtype(values.dtype) or values.dtype == object:
        return values.astype("str")
    if pdt.is_datetime64_any_dtype(values.dtype):
        return values.dt.strftime("%Y-%m-%d").astype("str")
    if pdt.is_float_dtype(values.dtype):
        numbers = values.to_numpy(dtype="float64")
        whole = np.isfinite(numbers) & (np.abs(numbers) < 2**53) & (numbers == np.trunc(numbers))
        text = values.astype("str")
        text[whole] = numbers[whole].astype(np.int64).astype(str)
        return text
    return values.astype("str")


def _segment_headers(
    cells: pd.DataFrame, roles: dict[str, str], columns: ColumnMap, where: str, comma: bool
) -> tuple[list[str], list[str]]:
    """(segment dimension headers, ignored headers) among the columns no role uses."""
    headers = list(cells.columns)
    others = [h for h in headers if h not in roles.values()]
    if columns.segments is not None:
        segments = []
        for name in columns.segments:
            header = find_header(headers, name)
            if header is None:
                raise InputError(
                    f"There is no column '{name}' (given as a segment column) in {where}; "
                    f"its headers are {listing(headers)}."
                )
            if header not in segments:
                segments.append(header)
    else:
        segments = [h for h in others if _is_dimension(cells[h], comma)]
    return segments, [h for h in others if h not in segments]


def _is_dimension(values: pd.Series, decimal_comma: bool) -> bool:
    """Mostly text that is neither a number nor a date, with few distinct values."""
    if pdt.is_numeric_dtype(values.dtype) or pdt.is_datetime64_any_dtype(values.dtype):
        return False  # numbers or dates only (booleans neither)
    codes, uniques = pd.factorize(values)
    if not len(uniques) or len(uniques) > MAX_SEGMENT_VALUES:
        return False
    distinct = pd.Series(uniques, dtype=values.dtype)
    number = _parse(distinct, partial(_numbers, decimal_comma=decimal_comma)).notna()
    date = _parse(distinct, _dates).notna()
    rows = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return int(rows[~(number | date).to_numpy()].sum()) * 2 > int(rows.sum())


# ----------------------------------------------------------------------------------------------
# The core: coerce the columns and account for every row


def _orders(table: RawTable, columns: ColumnMap, as_of: dt.date) -> Orders:
    cells = table.cells
    roles = resolve_roles(list(cells.columns), columns, table.where)
    numbers = partial(_numbers, decimal_comma=table.decimal_comma)
    customer = _parse(cells[roles["customer"]], _texts)
    date = _parse(cells[roles["date"]], _dates)
    amount = _parse(cells[roles["amount"]], numbers).to_numpy(dtype="float64")
    order_id = _parse(cells[roles["order_id"]], _texts) if "order_id" in roles else None
    reason = _reasons(cells, table.filled, roles, customer, date, amount, as_of)
    foreign = other_currency(
        _row_currencies(cells, roles), reason < 0, table.rows, table.where, columns.only_currency
    )
    reason[foreign] = REASONS.index(OTHER_CURRENCY)
    if order_id is not None:
        repeated = _repeated_orders(cells, order_id, customer, date, amount < 0, reason < 0)
        reason[repeated] = REASONS.index(DUPLICATE_ORDER_ID)
    used = reason < 0
    exclusions = tuple(
        _exclusion(name, reason == REASONS.index(name), table.rows)
        for name in REASONS
        if (reason == REASONS.index(name)).any()
    )
    if not used.any():
        raise InputError(
            f"None of the {len(cells)} data rows in {table.where} can be used: "
            + "; ".join(_describe(exclusion) for exclusion in exclusions)
            + "."
        )

    lines = pd.DataFrame(
        {
            "customer": _text_categories(customer[used]),
            "date": date[used].array,
            "amount": amount[used],
        }
    )
    if order_id is not None:
        lines["order_id"] = _text_categories(order_id[used], in_order=False)  # only compared
    optional: dict[str, np.ndarray] = {
        role: _finite(_parse(cells[roles[role]], numbers).to_numpy(dtype="float64"))
        for role in ("cost", "margin", "quantity")
        if role in roles
    }
    lines["margin_amount"] = _margin_amount(amount, optional, used, roles.get("margin", ""))
    if "quantity" in optional:
        lines["quantity"] = optional["quantity"][used]
    lines["row"] = table.rows[used]
    _check_totals(lines, table.where)
    segments, ignored = _segment_headers(cells, roles, columns, table.where, table.decimal_comma)
    segment_names = tuple(f"{h} (segment)" if h in LINE_COLUMNS else h for h in segments)
    for header, name in zip(segments, segment_names, strict=True):
        lines[name] = _text_categories(_parse(cells[header], _texts)[used], BLANK_SEGMENT)
    unreadable = tuple(
        _exclusion(f"non-numeric {LABELS[role]}", bad, table.rows)
        for role, values in optional.items()
        if (bad := used & table.filled[roles[role]] & ~np.isfinite(values)).any()
    )
    return Orders(
        lines=lines,
        columns=roles,
        segments=segment_names,
        rows_read=len(cells),
        exclusions=exclusions,
        source=table.source,
        ignored_columns=tuple(ignored),
        unreadable_cells=unreadable,
    )


def _text_categories(
    text: pd.Series, blank: str | None = None, *, in_order: bool = True
) -> pd.Categorical:
    """Text as categories; missing cells read ``blank`` when it is given. With ``in_order``,
    only the categories used, in sorted order (so that customers and segments come out
    sorted by name)."""
    values = text.astype("category").array
    codes, categories = values.codes.astype(np.int64), values.categories
    if blank is not None and (codes < 0).any():
        if blank not in categories:
            categories = categories.append(pd.Index([blank], dtype=categories.dtype))
        codes = np.where(codes < 0, categories.get_loc(blank), codes)
    if in_order:
        used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(categories)))
        order = used[categories[used].argsort()]
        recoded = np.full(len(categories) + 1, -1)  # the last for code -1
        recoded[order] = np.arange(len(order))
        codes, categories = recoded[codes], categories[order]
    return categorical(codes, categories)


def _reasons(
    cells: pd.DataFrame,
    filled: dict[str, np.ndarray],
    roles: dict[str, str],
    customer: pd.Series,
    date: pd.Series,
    amount: np.ndarray,
    as_of: dt.date,
) -> np.ndarray:
    """Each row's exclusion reason as an index into REASONS (the first that applies), or -1;
    the currency and the order ids are checked after these (see `_orders`)."""
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


def _row_currencies(cells: pd.DataFrame, roles: dict[str, str]) -> pd.Series:
    """Each row's currency code, from the currency column or the amount's text, or None."""
    if "currency" in roles:
        column = _parse(cells[roles["currency"]], _texts)
        return _by_unique(column, lambda text: text.map(currency_code, na_action="ignore"))
    return _parse(cells[roles["amount"]], _amount_currency)


def _amount_currency(values: pd.Series) -> pd.Series:
    if _is_text(values.dtype):
        return _by_unique(values, amount_currencies)
    return pd.Series(None, index=values.index, dtype=object)


def _repeated_orders(
    cells: pd.DataFrame,
    order_id: pd.Series,
    customer: pd.Series,
    date: pd.Series,
    refund: np.ndarray,
    candidate: np.ndarray,
) -> np.ndarray:
    """Candidate rows that repeat an earlier candidate row in every column (a double export)
    or reuse an earlier row's order id for another customer or date. A refund may carry
    its order's id on a later date (shops export them so); another customer it may not."""
    picked = np.flatnonzero(candidate)
    shared = picked[order_id.iloc[picked].duplicated(keep=False).to_numpy()]  # ids seen again
    repeated = np.zeros(len(cells), dtype=bool)
    repeated[shared] = cells.iloc[shared].duplicated(keep="first").to_numpy()
    with_id = shared[order_id.iloc[shared].notna().to_numpy()]
    if len(with_id):
        keys = pd.DataFrame(
            {
                "order": order_id.iloc[with_id].array,
                "customer": customer.iloc[with_id].array,
                "date": date.iloc[with_id].array,
            }
        )
        by_order = keys.groupby("order", sort=False, observed=True)
        first = by_order[["customer", "date"]].transform("first")
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


def _margin_amount(
    amount: np.ndarray, optional: dict[str, np.ndarray], used: np.ndarray, margin_header: str
) -> np.ndarray:
    """Currency margin of each used row: amount - cost; or a margin column, read as
    a fraction of the amount when every used value lies in [-1, 1] ('35%' text is 0.35);
    as a percentage when its header says so ('Marge %', 'Margin percent') or every value
    is 0 or lies between 1 and 100 (either sign) and the header does not name money ('Gross
    profit'); else as currency."""
    amount = amount[used]
    if "cost" in optional:
        with np.errstate(over="ignore"):  # an overflow is refused by `_check_totals`
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


def _check_totals(lines: pd.DataFrame, where: str) -> None:
    """InputError when the amounts or margins of the used rows add up beyond a float64
    (about 1.8e308): no total of them could be shown."""
    for column, label in (("amount", "amounts"), ("margin_amount", "margins")):
        values = lines[column].to_numpy()
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


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def _exclusion(reason: str, mask: np.ndarray, rows: np.ndarray) -> Exclusion:
    return Exclusion(reason, int(mask.sum()), tuple(int(r) for r in rows[mask][:EXAMPLE_ROWS]))


def _describe(exclusion: Exclusion) -> str:
    rows = ", ".join(str(row) for row in exclusion.examples)
    count = f"{exclusion.count} row" + ("s" if exclusion.count > 1 else "")
    example = "row" + ("s" if len(exclusion.examples) > 1 else "")
    return f"{exclusion.reason} in {count} ({example} {rows})"
