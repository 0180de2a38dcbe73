"""Writing values and formulas into cells: data text stays text, formats by kind."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl.report import style
from clv_xl.report.fastsheet import fit_cell

#: Excel's longest table name or defined name.
EXCEL_NAME_CHARACTERS = 255


def formats(currency: str) -> dict[str, str]:
    """Number format per kind of figure."""
    symbol = style.currency_symbol(currency)
    return {
        "money": style.currency_format(symbol),
        "money0": style.currency_format(symbol, decimals=0),
        "percent": style.PERCENT,
        "points": style.PERCENTAGE_POINTS,
        "months": style.MONTHS,
        "days": style.DAYS,
        "count": style.INTEGER,
        "decimal": style.DECIMAL,
        "date": style.DATE,
        "text": style.TEXT,
        "score": "0",
    }


def capitalised(label: str) -> str:
    """A label as a table shows it: its first letter upper case ("order date" -> "Order
    date"), the rest as it is (the sentences that name it keep it lower case)."""
    return label[:1].upper() + label[1:]


def plain(value: Any) -> Any:
    """A value openpyxl can store: numpy scalars unwrapped, NaN and NaT as blank."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


def put(ws: Worksheet, row: int, column: int, value: Any, number_format: str | None = None) -> Cell:
    """Write a value; text is always stored as text, never as a formula."""
    value = plain(value)
    cell = ws.cell(
        row=row, column=column, value=fit_cell(value) if isinstance(value, str) else value
    )
    if isinstance(cell.value, str):
        cell.data_type = "s"  # a customer named "=HYPERLINK(...)" stays a name
    if number_format:
        cell.number_format = number_format
    return cell


def formula(
    ws: Worksheet, row: int, column: int, text: str, number_format: str | None = None
) -> Cell:
    """Write a formula we built (never one made of data)."""
    cell = ws.cell(row=row, column=column, value=text)
    if number_format:
        cell.number_format = number_format
    return cell


def table_columns(headers: Sequence[str]) -> list[str]:
    """Headers as an Excel table's column names: cell text (`fit_cell`), none blank, and
    unique without case, as Excel requires (a repeated ``Status`` becomes ``Status (2)``)."""
    names: list[str] = []
    seen: set[str] = set()
    for position, header in enumerate(headers, start=1):
        name = fit_cell(str(header)).strip() or f"Column {position}"
        base, number = name, 1
        while name.casefold() in seen:
            number += 1
            name = f"{base} ({number})"
        seen.add(name.casefold())
        names.append(name)
    return names


def unique_name(name: str, taken: Iterable[str]) -> str:
    """``name`` cut to 255 characters, or with ``_2``, ``_3``... when a name in ``taken``
    equals it without case (Excel compares table and defined names so)."""
    used = {other.casefold() for other in taken}
    candidate, number = name[:EXCEL_NAME_CHARACTERS], 1
    while candidate.casefold() in used:
        number += 1
        suffix = f"_{number}"
        candidate = name[: EXCEL_NAME_CHARACTERS - len(suffix)] + suffix
    return candidate


def add_table(
    ws: Worksheet, name: str, headers: list[str], header_row: int, last_row: int, table_style: str
) -> Table:
    """An Excel table (with filters) over columns A.. from ``header_row`` to ``last_row``.

    Its name is made unique in the workbook (`unique_name`, against every table and defined
    name), its columns are named by `table_columns`, and the header cells are given those
    names, as Excel requires. The columns are named here, so openpyxl need not visit every
    cell of a large table.
    """
    wb = ws.parent
    taken = [*wb.defined_names, *(t for sheet in wb.worksheets for t in sheet.tables)]
    columns = table_columns(headers)
    for column, header in enumerate(columns, start=1):
        ws.cell(row=header_row, column=column).value = header
    ref = f"A{header_row}:{get_column_letter(len(columns))}{max(last_row, header_row + 1)}"
    table = Table(
        displayName=unique_name(name, taken),
        ref=ref,
        tableColumns=[TableColumn(id=i, name=h) for i, h in enumerate(columns, start=1)],
        autoFilter=AutoFilter(ref=ref),
    )
    table.tableStyleInfo = TableStyleInfo(name=table_style, showRowStripes=True)
    ws.add_table(table)
    return table


def lay_out(
    ws: Worksheet, widths: dict[int, float], default_width: float = 16, freeze: str | None = None
) -> None:
    """Column widths (1-based column -> width; others ``default_width`` up to the last used)
    and frozen panes."""
    for column in range(1, max([ws.max_column, *widths]) + 1):
        ws.column_dimensions[get_column_letter(column)].width = widths.get(column, default_width)
    if freeze:
        ws.freeze_panes = freeze


def paragraph(
    ws: Worksheet,
    row: int,
    text: str,
    last_column: int,
    line_characters: int,
    role: style.CellStyle | None = None,
) -> Cell:
    """``text`` (in ``role``'s style) across columns 1 to ``last_column`` of ``row``, wrapped,
    the row as tall as its lines (about ``line_characters`` a line): readable on paper, not
    cut at the margin."""
    cell = put(ws, row, 1, text)
    if role is not None:
        role.apply(cell)
    cell.alignment = style.WRAPPED
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_column)
    ws.row_dimensions[row].height = style.LINE_HEIGHT * (1 + len(text) // line_characters)
    return cell
