"""The Excel shell: the ribbon button, and the same report as an Office.js script.

The add-in's ribbon runs ``import clv_xl; clv_xl.main()`` (classic xlwings on
Windows and macOS). ``segment_report`` takes any xlwings ``Book``, so it also
serves xlwings' Office.js add-ins through the ``clv_segment_report`` script.
The orders sheet is only read, never written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlwings as xw

from clv_xl.analysis.params import Params
from clv_xl.errors import ClvError, InputError
from clv_xl.excel.settings import SHEET as SETTINGS_SHEET
from clv_xl.excel.settings import settings_from_rows
from clv_xl.orders.cac import cac_from_rows
from clv_xl.orders.headers import ColumnMap, has_orders_header
from clv_xl.orders.load import Orders, orders_from_grid
from clv_xl.pipeline import report_orders
from clv_xl.report.destination import default_report_name, free_path

ORDERS_SHEET_NAMES = ("orders", "bestellingen")
CAC_SHEET = "CAC"
TITLE = "CLV report"


@dataclass(frozen=True)
class FoundOrders:
    """Where the orders are: their cells, the sheet's name and the grid's first row."""

    grid: list[list[Any]]
    sheet: str
    first_row: int


def _cells(rng: xw.Range) -> list[list[Any]]:
    return rng.options(ndim=2).value


def _from_a1(sheet: xw.Sheet) -> tuple[list[list[Any]], int]:
    """The sheet's cells from A1 to the end of its used range (so row numbers are real)."""
    last = sheet.used_range.last_cell
    return _cells(sheet.range((1, 1), (last.row, last.column))), 1


def find_orders(book: xw.Book) -> FoundOrders:
    """The active sheet if its headers are recognisable, else a sheet named Orders or
    Bestellingen, else the first Excel table with recognisable headers."""
    active = book.sheets.active
    named = [s for s in book.sheets if s.name.strip().casefold() in ORDERS_SHEET_NAMES]
    for sheet in [active, *named]:
        grid, first_row = _from_a1(sheet)
        if has_orders_header(grid):
            return FoundOrders(grid, sheet.name, first_row)
    for sheet in book.sheets:
        for table in sheet.tables:
            grid = _cells(table.range)
            if has_orders_header(grid):
                return FoundOrders(grid, sheet.name, table.range.row)
    raise InputError(
        f"No orders found in {book.name}: the active sheet ('{active.name}'), a sheet named "
        "Orders or Bestellingen, or an Excel table needs a header row with customer, order "
        "date and amount columns."
    )


def report_folder(book: xw.Book) -> Path:
    """Next to a saved workbook; for an unsaved one, the user's Documents folder."""
    saved = Path(book.fullname)
    if saved.is_absolute() and saved.parent.is_dir():
        return saved.parent
    documents = Path.home() / "Documents"
    return documents if documents.is_dir() else Path.home()


def book_orders(book: xw.Book) -> tuple[FoundOrders, Orders, Params]:
    """The orders of ``book`` (`find_orders`) and the parameters of its optional Settings
    sheet, with acquisition costs from its optional CAC sheet (channel and CAC columns under
    a header row); the orders sheet is only read."""
    found = find_orders(book)
    params, segments = Params(), None
    sheets = [s.name for s in book.sheets]
    if SETTINGS_SHEET in sheets:
        params, segments = settings_from_rows(_from_a1(book.sheets[SETTINGS_SHEET])[0])
    if CAC_SHEET in sheets:
        rows = _from_a1(book.sheets[CAC_SHEET])[0]
        params = dataclasses.replace(params, cac=cac_from_rows(rows, f"the {CAC_SHEET} sheet"))
    orders = orders_from_grid(
        found.grid,
        workbook=book.name,
        sheet=found.sheet,
        first_row=found.first_row,
        columns=ColumnMap(segments=segments),
        as_of=params.as_of,
    )
    return found, orders, params


def segment_report(book: xw.Book, output_dir: Path | None = None) -> Path:
    """Write the segment report of the orders in ``book``; return the report's path.

    Settings and CAC come from the optional sheets (`book_orders`); the report is named
    ``<workbook> - CLV report <date>.xlsx`` and never replaces a file.
    """
    _, orders, params = book_orders(book)
    folder = Path(output_dir) if output_dir is not None else report_folder(book)
    name = default_report_name(Path(book.name).stem, dt.date.today())
    return report_orders(orders, free_path(folder / name), params=params).path


def main() -> None:
    """The ribbon button: report on the calling workbook, open it, or say what is wrong."""
    book = xw.Book.caller()
    try:
        path = segment_report(book)
    except ClvError as problem:
        book.app.alert(str(problem), title=TITLE)
        return
    except Exception as failure:  # the button shows a sentence, never a traceback
        book.app.alert(
            f"The CLV report failed unexpectedly ({type(failure).__name__}: {failure}). "
            "Please report this.",
            title=TITLE,
        )
        return
    xw.Book(str(path))


@xw.script
def clv_segment_report(book: xw.Book) -> None:
    """Office.js add-ins: the segment report of this workbook, with a message either way."""
    try:
        message = f"The CLV report is ready: {segment_report(book)}"
    except ClvError as problem:
        message = str(problem)
    book.app.alert(message, title=TITLE)
