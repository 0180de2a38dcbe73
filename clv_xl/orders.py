"""Orders in: read an orders table from a workbook, a CSV file or a DataFrame.

`load_orders` finds the columns by their headers (English and Dutch, any case,
spacing or punctuation), reads every cell as the type its column needs, and
accounts for every row: it is used, or excluded with a reason and its sheet row
number (the header is row 1, the first data row row 2). Workbooks are read with
python-calamine a block of rows at a time, each block turned into typed columns
at once (floats, dates, objects), with the garbage collector paused; text columns
become categorical, each distinct text stripped once; every later step works on
whole columns (Python loops run only over distinct values). The headers are
recognised by `clv_xl.headers`, the file is opened by `clv_xl.orders_file`.

Knows nothing of the analysis or of Excel's object model.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import operator
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain, islice, repeat
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from .collector import collector_paused
from .errors import InputError
from .headers import (
    GUESS,
    HEADER_SEARCH_ROWS,
    LABELS,
    ColumnMap,
    find_header,
    header_text,
    listing,
    recognised_header,
    resolve_roles,
)
from .orders_file import (
    WORKBOOK_SUFFIXES,
    OrdersSheet,
    Source,
    read_orders_file,
    workbook_sheet,
)

if TYPE_CHECKING:  # python-calamine is imported only where a file is read (not in Lite)
    import python_calamine

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
    DUPLICATE_ORDER_ID,
)

PANDAS_WITH_STR = 3  # the first pandas whose default text dtype is str
BLANK_SEGMENT = "(blank)"
#: A guessed segment dimension has at most this many distinct values (names, e-mails are not).
MAX_SEGMENT_VALUES = 250
#: pandas' categories without the check that they are distinct (private; see `_categorical`).
UNCHECKED_CATEGORIES = getattr(pd.CategoricalDtype, "_from_fastpath", None)
EXAMPLE_ROWS = 5
EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # day 0 of Excel's 1900 date system (from March 1900)
FIRST_DATE = pd.Timestamp("1900-01-01")
END_DATE = pd.Timestamp("2262-01-01")  # datetime64[ns] ends in 2262
LINE_COLUMNS = ("customer", "date", "amount", "order_id", "margin_amount", "quantity", "row")


# ----------------------------------------------------------------------------------------------
# The entry point


@dataclass(frozen=True)
class _Table:
    """Raw cells (blank = missing) under their headers, before any type is decided (a column
    of dates only is datetime64 already)."""

    cells: pd.DataFrame
    rows: np.ndarray  # sheet row number of each data row
    where: str  # names the table in a sentence: "orders.csv", "sheet 'Orders' of sales.xlsx"
    decimal_comma: bool  # read text numbers without a telling separator as 1.234,56
    source: Source
    filled: dict[str, np.ndarray]  # per header: which cells are not blank


def load_orders(
    source: str | os.PathLike[str] | pd.DataFrame | OrdersSheet,
    *,
    sheet: str | None = None,
    columns: ColumnMap = GUESS,
    as_of: dt.date | None = None,
) -> Orders:
    """Read orders from a .xlsx/.xlsm/.csv file, a DataFrame or a workbook sheet parsed
    already (`clv_xl.orders_file.workbook_sheet`), and account for every row.

    ``sheet`` picks a workbook's sheet (default: the only sheet, else the first
    whose header row has customer, date and amount columns); ``as_of`` (default
    today) is the last valid order date. Raises InputError for input it cannot use.
    """
    with _text_as_str():
        if isinstance(source, pd.DataFrame):
            table = _frame_table(source)
        elif isinstance(source, OrdersSheet):
            table = _sheet_table(source, columns)
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
        table = _grid_table(
            _row_blocks(grid),
            _Origin(first_row, 0),
            f"sheet '{sheet}' of {workbook}",
            False,
            Source(workbook, sheet, None),
            columns,
        )
        return _orders(table, columns, as_of if as_of is not None else dt.date.today())


# ----------------------------------------------------------------------------------------------
# Shells: files and DataFrames to a table of raw cells


def _frame_table(frame: pd.DataFrame) -> _Table:
    """A DataFrame's columns keep their names (as text), so ``columns`` can index the frame."""
    headers = _unique_headers(
        [
            str(name) if header_text(name) else f"Column {_letter(i)}"
            for i, name in enumerate(frame.columns)
        ]
    )
    cells = pd.DataFrame(
        {
            h: _inferred(_cells(frame.iloc[:, i].reset_index(drop=True)))
            for i, h in enumerate(headers)
        },
        index=pd.RangeIndex(len(frame)),
    )
    rows = np.arange(len(frame), dtype=np.int64) + 2
    filled = {h: cells[h].notna().to_numpy() for h in headers}
    return _Table(cells, rows, "the orders table", False, Source(None, None, None), filled)


def _file_table(path: Path, sheet: str | None, columns: ColumnMap) -> _Table:
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return _sheet_table(workbook_sheet(path, sheet, columns), columns)
    data, source = read_orders_file(path)  # a CSV file, or the sentence why it is none
    return _csv_table(data, path.name, source, columns)


def _sheet_table(opened: OrdersSheet, columns: ColumnMap) -> _Table:
    blocks, origin = _sheet_blocks(opened.parts)
    return _grid_table(blocks, origin, opened.where, False, opened.source, columns)


def _sheet_blocks(
    parts: Sequence[python_calamine.CalamineSheet],
) -> tuple[list[_Block], _Origin]:
    """A sheet's cells (see `_row_blocks`), from the parts it was parsed in, and where they
    start. A part's used cells span its rows ``start..end`` and columns; its `iter_rows`
    gives ``start[0]`` empty rows first, which are left out. The parts' rows are joined in
    order, with the empty rows between them, on the columns of them all."""
    parts = [part for part in parts if part.start is not None and part.end is not None]
    if not parts:
        return [], _Origin(1, 0)
    left = min(part.start[1] for part in parts)
    rows: list[Iterable[list[object]]] = []
    next_row = parts[0].start[0]
    for part in parts:
        first_row, first_column = part.start
        part_rows = islice(part.iter_rows(), first_row, None)
        if first_column > left:  # this part's used cells start right of the others'
            part_rows = map(partial(operator.add, [""] * (first_column - left)), part_rows)
        rows += [repeat([], first_row - next_row), part_rows]
        next_row = part.end[0] + 1
    blocks = _row_blocks(chain.from_iterable(rows))
    return blocks, _Origin(parts[0].start[0] + 1, left)


def _csv_table(data: bytes, name: str, source: Source, columns: ColumnMap) -> _Table:
    text = _decode(data)
    first_line, _, rest = text.partition("\n")
    declared = re.fullmatch(r"\s*sep=(.)\s*", first_line)  # Excel's "sep=;" line
    if declared:
        separator, text, first_row = declared.group(1), rest, 2
    else:
        separator, first_row = _csv_separator(text), 1
    try:
        grid = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{name} is empty.") from None
    except (pd.errors.ParserError, ValueError) as error:
        detail = str(error).strip().splitlines()[-1].removeprefix("Error tokenizing data. ")
        raise InputError(f"{name} cannot be read as a CSV file ({detail}).") from None
    block = [_part(grid[column].to_numpy(dtype=object)) for column in grid.columns]
    return _grid_table([block], _Origin(first_row, 0), name, separator == ";", source, columns)


def _decode(data: bytes) -> str:
    """CSV text as Excel saves it: UTF-8 (with or without BOM), UTF-16, or Windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _csv_separator(text: str) -> str:
    """The separator that splits the first lines into equally many fields, the most in the
    header line; else the one that splits the header line the most."""
    sample = [fields for fields in text[:65536].splitlines()[:HEADER_SEARCH_ROWS] if fields]
    best, best_score = ",", (False, 1)
    for separator in ";,\t|":
        widths = [len(fields) for fields in csv.reader(sample, delimiter=separator)]
        score = (len(set(widths)) == 1, widths[0] if widths else 0)
        if score[1] > 1 and score > best_score:
            best, best_score = separator, score
    return best


@dataclass(frozen=True)
class _Part:
    """A run of one column's cells: float64 when they are all floats, datetime64[D] when they
    are all dates, else objects (text is stripped later, once per distinct value). ``kinds``
    are the cells' types."""

    values: np.ndarray
    kinds: frozenset[type]


#: A block of rows as one part per column.
_Block = list[_Part]
BLOCK_ROWS = 4096  # rows held as Python lists at once while a sheet is read
_FLOATS, _DATES = frozenset({float}), frozenset({dt.date})
UNIX_DAY = dt.date(1970, 1, 1).toordinal()  # the proleptic ordinal of datetime64's day 0


@dataclass(frozen=True)
class _Origin:
    """The sheet row number (1-based) and column index (0-based) of a grid's first cell."""

    row: int
    column: int


def _row_blocks(rows: Iterable[Sequence[object]]) -> list[_Block]:
    """Rows of cells as blocks of column parts, BLOCK_ROWS rows at a time: a sheet's million
    rows never exist as Python lists all at once, and each cell is typed and stripped while
    it is fresh in the processor's cache. Short rows are padded with None."""
    rows = iter(rows)
    blocks = []
    with collector_paused():
        while chunk := list(islice(rows, BLOCK_ROWS)):
            widths = set(map(len, chunk))
            if len(widths) > 1:
                chunk = [[*row, *[None] * (max(widths) - len(row))] for row in chunk]
            blocks.append([_part(values) for values in zip(*chunk, strict=True)])
    width = max((len(block) for block in blocks), default=0)
    return [
        block + [_part([None] * len(block[0].values))] * (width - len(block)) for block in blocks
    ]


def _part(values: Sequence[object]) -> _Part:
    """Cells as a `_Part`: one pass over them to learn their types, one to store them."""
    kinds = frozenset(map(type, values))
    if kinds == _FLOATS:
        return _Part(np.fromiter(values, dtype=np.float64, count=len(values)), kinds)
    if kinds == _DATES:  # day numbers, without a datetime object per cell
        days = np.fromiter(map(dt.date.toordinal, values), dtype=np.int64, count=len(values))
        return _Part((days - UNIX_DAY).astype("datetime64[D]"), kinds)
    return _Part(np.fromiter(values, dtype=object, count=len(values)), kinds)


def _grid_rows(blocks: list[_Block]) -> Iterable[tuple[object, ...]]:
    """The rows of a grid, one at a time (for finding the header row)."""
    for block in blocks:
        yield from zip(*(part.values for part in block), strict=True)


def _grid_column(blocks: list[_Block], index: int, skip: int) -> list[_Part]:
    """One column of a grid as parts, without its first ``skip`` rows."""
    parts = []
    for block in blocks:
        part = block[index]
        if skip >= len(part.values):
            skip -= len(part.values)
            continue
        if skip:  # the rest of a part of one kind is of that kind; others are typed again
            rest = part.values[skip:]
            part = _part(rest) if len(part.kinds) > 1 else _Part(rest, part.kinds)
            skip = 0
        parts.append(part)
    return parts


def _grid_table(
    blocks: list[_Block],
    origin: _Origin,
    where: str,
    decimal_comma: bool,
    source: Source,
    columns: ColumnMap,
) -> _Table:
    """Find the header row among a sheet's first filled rows and keep the rows below it.

    ``origin`` places the grid's first cell on the sheet. Rows above the header and
    blank rows after the last filled row are not data.
    """
    start = next(
        (i for i, row in enumerate(_grid_rows(blocks)) if any(map(header_text, row))),
        None,
    )
    if start is None:
        raise InputError(f"There is nothing in {where}.")
    head = [list(row) for row in islice(_grid_rows(blocks), start, start + HEADER_SEARCH_ROWS)]
    header_at = start + (recognised_header(head, columns) or 0)
    header_cells = head[header_at - start]
    body = [_column_cells(_grid_column(blocks, i, header_at + 1)) for i in range(len(header_cells))]
    filled_rows = np.flatnonzero(np.logical_or.reduce([filled for _, filled in body]))
    if not len(filled_rows):
        raise InputError(
            f"There are no data rows below the header row (row {header_at + origin.row}) "
            f"in {where}."
        )
    stop = filled_rows[-1] + 1  # blank rows after the last filled one are outside the table
    kept = [
        i for i, cell in enumerate(header_cells) if header_text(cell) or body[i][1][:stop].any()
    ]
    headers = _unique_headers(
        [header_text(header_cells[i]) or f"Column {_letter(origin.column + i)}" for i in kept]
    )
    cells = pd.DataFrame(
        {h: body[i][0].iloc[:stop] for h, i in zip(headers, kept, strict=True)}, copy=False
    )
    filled = {h: body[i][1][:stop] for h, i in zip(headers, kept, strict=True)}
    rows = np.arange(header_at + 1, header_at + 1 + stop, dtype=np.int64) + origin.row
    return _Table(cells, rows, where, decimal_comma, source, filled)


def _unique_headers(headers: list[str]) -> list[str]:
    """Repeated headers numbered: Amount, Amount (2)."""
    seen: dict[str, int] = {}
    unique = []
    for header in headers:
        seen[header] = seen.get(header, 0) + 1
        unique.append(header if seen[header] == 1 else f"{header} ({seen[header]})")
    return unique


def _letter(index: int) -> str:
    """The spreadsheet column letter of a 0-based column index: 0 -> A, 27 -> AB."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


# ----------------------------------------------------------------------------------------------
# Cells: blank detection and one-kind parts


def _cells(values: pd.Series) -> pd.Series:
    """A column's cells with text stripped and every blank (empty text, spaces, None, NaN) as
    missing. A column of text (and blanks) comes back categorical, the stripped texts its
    categories, so that later steps hash nothing again and convert each distinct text once;
    a mixed column comes back as an object column (see `_inferred`)."""
    if isinstance(values.dtype, pd.api.extensions.ExtensionDtype) and not isinstance(
        values.dtype, pd.StringDtype | pd.DatetimeTZDtype
    ):
        values = values.astype(object)
    if not pdt.is_string_dtype(values.dtype):  # numbers, dates, booleans: NaN/NaT is blank
        return values
    codes, uniques = pd.factorize(values)
    uniques = np.asarray(uniques, dtype=object)
    if pdt.infer_dtype(uniques) != "string":  # mixed: blank text missing, the rest as it is
        cleaned = np.array([*map(_stripped, uniques), None], dtype=object)
        return pd.Series(cleaned[codes], index=values.index, dtype=object)  # -1 -> None
    stripped = np.fromiter(map(str.strip, uniques), dtype=object, count=len(uniques))
    blank = stripped == ""
    if blank.any() or (stripped != uniques).any():  # ' A' and 'A' meet; blanks are missing
        stripped[blank] = None
        codes_of_stripped, stripped = pd.factorize(stripped)
        codes = np.append(codes_of_stripped, -1)[codes]  # code -1 (blank) stays -1
    text = _categorical(codes, pd.Index(stripped, dtype="str"))
    return pd.Series(text, index=values.index)


def _stripped(value: object) -> object:
    return (value.strip() or None) if isinstance(value, str) else value


def _column_cells(parts: list[_Part]) -> tuple[pd.Series, np.ndarray]:
    """A sheet column's cells as `_cells` and `_inferred` give them, and which are filled; no
    per-cell Python work when all its parts are floats or dates."""
    if not parts:
        return pd.Series([], dtype=object), np.zeros(0, dtype=bool)
    kinds = frozenset().union(*(part.kinds for part in parts))
    if kinds == _FLOATS:
        values = np.concatenate([part.values for part in parts])
        return pd.Series(values), ~np.isnan(values)
    if kinds == _DATES:
        days = np.concatenate([part.values for part in parts])
        return pd.Series(days), np.ones(len(days), dtype=bool)
    objects = np.concatenate([part.values.astype(object, copy=False) for part in parts])
    objects = pd.Series(objects, dtype=object)
    cells = _inferred(_cells(objects if str in kinds else _inferred(objects)))
    return cells, cells.notna().to_numpy()


def _inferred(values: pd.Series) -> pd.Series:
    """An object column as float64, str or datetime64 when all its cells are of one kind."""
    return values.infer_objects() if values.dtype == object else values


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


def _is_text(dtype: object) -> bool:
    """str or object text, or categories (which `_cells` only makes of text)."""
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


NUMBER_NOISE = r"[\s'’€$£¥]|(?i:eur|usd|gbp)"  # spaces, apostrophes (1'234), currency
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


def _texts(values: pd.Series) -> pd.Series:
    """str, or categories of str; whole numbers without '.0' (customer 1001.0 -> '1001');
    dates as ISO text."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # text already (see `_cells`)
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


def _orders(table: _Table, columns: ColumnMap, as_of: dt.date) -> Orders:
    cells = table.cells
    roles = resolve_roles(list(cells.columns), columns, table.where)
    numbers = partial(_numbers, decimal_comma=table.decimal_comma)
    customer = _parse(cells[roles["customer"]], _texts)
    date = _parse(cells[roles["date"]], _dates)
    amount = _parse(cells[roles["amount"]], numbers).to_numpy(dtype="float64")
    order_id = _parse(cells[roles["order_id"]], _texts) if "order_id" in roles else None
    reason = _reasons(cells, table.filled, roles, customer, date, amount, order_id, as_of)
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
    optional = {
        role: _finite(_parse(cells[roles[role]], numbers).to_numpy(dtype="float64"))
        for role in ("cost", "margin", "quantity")
        if role in roles
    }
    lines["margin_amount"] = _margin_amount(amount, optional, used)
    if "quantity" in optional:
        lines["quantity"] = optional["quantity"][used]
    lines["row"] = table.rows[used]
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
    return _categorical(codes, categories)


def _categorical(codes: np.ndarray, categories: pd.Index) -> pd.Categorical:
    """``codes`` into ``categories``, which are distinct by construction (factorize's uniques
    or some of them). pandas' public constructor hashes every category to check that (0.15 s
    for a million order ids), so its unchecked one is used where it has it."""
    unchecked = UNCHECKED_CATEGORIES
    dtype = unchecked(categories, False) if unchecked else pd.CategoricalDtype(categories)
    return pd.Categorical.from_codes(codes, dtype=dtype)


def _reasons(
    cells: pd.DataFrame,
    filled: dict[str, np.ndarray],
    roles: dict[str, str],
    customer: pd.Series,
    date: pd.Series,
    amount: np.ndarray,
    order_id: pd.Series | None,
    as_of: dt.date,
) -> np.ndarray:
    """Each row's exclusion reason as an index into REASONS (the first that applies), or -1."""
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
    reason = np.select(list(checks.values()), [REASONS.index(name) for name in checks], -1)
    if order_id is not None:
        repeated = _repeated_orders(cells, order_id, customer, date, amount < 0, reason < 0)
        reason[repeated] = REASONS.index(DUPLICATE_ORDER_ID)
    return reason


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


def _margin_amount(
    amount: np.ndarray, optional: dict[str, np.ndarray], used: np.ndarray
) -> np.ndarray:
    """Currency margin of each used row: amount - cost; or a margin column, read as a
    fraction of the amount when every used value lies in [-1, 1], else as currency."""
    amount = amount[used]
    if "cost" in optional:
        return amount - optional["cost"][used]
    if "margin" in optional:
        margin = optional["margin"][used]
        readable = margin[np.isfinite(margin)]
        return margin * amount if np.all(np.abs(readable) <= 1) else margin
    return np.full(len(amount), np.nan)


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def _exclusion(reason: str, mask: np.ndarray, rows: np.ndarray) -> Exclusion:
    return Exclusion(reason, int(mask.sum()), tuple(int(r) for r in rows[mask][:EXAMPLE_ROWS]))


def _describe(exclusion: Exclusion) -> str:
    rows = ", ".join(str(row) for row in exclusion.examples)
    count = f"{exclusion.count} row" + ("s" if exclusion.count > 1 else "")
    example = "row" + ("s" if len(exclusion.examples) > 1 else "")
    return f"{exclusion.reason} in {count} ({example} {rows})"
