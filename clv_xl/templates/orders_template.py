"""``orders_template.xlsx``: an ``Orders`` table to paste orders into, with data validation,
the Settings sheet of :mod:`clv_xl.excel.settings` and instructions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl.excel import settings
from clv_xl.report.style import (
    DATE,
    DECIMAL,
    INPUT,
    INTEGER,
    PERCENT,
    TEXT,
    TITLE,
    add_note,
    autosize,
    font,
    write_about_sheet,
    write_header,
    write_heading,
)
from clv_xl.templates.shared import (
    MAX_ROWS,
    define_name,
    version_rows,
)

ORDERS = "Orders"
INSTRUCTIONS = "Instructions"


@dataclass(frozen=True)
class Rule:
    """A data-validation rule; ``{cell}`` in ``formula`` stands for the column's first cell."""

    type: str
    operator: str | None
    formula: str
    wanted: str  # what the cell must hold, for the error message
    formula2: str | None = None  # the upper end of "between"


@dataclass(frozen=True)
class OrderColumn:
    """One column of the Orders table: heading, meaning, format and validation."""

    header: str
    meaning: str
    number_format: str | None = None
    rule: Rule | None = None


ORDER_COLUMNS = (
    OrderColumn("Order ID", "Your order number; names the row when it is reported as excluded."),
    OrderColumn("Customer ID", "Who ordered; one customer always has the same ID."),
    OrderColumn(
        "Order date",
        "The day of the order.",
        DATE,
        Rule("date", "greaterThanOrEqual", "1", "a date, such as 2024-01-31"),
    ),
    OrderColumn(
        "Amount",
        "Revenue of the order in the Settings currency; negative for a refund.",
        DECIMAL,
        Rule("custom", None, "ISNUMBER({cell})", "a number (negative for a refund)"),
    ),
    OrderColumn(
        "Cost",
        "Cost of the goods of the order, same currency; blank when unknown.",
        DECIMAL,
        Rule("decimal", "greaterThanOrEqual", "0", "a number of zero or more"),
    ),
    OrderColumn("Channel", "Sales channel, e.g. Web or Store: a segment of the report."),
    OrderColumn("Country", "Country of the customer: a segment of the report."),
)
EXAMPLE_ORDERS: tuple[tuple[Any, ...], ...] = (
    ("O-1001", "C-001", dt.date(2024, 1, 5), 120.00, 70.00, "Web", "NL"),
    ("O-1002", "C-002", dt.date(2024, 1, 9), 45.50, 30.00, "Store", "BE"),
    ("O-1003", "C-001", dt.date(2024, 2, 14), 89.90, 52.00, "Web", "NL"),
    ("O-1004", "C-003", dt.date(2024, 3, 2), 250.00, 160.00, "Email", "DE"),
    ("O-1005", "C-001", dt.date(2024, 3, 20), -20.00, None, "Web", "NL"),
    ("O-1006", "C-002", dt.date(2024, 4, 11), 60.00, 38.00, "Store", "BE"),
)
#: Number format and validation of each kind of setting on the Settings sheet.
SETTING_FORMATS: dict[settings.Kind, tuple[str, Rule | None]] = {
    "fraction": (PERCENT, Rule("decimal", "between", "-1", "a fraction, such as 30% or 0.3", "1")),
    "whole": (INTEGER, Rule("whole", "greaterThanOrEqual", "1", "a whole number of 1 or more")),
    "date": (DATE, Rule("date", "greaterThanOrEqual", "1", "a date, such as 2024-12-31")),
    "text": (TEXT, None),
    "names": (TEXT, None),
}
SETTINGS_FIRST_ROW = 4  # the headings


def orders_workbook() -> Workbook:
    """The orders template: Orders table, Settings, Instructions, About."""
    wb = Workbook()
    orders = wb.active
    orders.title = ORDERS
    _write_orders(orders)
    _write_settings(wb, wb.create_sheet(settings.SHEET))
    _write_instructions(wb.create_sheet(INSTRUCTIONS))
    write_about_sheet(
        wb,
        "Orders template for the CLV segment report",
        [
            *version_rows(),
            ("Needs", "The clv_xl add-in (Segment report button) or the clv-xl command line."),
            (
                "Sheets",
                f"{ORDERS}: your orders. {settings.SHEET}: what the report uses. "
                f"{INSTRUCTIONS}: how to fill them in.",
            ),
        ],
    )
    return wb


def _add_rule(ws: Worksheet, rule: Rule, cells: str, label: str) -> None:
    first = cells.split(":")[0]
    validation = DataValidation(
        type=rule.type,
        operator=rule.operator,
        formula1=rule.formula.format(cell=first),
        formula2=rule.formula2,
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=label,
        error=f"{label} must be {rule.wanted}.",
    )
    validation.add(cells)
    ws.add_data_validation(validation)


def _write_orders(ws: Worksheet) -> None:
    write_header(ws, 1, [column.header for column in ORDER_COLUMNS])
    for row in EXAMPLE_ORDERS:
        ws.append(list(row))
    for index, column in enumerate(ORDER_COLUMNS, start=1):
        letter = get_column_letter(index)
        if column.number_format is not None:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = column.number_format
        if column.rule is not None:
            _add_rule(ws, column.rule, f"{letter}2:{letter}{MAX_ROWS}", column.header)
        add_note(ws.cell(row=1, column=index), column.meaning)
        ws.column_dimensions[letter].width = 14
    last = get_column_letter(len(ORDER_COLUMNS))
    table = Table(displayName=ORDERS, ref=f"A1:{last}{1 + len(EXAMPLE_ORDERS)}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "A2"


def _write_settings(wb: Workbook, ws: Worksheet) -> None:
    write_heading(
        ws,
        "Settings for the segment report",
        "Change the blue values; a blank value means the default in the notes. "
        "The report finds each setting by its label in column A.",
    )
    headings, *rows = settings.settings_table()
    write_header(ws, SETTINGS_FIRST_ROW, headings)
    for row, (setting, values) in enumerate(
        zip(settings.SETTINGS, rows, strict=True), start=SETTINGS_FIRST_ROW + 1
    ):
        number_format, rule = SETTING_FORMATS[setting.kind]
        for column, value in enumerate(values, start=settings.LABEL_COLUMN):
            ws.cell(row=row, column=column, value=value)
        cell = INPUT.apply(ws.cell(row=row, column=settings.VALUE_COLUMN), number_format)
        define_name(wb, setting.name, ws, cell.coordinate)
        if rule is not None:
            _add_rule(ws, rule, cell.coordinate, setting.label)
    autosize(ws)


def _write_instructions(ws: Worksheet) -> None:
    TITLE.apply(ws.cell(row=1, column=1, value="How to use this template"))
    steps = (
        f"1. Paste your orders into the {ORDERS} table on the {ORDERS} sheet, one row per "
        "order, below the headings (replace the example rows). The table grows as you paste.",
        f"2. Check the {settings.SHEET} sheet: margin, discount rate, churn window, analysis "
        "date, segments and currency. Blank values use the defaults in the notes.",
        "3. Click Segment report on the CLV ribbon tab (clv_xl add-in), or run on a command "
        "line: clv-xl report orders_template.xlsx -o report.xlsx",
        "4. Rows the report cannot use (no customer, no date, an amount that is not a number) "
        "are listed in the report with the reason; no row is dropped silently.",
    )
    for row, step in enumerate(steps, start=3):
        ws.cell(row=row, column=1, value=step)
    first = 4 + len(steps)
    write_header(ws, first, ["Column", "What to enter", "Checked when typed"])
    for row, column in enumerate(ORDER_COLUMNS, start=first + 1):
        ws.cell(row=row, column=1, value=column.header).font = font(bold=True)
        ws.cell(row=row, column=2, value=column.meaning)
        ws.cell(row=row, column=3, value=column.rule.wanted if column.rule else "-")
    autosize(ws)
    ws.column_dimensions["A"].width = 16
