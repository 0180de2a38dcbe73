"""An orders table's raw cells under their headers, from any input: a workbook sheet read by
fastexcel (Arrow columns), a CSV file read by pyarrow.csv, a Parquet file, a grid of cell
values (xlwings, .xls, .ods) or a DataFrame. Each column's cells are typed by
:mod:`clv_xl.orders.cells` (blank cells missing, text stripped and categorical).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from clv_xl.errors import InputError
from clv_xl.orders.cells import cleaned, inferred, object_cells, typed_columns
from clv_xl.orders.headers import (
    HEADER_SEARCH_ROWS,
    ColumnMap,
    header_text,
    match_roles,
    recognised_header,
)
from clv_xl.orders.sheet_extent import column_letters
from clv_xl.orders.source import OrdersSheet, Source

#: CSV text looked at to choose the separator and the encoding.
SAMPLE_BYTES = 2**16
#: Rows of a CSV file looked at for its header row (title rows come first).
HEAD_SEARCH = HEADER_SEARCH_ROWS * 5
#: The CSV read a block at a time (pyarrow's default size): no line may be longer.
CSV_BLOCK_BYTES = 2**20


@dataclass(frozen=True)
class RawTable:
    """Raw cells (blank = missing) under their headers, before any type is decided."""

    cells: pd.DataFrame
    rows: np.ndarray  # sheet row number of each data row
    where: str  # names the table in a sentence: "orders.csv", "sheet 'Orders' of sales.xlsx"
    decimal_comma: bool  # read text numbers without a telling separator as 1.234,56
    source: Source
    filled: dict[str, np.ndarray]  # per header: which cells are not blank


# ----------------------------------------------------------------------------------------------
# Inputs


def frame_table(frame: pd.DataFrame) -> RawTable:
    """A DataFrame's columns keep their names (as text), so ``columns`` can index the frame."""
    headers = unique_headers(
        [
            str(name) if header_text(name) else f"Column {column_letters(i)}"
            for i, name in enumerate(frame.columns)
        ]
    )
    cells = pd.DataFrame(
        {
            h: inferred(cleaned(frame.iloc[:, i].reset_index(drop=True)))
            for i, h in enumerate(headers)
        },
        index=pd.RangeIndex(len(frame)),
    )
    rows = np.arange(len(frame), dtype=np.int64) + 2
    filled = {h: cells[h].notna().to_numpy() for h in headers}
    return RawTable(cells, rows, "the orders table", False, Source(None, None, None), filled)


def sheet_table(sheet: OrdersSheet, columns: ColumnMap) -> RawTable:
    """A workbook's orders sheet (`orders.source.open_orders_sheet`)."""
    if sheet.grid is not None:
        return grid_table(sheet.grid, 1, sheet.where, False, sheet.source, columns)
    if not sheet.header:
        raise InputError(f"There is nothing in {sheet.where}.")
    body = typed_columns(list(sheet.columns), _order_id_column(sheet.header, columns))
    return _table_below(
        sheet.header, body, sheet.header_row, sheet.first_column, sheet.where, False, sheet.source
    )


def grid_table(
    grid: Sequence[Sequence[object]],
    first_row: int,
    where: str,
    decimal_comma: bool,
    source: Source,
    columns: ColumnMap,
) -> RawTable:
    """Rows of cell values from column A, the first on sheet row ``first_row``: the header
    row among the first filled rows, the rows below it the data."""
    start = next((i for i, row in enumerate(grid) if any(map(header_text, row))), None)
    if start is None:
        raise InputError(f"There is nothing in {where}.")
    header_at = start + (recognised_header(grid[start : start + HEADER_SEARCH_ROWS], columns) or 0)
    below = grid[header_at + 1 :]
    width = max(map(len, below), default=0)
    body = [object_cells(values) for values in zip_longest(*below, fillvalue=None)]
    body += [pd.Series([None] * len(below), dtype=object)] * (width - len(body))
    return _table_below(
        grid[header_at], body, first_row + header_at, 0, where, decimal_comma, source
    )


def csv_table(path: Path, source: Source, columns: ColumnMap) -> RawTable:
    """A CSV file as Excel saves it: UTF-8 (with or without BOM), UTF-16 or Windows-1252; the
    separator its first line declares (``sep=;``) or the one that splits its first lines
    evenly; every field read as text (types are decided per column later). pyarrow reads
    the file itself, and the columns are typed two at a time, each let go of once typed."""
    name = path.name
    with path.open("rb") as file:
        start = file.read(SAMPLE_BYTES)
    if not start.strip():
        raise InputError(f"{name} is empty.")
    data: Path | bytes = path
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        data = path.read_bytes().decode("utf-16").encode()
        start = start.decode("utf-16", "ignore").encode()
    sample = start.decode("utf-8-sig", "ignore")  # the separators are ASCII in either encoding
    first_line, _, rest = sample.partition("\n")
    declared = re.fullmatch(r"\s*sep=(.)\s*", first_line)  # Excel's "sep=;" line
    separator = declared.group(1) if declared else _csv_separator(sample)
    first_row = 2 if declared else 1
    lines = (rest if declared else sample).splitlines()[:HEAD_SEARCH]
    width = max((len(fields) for fields in csv.reader(lines, delimiter=separator)), default=1)
    layout = (separator, first_row, width)
    try:  # on every core; a file refused is read again on one, whose sentence names the line
        table = _csv_fields(data, path, layout, use_threads=True)
    except InputError:
        table = _csv_fields(data, path, layout, use_threads=False)
    head = [tuple(row.values()) for row in table.slice(0, HEAD_SEARCH).to_pylist()]
    start_at = next((i for i, row in enumerate(head) if any(map(header_text, row))), None)
    if start_at is None:
        raise InputError(f"{name} is empty.")
    found = recognised_header(head[start_at : start_at + HEADER_SEARCH_ROWS], columns)
    header_at = start_at + (found or 0)
    ids = _order_id_column(head[header_at], columns)
    below = [column.slice(header_at + 1) for column in table.columns]
    del table  # each column's text let go of once it is typed
    body = typed_columns(below, ids)
    return _table_below(
        head[header_at], body, first_row + header_at, 0, name, separator == ";", source
    )


def _csv_fields(
    data: Path | bytes, path: Path, layout: tuple[str, int, int], use_threads: bool
) -> pa.Table:
    """The fields of the CSV file at ``path`` (``data``: the file, or its text as UTF-8;
    ``layout``: its separator, the line its rows start on, their width) as text: UTF-8, else
    (pyarrow finds bytes that are no UTF-8) Windows-1252. InputError, in one sentence, for a
    file that is no CSV: pyarrow's parallel reader does not number the lines it refuses, the
    serial one does."""
    name = path.name
    invalid: list[str] = []

    def refuse(row: pa_csv.InvalidRow) -> str:
        invalid.append(
            f"line {row.number} has {row.actual_columns} fields, not {row.expected_columns}"
        )
        return "skip"

    encodings = ["utf8"] if isinstance(data, bytes) else ["utf8", "cp1252"]
    for encoding in encodings:
        invalid.clear()
        try:
            table = _read_csv(data, encoding, layout, use_threads, refuse)
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            if "invalid UTF8" in str(error) and encoding != encodings[-1]:
                continue
            if _longer_than_a_block(str(error), path):
                raise InputError(
                    f"{name} cannot be read as a CSV file: a line of it is longer than "
                    f"{CSV_BLOCK_BYTES // 2**20} MB."
                ) from None
            detail = str(error).strip().splitlines()[0].removeprefix("CSV parse error: ")
            raise InputError(f"{name} cannot be read as a CSV file ({detail}).") from None
    if invalid:
        raise InputError(f"{name} cannot be read as a CSV file ({invalid[0]}).")
    return table


def _longer_than_a_block(error: str, path: Path) -> bool:
    """Whether pyarrow's error says a line does not fit in one block of the file."""
    return "straddling object straddles two block boundaries" in error or (
        "cannot infer number of columns" in error and path.stat().st_size > CSV_BLOCK_BYTES
    )


def _read_csv(
    data: Path | bytes,
    encoding: str,
    layout: tuple[str, int, int],
    use_threads: bool,
    refuse: Callable[[pa_csv.InvalidRow], str],
) -> pa.Table:
    """The CSV file's fields as text (pyarrow reads the file itself)."""
    separator, first_row, width = layout
    return pa_csv.read_csv(
        pa.BufferReader(data) if isinstance(data, bytes) else str(data),
        read_options=pa_csv.ReadOptions(
            autogenerate_column_names=True,
            skip_rows=first_row - 1,
            encoding=encoding,
            use_threads=use_threads,
            block_size=CSV_BLOCK_BYTES,
        ),
        parse_options=pa_csv.ParseOptions(
            delimiter=separator,
            ignore_empty_lines=False,
            newlines_in_values=True,
            invalid_row_handler=refuse,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types={f"f{i}": pa.string() for i in range(width)},
            strings_can_be_null=False,
        ),
    )


def parquet_table(data: bytes, name: str, source: Source, columns: ColumnMap) -> RawTable:
    """A Parquet file: its column names are the headers, its first row sheet row 2."""
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{name} cannot be read as a Parquet file ({error}).") from None
    body = typed_columns(list(table.columns), _order_id_column(table.column_names, columns))
    return _table_below(tuple(table.column_names), body, 1, 0, name, False, source)


# ----------------------------------------------------------------------------------------------
# Header row and the cells below it


def _table_below(
    header: Sequence[object],
    body: Sequence[pd.Series | np.ndarray],
    header_row: int,
    first_column: int,
    where: str,
    decimal_comma: bool,
    source: Source,
) -> RawTable:
    """The cells below a header row (on sheet row ``header_row``; its first cell in sheet
    column ``first_column``). Rows after the last filled one are not data; a column with
    neither a header nor a filled cell is left out; a blank header is named by its
    column's letter."""
    width = max(len(header), len(body))
    length = len(body[0]) if body else 0
    body = [*body, *[np.full(length, np.nan)] * (width - len(body))]
    filled = [_filled(column) for column in body]
    stop = max((_after_last(column) for column in filled), default=0)
    if not stop:
        raise InputError(
            f"There are no data rows below the header row (row {header_row}) in {where}."
        )
    names = [header_text(header[i]) if i < len(header) else "" for i in range(width)]
    kept = [i for i in range(width) if names[i] or filled[i][:stop].any()]
    headers = unique_headers(
        [names[i] or f"Column {column_letters(first_column + i)}" for i in kept]
    )
    columns = {h: body[i] for h, i in zip(headers, kept, strict=True)}
    cells = _frame(columns, stop)
    filled_by_header = {h: filled[i][:stop] for h, i in zip(headers, kept, strict=True)}
    rows = np.arange(header_row + 1, header_row + 1 + stop, dtype=np.int64)
    return RawTable(cells, rows, where, decimal_comma, source, filled_by_header)


def _frame(columns: dict[str, pd.Series | np.ndarray], stop: int) -> pd.DataFrame:
    """The columns' first ``stop`` cells as a DataFrame, the float64 arrays as one block (a
    wide sheet has thousands of them; a frame of separate arrays costs per column)."""
    numbers = [h for h, column in columns.items() if isinstance(column, np.ndarray)]
    others = pd.DataFrame(
        {h: column.array[:stop] for h, column in columns.items() if isinstance(column, pd.Series)},
        index=pd.RangeIndex(stop),
        copy=False,
    )
    if not numbers:
        return others
    block = np.column_stack([columns[h][:stop] for h in numbers]).astype(np.float64, copy=False)
    together = pd.concat([pd.DataFrame(block, columns=numbers), others], axis=1)
    return together if list(together.columns) == list(columns) else together[list(columns)]


def _after_last(filled: np.ndarray) -> int:
    """The position after a column's last filled cell (0 when none is): found from the end,
    with no array of the rows filled in any column."""
    return len(filled) - int(np.argmax(filled[::-1])) if filled.any() else 0


def _filled(column: pd.Series | np.ndarray) -> np.ndarray:
    """Which cells are not blank (NaN, NaT, None or a missing category)."""
    if column.dtype == np.float64:
        return ~np.isnan(np.asarray(column))
    return ~np.asarray(pd.isna(column), dtype=bool)


def unique_headers(headers: list[str]) -> list[str]:
    """Repeated headers numbered: Amount, Amount (2)."""
    seen: dict[str, int] = {}
    unique = []
    for header in headers:
        seen[header] = seen.get(header, 0) + 1
        unique.append(header if seen[header] == 1 else f"{header} ({seen[header]})")
    return unique


# ----------------------------------------------------------------------------------------------
# The order id column and a CSV file's separator


def _order_id_column(header: Sequence[object], columns: ColumnMap) -> int | None:
    """The position of the order id column in a header row, if it has one: its text is
    compared only, and is often distinct in every row (see `clv_xl.orders.cells`)."""
    names = [header_text(value) for value in header]
    found = match_roles(names, columns).get("order_id")
    return names.index(found) if found is not None else None


def _csv_separator(text: str) -> str:
    """The separator that splits the first lines into equally many fields, the most in the
    header line; else the one that splits the header line the most."""
    sample = [fields for fields in text.splitlines()[:HEADER_SEARCH_ROWS] if fields]
    best, best_score = ",", (False, 1)
    for separator in ";,\t|":
        widths = [len(fields) for fields in csv.reader(sample, delimiter=separator)]
        score = (len(set(widths)) == 1, widths[0] if widths else 0)
        if score[1] > 1 and score > best_score:
            best, best_score = separator, score
    return best
