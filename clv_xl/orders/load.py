"""Orders in: read an orders table from a workbook, a CSV or Parquet file, a grid of cells or
a DataFrame.

`load_orders` finds the columns by their headers (English and Dutch, any case,
spacing or punctuation), reads every cell as the type its column needs, and
accounts for every row: it is used, or excluded with a reason and its sheet row
number (the header is row 1, the first data row row 2). The files are opened by
`clv_xl.orders.source` and turned into raw cells by `clv_xl.orders.raw_table` (each column
typed by `clv_xl.orders.cells`); the headers are recognised by `clv_xl.orders.headers`; cells are
typed by `clv_xl.orders.values` and the rows accounted for by `clv_xl.orders.accounting`.
Every step here works on whole columns (Python loops run only over distinct values).

Knows nothing of the analysis or of Excel's object model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from clv_xl.alongside import alongside
from clv_xl.errors import InputError
from clv_xl.orders.accounting import (
    DUPLICATE_ORDER_ID,
    OTHER_CURRENCY,
    REASONS,
    Exclusion,
    check_totals,
    describe,
    exclusion_of,
    finite,
    margin_amount,
    repeated_orders,
    row_currencies,
    row_reasons,
)
from clv_xl.orders.cells import categorical
from clv_xl.orders.currency import other_currency
from clv_xl.orders.headers import (
    GUESS,
    LABELS,
    ColumnMap,
    find_header,
    listing,
    resolve_roles,
)
from clv_xl.orders.raw_table import (
    RawTable,
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
    check_orders_file,
    orders_file_source,
    read_orders_file,
    workbook_sheet,
)
from clv_xl.orders.values import (
    dates,
    distinct_values,
    numbers,
    parse_column,
    text_codes,
    texts,
)

# ----------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True, eq=False)
class Orders:
    """The used order lines and the account of every row read.

    ``lines`` has one row per used input row, in input order, with the columns
    customer (categories of str), date (datetime64[ns], midnight), amount (float64,
    negative = refund), order_id (only when the input has one: categories 0, 1, 2... that
    number the distinct order ids in sorted order; lines of one order share one, and the
    ids' texts are not kept),
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


PANDAS_WITH_STR = 3  # the first pandas whose default text dtype is str
BLANK_SEGMENT = "(blank)"
#: A guessed segment dimension has at most this many distinct values (names, e-mails are not).
MAX_SEGMENT_VALUES = 250
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
    """Read orders from a file (`clv_xl.orders.source.READABLE_FILES`), a DataFrame or a
    workbook sheet parsed already (`clv_xl.orders.source.workbook_sheet`), and account for
    every row.

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
# Files to a table of raw cells, and its segment columns


def _file_table(path: Path, sheet: str | None, columns: ColumnMap) -> RawTable:
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return sheet_table(workbook_sheet(path, sheet, columns), columns)
    if suffix in PARQUET_SUFFIXES:
        data, source = read_orders_file(path)
        return parquet_table(data, path.name, source, columns)
    # a CSV file, or why it is none; its SHA-256 in a second thread (hashlib holds no GIL)
    # while pyarrow reads it and each column is typed
    check_orders_file(path)
    with alongside(partial(orders_file_source, path)) as hashing:
        table = csv_table(path, Source(str(path), None, None), columns)
    return dataclasses.replace(table, source=hashing.result())


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
        kinds = cells.dtypes  # numbers and dates are no dimension: not looked at one by one
        texts = [h for h in others if not pdt.is_numeric_dtype(kinds[h])]
        segments = [h for h in texts if _is_dimension(cells[h], comma)]
    return segments, [h for h in others if h not in segments]


def _is_dimension(values: pd.Series, decimal_comma: bool) -> bool:
    """Mostly text that is neither a number nor a date, with few distinct values."""
    if pdt.is_numeric_dtype(values.dtype) or pdt.is_datetime64_any_dtype(values.dtype):
        return False  # numbers or dates only (booleans neither)
    codes, uniques = distinct_values(values)
    if not len(uniques) or len(uniques) > MAX_SEGMENT_VALUES:
        return False
    distinct = pd.Series(uniques.array, dtype=values.dtype)
    number = parse_column(distinct, partial(numbers, decimal_comma=decimal_comma)).notna()
    date = parse_column(distinct, dates).notna()
    rows = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return int(rows[~(number | date).to_numpy()].sum()) * 2 > int(rows.sum())


# ----------------------------------------------------------------------------------------------
# The core: coerce the columns and account for every row


def _orders(table: RawTable, columns: ColumnMap, as_of: dt.date) -> Orders:
    cells = table.cells
    roles = resolve_roles(list(cells.columns), columns, table.where)
    as_number = partial(numbers, decimal_comma=table.decimal_comma)
    order_id = parse_column(cells[roles["order_id"]], texts) if "order_id" in roles else None
    # The order ids coded (a sort of millions of texts) while the other columns are parsed.
    with alongside(partial(_order_codes, order_id)) as coding:
        customer = parse_column(cells[roles["customer"]], texts)
        date = parse_column(cells[roles["date"]], dates)
        amount = parse_column(cells[roles["amount"]], as_number).to_numpy(dtype="float64")
        reason = row_reasons(cells, table.filled, roles, customer, date, amount, as_of)
        foreign = other_currency(
            row_currencies(cells, roles), reason < 0, table.rows, table.where, columns.only_currency
        )
        order = coding.result()
    reason[foreign] = REASONS.index(OTHER_CURRENCY)
    if order is not None:
        repeated = repeated_orders(cells, order, customer, date, amount < 0, reason < 0)
        reason[repeated] = REASONS.index(DUPLICATE_ORDER_ID)
    used = reason < 0
    exclusions = tuple(
        exclusion_of(name, reason == REASONS.index(name), table.rows)
        for name in REASONS
        if (reason == REASONS.index(name)).any()
    )
    if not used.any():
        raise InputError(
            f"None of the {len(cells)} data rows in {table.where} can be used: "
            + "; ".join(describe(exclusion) for exclusion in exclusions)
            + "."
        )

    lines = pd.DataFrame(
        {
            "customer": _text_categories(customer, used),
            "date": date[used].array,
            "amount": amount[used],
        },
        copy=False,  # the picked arrays are new already
    )
    if order is not None:  # only compared: the ids' codes, not their texts
        lines["order_id"] = categorical(order[0][used], pd.RangeIndex(order[1]))
    optional: dict[str, np.ndarray] = {
        role: finite(parse_column(cells[roles[role]], as_number).to_numpy(dtype="float64"))
        for role in ("cost", "margin", "quantity")
        if role in roles
    }
    lines["margin_amount"] = margin_amount(amount, optional, used, roles.get("margin", ""))
    if "quantity" in optional:
        lines["quantity"] = optional["quantity"][used]
    lines["row"] = table.rows[used]
    check_totals(lines, table.where)
    segments, ignored = _segment_headers(cells, roles, columns, table.where, table.decimal_comma)
    segment_names = tuple(f"{h} (segment)" if h in LINE_COLUMNS else h for h in segments)
    for header, name in zip(segments, segment_names, strict=True):
        lines[name] = _text_categories(parse_column(cells[header], texts), used, BLANK_SEGMENT)
    unreadable = tuple(
        exclusion_of(f"non-numeric {LABELS[role]}", bad, table.rows)
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


def _order_codes(order_id: pd.Series | None) -> tuple[np.ndarray, int] | None:
    """`text_codes` of the order ids, when the orders have them."""
    return None if order_id is None else text_codes(order_id)


def _text_categories(text: pd.Series, used: np.ndarray, blank: str | None = None) -> pd.Categorical:
    """The ``used`` rows' text as categories; missing cells read ``blank`` when it is given.
    Only the categories used, in sorted order (so that customers and segments come out
    sorted by name). The whole column is encoded, then its codes picked (not its texts)."""
    codes, distinct = distinct_values(text)
    codes, categories = codes[used].astype(np.int64), pd.Index(distinct, dtype="str")
    if blank is not None and (codes < 0).any():
        if blank not in categories:
            categories = categories.append(pd.Index([blank], dtype=categories.dtype))
        codes = np.where(codes < 0, categories.get_loc(blank), codes)
    used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(categories)))
    order = used[categories[used].argsort()]
    recoded = np.full(len(categories) + 1, -1)  # the last for code -1
    recoded[order] = np.arange(len(order))
    codes, categories = recoded[codes], categories[order]
    return categorical(codes, categories)
