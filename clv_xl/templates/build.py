"""The template workbooks for finance teams, built reproducibly into ``templates/``.

* ``clv_calculator.xlsx``: a CLV model for one customer segment in native Excel
  formulas (no add-in needed). Its formulas are the library's, written once as
  :class:`ExcelTwin` expressions next to the :mod:`clv_xl.functions.formulas` they mirror;
  its input checks come from the same :class:`~clv_xl.functions.arguments.Bound` declarations.
* ``orders_template.xlsx``: an ``Orders`` table to paste orders into, and the
  Settings sheet from :mod:`clv_xl.excel.settings`.
* ``clv_functions.xlsx``: every worksheet function with an example, its result
  through the add-in and the value the Python library computes.

``clv-xl templates build`` calls :func:`build_templates`. Every build of one
version gives the same bytes: the document dates are :data:`RELEASE_DATE`.
"""

from __future__ import annotations

import datetime as dt
import math
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.utils.cell import absolute_coordinate
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl import __version__
from clv_xl.analysis.params import Params
from clv_xl.excel import settings
from clv_xl.functions import formulas, model_formulas
from clv_xl.functions.arguments import Bound, Formula, WorksheetFormula
from clv_xl.functions.model_formulas import ModelFit
from clv_xl.models.simulate import simulate_bg_nbd, simulate_spend
from clv_xl.report.style import (
    CALCULATION,
    CHECK,
    DATE,
    DECIMAL,
    INPUT,
    INTEGER,
    MONTHS,
    NOTE,
    OUTPUT,
    PERCENT,
    RATIO,
    SECTION,
    TEXT,
    TITLE,
    CellStyle,
    add_note,
    autosize,
    currency_format,
    fit_width_on_print,
    save_reproducibly,
    show_axes,
    write_about_sheet,
    write_header,
    write_heading,
)

#: The date of this version: the About sheets' date and the files' created/modified date.
RELEASE_DATE = dt.datetime(2026, 11, 22)
DEFAULT_OUT_DIR = Path(__file__).resolve().parents[2] / "templates"
CALCULATOR = "clv_calculator.xlsx"
ORDERS_TEMPLATE = "orders_template.xlsx"
FUNCTIONS = "clv_functions.xlsx"
SAMPLE_ORDERS = "sample_orders.xlsx"

EUR = currency_format("€")
EUR_WHOLE = currency_format("€", decimals=0)
MAX_ROWS = 100_000  # data validation on the orders reaches this far down


def build_templates(out_dir: Path = DEFAULT_OUT_DIR) -> list[Path]:
    """Write every template workbook into ``out_dir``; returns their paths."""
    builders: dict[str, Callable[[], Workbook]] = {
        CALCULATOR: calculator_workbook,
        ORDERS_TEMPLATE: orders_workbook,
        FUNCTIONS: functions_workbook,
    }
    paths = [_save(build(), out_dir / name) for name, build in builders.items()]
    from clv_xl.orders.sample import write_sample_orders  # lazy: the demo data is only needed here

    write_sample_orders(out_dir / SAMPLE_ORDERS)
    return [*paths, out_dir / SAMPLE_ORDERS]


def _save(wb: Workbook, path: Path) -> Path:
    for ws in wb.worksheets:
        fit_width_on_print(ws)
    return save_reproducibly(wb, path, RELEASE_DATE)


# The library's formulas in Excel -----------------------------------------------------------
@dataclass(frozen=True)
class ExcelTwin:
    """A library formula written as an Excel expression over its own argument names.

    ``expression`` uses ``{argument}`` placeholders; arguments it leaves out take
    the library's defaults unless ``assumes`` says otherwise.
    """

    formula: Formula
    expression: str
    assumes: str = ""

    def __post_init__(self) -> None:
        unknown = self.placeholders - set(self.formula.args)
        if unknown:
            raise TypeError(f"{self.formula.__name__} has no arguments {sorted(unknown)}")

    @property
    def placeholders(self) -> set[str]:
        return {field for _, field, _, _ in string.Formatter().parse(self.expression) if field}

    def excel(self, **references: str) -> str:
        """The expression with each argument replaced by a cell reference or defined name."""
        if set(references) != self.placeholders:
            raise TypeError(f"{self.formula.__name__} needs {sorted(self.placeholders)}")
        return self.expression.format(**references)


CLV = ExcelTwin(formulas.clv, "{revenue}*{margin}/{churn}")
LIFETIME = ExcelTwin(formulas.customer_lifetime, "1/{churn}")
DISCOUNTED_CLV = ExcelTwin(
    formulas.clv_discounted,
    "{margin}*(1+{discount_rate})/(1+{discount_rate}-{retention})",
    assumes='an endless horizon, the first margin at acquisition (timing "begin", the '
    "segment report's convention), no retention cost, and the acquisition cost left out",
)
LTV_CAC = ExcelTwin(formulas.ltv_cac, "{clv}/{cac}")
CAC_PAYBACK = ExcelTwin(formulas.cac_payback, "{cac}/({revenue}*{margin})")


def bound_condition(reference: str, bound: Bound) -> str:
    """An Excel condition that is TRUE when the referenced value lies inside ``bound``."""
    parts = [f"ISNUMBER({reference})"]
    if math.isfinite(bound.low):
        parts.append(f"{reference}{'>' if bound.low_open else '>='}{bound.low:g}")
    if math.isfinite(bound.high):
        parts.append(f"{reference}{'<' if bound.high_open else '<='}{bound.high:g}")
    return f"AND({','.join(parts)})"


# clv_calculator.xlsx ------------------------------------------------------------------------
MODEL = "Model"
SENSITIVITY = "Sensitivity"


@dataclass(frozen=True)
class ModelCell:
    """One named cell of the model: an input value, or a formula (without the "=")."""

    name: str
    label: str
    content: float | str
    number_format: str
    note: str
    bound: Bound | None = None  # inputs: the values the library accepts


@dataclass(frozen=True)
class Section:
    """A labelled block of the model sheet whose cells share one role."""

    title: str
    role: CellStyle
    cells: tuple[ModelCell, ...]


INPUTS = Section(
    "Inputs (change the blue cells)",
    INPUT,
    (
        ModelCell(
            "ARPU",
            "Revenue per customer per month (EUR)",
            200.0,
            EUR,
            "Average monthly revenue per customer (ARPU) in this segment, in euro.",
            formulas.clv.args["revenue"].bound,
        ),
        ModelCell(
            "GrossMargin",
            "Gross margin (% of revenue)",
            0.30,
            PERCENT,
            "Share of revenue kept after the cost of goods: (price - cost) / price.",
            formulas.clv.args["margin"].bound,
        ),
        ModelCell(
            "MonthlyChurn",
            "Churn per month (% of customers)",
            0.06,
            PERCENT,
            "Share of customers lost each month.",
            formulas.clv.args["churn"].bound,
        ),
        ModelCell(
            "DiscountRate",
            "Discount rate per year (%)",
            Params().annual_discount_rate,
            PERCENT,
            "Annual cost of capital used to discount future margin.",
            formulas.clv_discounted.args["discount_rate"].bound,
        ),
        ModelCell(
            "CAC",
            "Acquisition cost per new customer (EUR)",
            300.0,
            EUR,
            "Marketing and sales cost to win one new customer, in euro.",
            formulas.ltv_cac.args["cac"].bound,
        ),
    ),
)
CONSTANTS = Section(
    "Constants",
    INPUT,
    (
        ModelCell(
            "MonthsPerYear",
            "Months per year (months)",
            formulas.MONTHS_PER_YEAR,
            INTEGER,
            "A constant, named so that no formula holds a hard-coded 12.",
            formulas.POSITIVE,
        ),
    ),
)
CALCULATIONS = Section(
    "Calculations",
    CALCULATION,
    (
        ModelCell(
            "MonthlyRetention",
            "Retention per month (% of customers)",
            "1-MonthlyChurn",
            PERCENT,
            "Retention = 1 - churn.",
        ),
        ModelCell(
            "MonthlyDiscountRate",
            "Discount rate per month (%)",
            "(1+DiscountRate)^(1/MonthsPerYear)-1",
            "0.000%",
            "The annual rate compounded monthly: (1 + annual)^(1/12) - 1.",
        ),
        ModelCell(
            "MarginPerMonth",
            "Gross margin per customer per month (EUR)",
            "ARPU*GrossMargin",
            EUR,
            "Revenue per month x gross margin.",
        ),
    ),
)
OUTPUTS = Section(
    "Outputs",
    OUTPUT,
    (
        ModelCell(
            "CustomerLifetime",
            "Average customer lifetime (months)",
            LIFETIME.excel(churn="MonthlyChurn"),
            MONTHS,
            "1 / monthly churn (seed article 002).",
        ),
        ModelCell(
            "CLV",
            "Customer lifetime value, undiscounted (EUR)",
            CLV.excel(revenue="ARPU", margin="GrossMargin", churn="MonthlyChurn"),
            EUR,
            "Revenue per month x gross margin / monthly churn (seed article 003).",
        ),
        ModelCell(
            "DiscountedCLV",
            "Customer lifetime value, discounted (EUR)",
            DISCOUNTED_CLV.excel(
                margin="MarginPerMonth",
                retention="MonthlyRetention",
                discount_rate="MonthlyDiscountRate",
            ),
            EUR,
            "Margin x (1 + i) / (1 + i - retention), i the monthly discount rate: the "
            "first month's margin at acquisition, no end (as the segment report).",
        ),
        ModelCell(
            "LTV_CAC",
            "LTV:CAC ratio (undiscounted CLV / acquisition cost, x)",
            LTV_CAC.excel(clv="CLV", cac="CAC"),
            RATIO,
            "3x or more is usually called healthy.",
        ),
        ModelCell(
            "CACPaybackMonths",
            "Acquisition cost payback (months)",
            CAC_PAYBACK.excel(cac="CAC", revenue="ARPU", margin="GrossMargin"),
            MONTHS,
            "Acquisition cost / gross margin per month.",
        ),
    ),
)
MODEL_SECTIONS = (INPUTS, CONSTANTS, CALCULATIONS, OUTPUTS)
CHECKS_OK = "ChecksOK"

#: The sensitivity table's headers (inputs on the Sensitivity sheet).
SENSITIVITY_CHURN = (0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.10, 0.12, 0.15)
SENSITIVITY_MARGIN = (0.20, 0.30, 0.40, 0.50, 0.60)
SENSITIVITY_FIRST_ROW = 5  # the margin headers; churn values below, in column A


def calculator_workbook() -> Workbook:
    """The CLV calculator: model, sensitivity table with chart, About sheet."""
    wb = Workbook()
    model = wb.active
    model.title = MODEL
    _write_model(wb, model)
    _write_sensitivity(wb.create_sheet(SENSITIVITY))
    write_about_sheet(
        wb,
        "CLV calculator for one customer segment",
        [
            *_version_rows(),
            ("Needs", "Nothing but Excel: native formulas only, no add-in."),
            (
                "Periods",
                "Revenue, churn, lifetime and payback are per month; the discount "
                "rate is per year, made monthly as (1 + annual)^(1/MonthsPerYear) - 1.",
            ),
            ("Discounted CLV", f"Assumes {DISCOUNTED_CLV.assumes}; retention = 1 - churn."),
            ("LTV:CAC", "Uses the undiscounted CLV."),
            ("Colours", "Blue on yellow: inputs. Black: calculations. Bold on green: outputs."),
            (
                "Checks",
                f"The Checks area on the {MODEL} sheet shows OK when every input is "
                "in range and every output is a number.",
            ),
            (
                "Sources",
                "Seed articles on CLV (revenue x margin / churn; lifetime = 1 / churn); "
                "Gupta & Lehmann (2003) for the discounted form.",
            ),
        ],
        index=0,
    )
    wb.active = wb.sheetnames.index(MODEL)
    return wb


def _write_model(wb: Workbook, ws: Worksheet) -> None:
    write_heading(
        ws,
        "CLV calculator: one customer segment",
        "Change the blue cells; everything else is calculated. "
        "Every value has a workbook name (Formulas > Name Manager).",
    )
    row = 4
    checks: list[tuple[str, str, str]] = []
    for section in MODEL_SECTIONS:
        SECTION.apply(ws.cell(row=row, column=1, value=section.title))
        row += 1
        for item in section.cells:
            ws.cell(row=row, column=1, value=item.label)
            content = f"={item.content}" if isinstance(item.content, str) else item.content
            cell = section.role.apply(ws.cell(row=row, column=2, value=content), item.number_format)
            NOTE.apply(ws.cell(row=row, column=3, value=item.note))
            _define(wb, item.name, ws, cell.coordinate)
            if section.role is INPUT:
                add_note(cell, f"{item.label}: {item.note}")
            if item.bound is not None:
                _validate(ws, cell.coordinate, item, item.bound)
                condition = bound_condition(item.name, item.bound)
                checks.append(
                    (f"{item.label}: in range", condition, f"Must be {item.bound.meaning}.")
                )
            row += 1
        row += 1
    checks += [
        (
            f"{item.label}: a number",
            f"ISNUMBER({item.name})",
            "FALSE when an input is out of range.",
        )
        for item in OUTPUTS.cells
    ]
    _write_checks(wb, ws, row, checks)
    ws.column_dimensions["A"].width = max(len(label) for label, _, _ in checks)
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 90
    ws.freeze_panes = "A4"


def _validate(ws: Worksheet, coordinate: str, item: ModelCell, bound: Bound) -> None:
    """Data validation that accepts only the values the library accepts."""
    validation = DataValidation(
        type="custom",
        formula1=bound_condition(coordinate, bound),
        showErrorMessage=True,
        errorTitle=item.name,
        error=f"{item.label} must be {bound.meaning}.",
        showInputMessage=True,
        promptTitle=item.name,
        prompt=item.note,
    )
    validation.add(coordinate)
    ws.add_data_validation(validation)


def _write_checks(
    wb: Workbook, ws: Worksheet, row: int, checks: Sequence[tuple[str, str, str]]
) -> None:
    """The Checks area from ``row``: (label, condition, note) rows of TRUE/FALSE, then OK."""
    SECTION.apply(ws.cell(row=row, column=1, value="Checks (TRUE = passed)"))
    first = row + 1
    for row, (label, condition, note) in enumerate(checks, start=first):
        ws.cell(row=row, column=1, value=label)
        CHECK.apply(ws.cell(row=row, column=2, value=f"={condition}"))
        NOTE.apply(ws.cell(row=row, column=3, value=note))
    last = row
    row += 1
    ws.cell(row=row, column=1, value="All checks").font = SECTION.font
    overall = f'=IF(AND(B{first}:B{last}),"OK","CHECK INPUTS")'
    CHECK.apply(ws.cell(row=row, column=2, value=overall))
    _define(wb, CHECKS_OK, ws, f"B{row}")
    failed = PatternFill(fill_type="solid", start_color="FFC7CE", end_color="FFC7CE")
    ws.conditional_formatting.add(
        f"B{first}:B{last}", CellIsRule(operator="notEqual", formula=["TRUE"], fill=failed)
    )
    ws.conditional_formatting.add(
        f"B{row}", CellIsRule(operator="notEqual", formula=['"OK"'], fill=failed)
    )


def _write_sensitivity(ws: Worksheet) -> None:
    """CLV over churn (rows) x margin (columns), each cell the library's CLV formula on ARPU."""
    write_heading(
        ws,
        "CLV sensitivity: monthly churn x gross margin",
        f"Undiscounted CLV (EUR) = ARPU x gross margin / monthly churn, with ARPU from "
        f"the {MODEL} sheet. Change the blue headers to see other churn and margin values.",
    )
    header = SENSITIVITY_FIRST_ROW
    SECTION.apply(ws.cell(row=header - 1, column=2, value="Gross margin (% of revenue) →"))
    SECTION.apply(ws.cell(row=header, column=1, value="Churn per month (% of customers) ↓"))
    for column, margin in enumerate(SENSITIVITY_MARGIN, start=2):
        INPUT.apply(ws.cell(row=header, column=column, value=margin), PERCENT)
    for row, churn in enumerate(SENSITIVITY_CHURN, start=header + 1):
        INPUT.apply(ws.cell(row=row, column=1, value=churn), PERCENT)
        for column in range(2, 2 + len(SENSITIVITY_MARGIN)):
            letter = get_column_letter(column)
            clv = CLV.excel(revenue="ARPU", margin=f"{letter}${header}", churn=f"$A{row}")
            CALCULATION.apply(ws.cell(row=row, column=column, value=f"={clv}"), EUR_WHOLE)
    last_row = header + len(SENSITIVITY_CHURN)
    last_column = get_column_letter(1 + len(SENSITIVITY_MARGIN))
    ws.conditional_formatting.add(
        f"B{header + 1}:{last_column}{last_row}",
        ColorScaleRule(
            start_type="min",
            start_color="F8696B",
            mid_type="percentile",
            mid_value=50,
            mid_color="FFEB84",
            end_type="max",
            end_color="63BE7B",
        ),
    )
    chart = LineChart()
    chart.title = "CLV (EUR) by monthly churn and gross margin"
    chart.x_axis.title = "Churn per month"
    chart.y_axis.title = "CLV (EUR)"
    show_axes(chart)
    chart.height, chart.width = 9, 16
    data = Reference(
        ws, min_col=2, max_col=1 + len(SENSITIVITY_MARGIN), min_row=header, max_row=last_row
    )
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last_row))
    ws.add_chart(chart, f"{get_column_letter(len(SENSITIVITY_MARGIN) + 3)}{header - 1}")
    ws.column_dimensions["A"].width = 36
    for column in range(2, 2 + len(SENSITIVITY_MARGIN)):
        ws.column_dimensions[get_column_letter(column)].width = 13


def _define(wb: Workbook, name: str, ws: Worksheet, coordinate: str) -> None:
    """Give one cell a workbook-level defined name."""
    reference = f"{quote_sheetname(ws.title)}!{absolute_coordinate(coordinate)}"
    wb.defined_names[name] = DefinedName(name, attr_text=reference)


def _version_rows() -> list[tuple[str, Any]]:
    return [
        ("Version", f"clv_xl {__version__}"),
        ("Date", RELEASE_DATE.date()),
        ("Built by", "clv-xl templates build (do not edit by hand: rebuild instead)"),
    ]


# orders_template.xlsx -----------------------------------------------------------------------
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
            *_version_rows(),
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
        _define(wb, setting.name, ws, cell.coordinate)
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
        ws.cell(row=row, column=1, value=column.header).font = Font(bold=True)
        ws.cell(row=row, column=2, value=column.meaning)
        ws.cell(row=row, column=3, value=column.rule.wanted if column.rule else "-")
    autosize(ws)
    ws.column_dimensions["A"].width = 16


# clv_functions.xlsx -------------------------------------------------------------------------
FUNCTIONS_SHEET = "Functions"
#: One example per worksheet function, in argument order; seed-article examples where they exist.
FUNCTION_EXAMPLES: dict[str, tuple[Any, ...]] = {
    "clv": (200, 0.3, 0.06),
    "customer_lifetime": (0.01,),
    "customer_value": (60, 7),
    "clv_from_lifetime": (420, 4),
    "clv_discounted": (60, 0.8, 0.1, None, 100, 5, "end"),
    "gross_margin": (60, 45),
    "markup": (60, 45),
    "monthly_revenue": (7, 60),
    "churn_rate": (1000, 60),
    "retention_rate": (1000, 60),
    "convert_rate": (0.05, 1, 12),
    "ltv_cac": (1000, 300),
    "cac_payback": (300, 200, 0.3),
    "breakeven_lifetime": (300, 60, 10),
    "nrr": (100_000, 15_000, 5_000, 8_000),
    "grr": (100_000, 5_000, 8_000),
    # The model predictions use published estimates: BG/NBD on CDNOW (Fader, Hardie & Lee
    # 2005: r 0.243, alpha 4.414, a 0.793, b 2.426) for its first customer (2 repeat
    # purchases, the last in week 30.43, first purchase 38.86 weeks ago: 1.226 purchases
    # expected in the next 39 weeks), Gamma-Gamma on CDNOW (Fader & Hardie 2013: p 6.25,
    # q 3.74, gamma 15.44) and sBG on the "regular" customers (Fader & Hardie 2007).
    "prob_alive": (2, 30.43, 38.86, 0.243, 4.414, 0.793, 2.426),
    "expected_purchases": (39, 2, 30.43, 38.86, 0.243, 4.414, 0.793, 2.426),
    "expected_spend": (2, 22.35, 6.25, 3.74, 15.44),
    "sbg_retention": (3, 0.704, 1.182),
    "sbg_survival": (3, 0.704, 1.182),
}
#: The fit examples' customers: simulated from these BG/NBD and Gamma-Gamma parameters, first
#: purchases 20 to 52 weeks ago, times rounded to hundredths of a week and spend to cents.
FIT_CUSTOMERS = 30
FIT_SEED = 3
FIT_WEEKS = (20.0, 52.0)
SIMULATED_BG_NBD = {"r": 0.8, "alpha": 4.0, "a": 0.8, "b": 2.5}
SIMULATED_SPEND = {"p": 6.0, "q": 4.0, "gamma": 15.0}
#: Fader & Hardie (2007), Table 1: "regular" customers still active after 0..7 years.
REGULAR_SURVIVORS = (1000, 631, 468, 382, 326, 289, 262, 241)


def fit_examples() -> dict[str, dict[str, list[float]]]:
    """The data columns of each fit example, by function and argument name."""
    rng = np.random.default_rng(FIT_SEED)
    age = np.round(rng.uniform(*FIT_WEEKS, FIT_CUSTOMERS), 2)
    history = simulate_bg_nbd(**SIMULATED_BG_NBD, T=age, seed=FIT_SEED)
    frequency = history["frequency"].to_numpy().astype(int)
    spend = simulate_spend(**SIMULATED_SPEND, frequency=frequency, seed=FIT_SEED)
    return {
        "bgnbd_fit": {
            "frequency": frequency.tolist(),
            "recency": np.round(history["recency"].to_numpy(), 2).tolist(),
            "T": age.tolist(),
        },
        "gg_fit": {"frequency": frequency.tolist(), "monetary_value": np.round(spend, 2).tolist()},
        "sbg_fit": {"survivors": list(REGULAR_SURVIVORS)},
    }


FUNCTIONS_FIRST_ROW = 5
RESULT, EXPECTED, CHECK_HEADING = "Result (add-in)", "Expected (Python library)", "Check"
#: Largest difference between the add-in's result and the library's value that still passes.
TOLERANCE = "1E-9"
#: Largest relative difference between a fit's estimates and the library's that still passes:
#: the standard errors come from a numerical Hessian, whose sixth digit differs from one
#: processor to another.
FIT_TOLERANCE = "1E-4"
MODELS_HEADING = "Buy-till-you-die models: fit to the data on the left, then predict"


def excel_name(formula: WorksheetFormula) -> str:
    """The name Excel shows a worksheet function under: the upper-case Python name."""
    return formula.__name__.upper()


def functions_workbook() -> Workbook:
    """Every worksheet function with an example: the add-in's result next to the library's."""
    wb = Workbook()
    ws = wb.active
    ws.title = FUNCTIONS_SHEET
    write_heading(
        ws,
        "The CLV worksheet functions, with examples",
        "Needs the clv_xl add-in (without it the Result column shows #NAME?). "
        "Check is TRUE when the add-in's result equals the value the Python library "
        "computed when this workbook was built. Change the blue inputs to try other values.",
    )
    row = FUNCTIONS_FIRST_ROW
    for formula in formulas.ALL:
        _write_function(ws, row, formula, FUNCTION_EXAMPLES[formula.__name__])
        row += 3
    SECTION.apply(ws.cell(row=row, column=1, value=MODELS_HEADING))
    row += 2
    fits = fit_examples()
    for function in model_formulas.ALL:
        if isinstance(function, ModelFit):
            row = _write_fit(ws, row, function, fits[function.__name__])
        else:
            _write_function(ws, row, function, FUNCTION_EXAMPLES[function.__name__])
            row += 3
    for column in range(1, ws.max_column + 1):
        ws.column_dimensions[get_column_letter(column)].width = 26
    write_about_sheet(
        wb,
        "CLV worksheet functions: examples",
        [
            *_version_rows(),
            (
                "Needs",
                "The clv_xl add-in; each function is =NAME(...) with its Python name in capitals.",
            ),
            (
                "Layout",
                "Per function: a row of argument names (notes explain each), then the "
                "example inputs, the formula, the library's value, the check and a summary. "
                "The model fits take columns of data and spill a table (an array formula); "
                "below it the library's table and the check of the estimates.",
            ),
        ],
    )
    return wb


def _write_function(ws: Worksheet, row: int, formula: Formula, example: tuple[Any, ...]) -> None:
    """Two rows: the headings (argument names), then example, formula, value, check, summary."""
    names = list(formula.args)
    write_header(ws, row, [excel_name(formula), *names, RESULT, EXPECTED, CHECK_HEADING])
    for column, name in enumerate(names, start=2):
        add_note(ws.cell(row=row, column=column), formula.args[name].doc)
    values = row + 1
    cells = []
    for column, value in enumerate(example, start=2):
        cell = INPUT.apply(ws.cell(row=values, column=column, value=value))
        cells.append(cell.coordinate)
    result_column = 2 + len(names)
    result = ws.cell(row=values, column=result_column)
    expected = ws.cell(row=values, column=result_column + 1)
    check = ws.cell(row=values, column=result_column + 2)
    NOTE.apply(ws.cell(row=values, column=result_column + 3, value=formula.summary))
    OUTPUT.apply(result, "#,##0.000000").value = f"={excel_name(formula)}({','.join(cells)})"
    CALCULATION.apply(expected, "#,##0.000000").value = formula(*example)
    CHECK.apply(check).value = f"=ABS({result.coordinate}-{expected.coordinate})<{TOLERANCE}"


def _write_fit(ws: Worksheet, row: int, fit: ModelFit, columns: dict[str, list[float]]) -> int:
    """The data columns under their names; beside them the fit's table (an array formula),
    the library's table below it and the check of the estimates. Returns the next free row."""
    names = list(fit.args)
    write_header(ws, row, [excel_name(fit), *names])
    ranges = []
    for column, name in enumerate(names, start=2):
        add_note(ws.cell(row=row, column=column), fit.args[name].doc)
        for offset, value in enumerate(columns[name], start=1):
            INPUT.apply(ws.cell(row=row + offset, column=column, value=value))
        letter = get_column_letter(column)
        ranges.append(f"{letter}{row + 1}:{letter}{row + len(columns[name])}")
    table = fit(*columns.values()).rows
    left = len(names) + 3
    result_top, expected_top = row + 1, row + len(table) + 3
    check_row = expected_top + len(table) + 1
    write_header(ws, row, [RESULT], first_column=left)
    write_header(ws, expected_top - 1, [EXPECTED], first_column=left)
    write_header(ws, check_row, [CHECK_HEADING], first_column=left)
    for i, values in enumerate(table):
        for j, value in enumerate(values):
            number_format = "#,##0.000000" if isinstance(value, float) else None
            OUTPUT.apply(ws.cell(row=result_top + i, column=left + j), number_format)
            expected = ws.cell(
                row=expected_top + i, column=left + j, value=None if value == "" else value
            )
            CALCULATION.apply(expected, number_format)
    bottom_right = _coordinate(result_top + len(table) - 1, left + len(table[0]) - 1)
    spill = f"{_coordinate(result_top, left)}:{bottom_right}"
    ws.cell(row=result_top, column=left).value = ArrayFormula(
        spill, f"={excel_name(fit)}({','.join(ranges)})"
    )
    got, wanted = (_estimates(table, top, left) for top in (result_top, expected_top))
    CHECK.apply(
        ws.cell(row=check_row + 1, column=left)
    ).value = f"=SUMPRODUCT(ABS({got}-{wanted}))<={FIT_TOLERANCE}*SUMPRODUCT(ABS({wanted}))"
    NOTE.apply(ws.cell(row=check_row + 2, column=left, value=fit.summary))
    return max(row + len(next(iter(columns.values()))), check_row + 2) + 2


def _coordinate(row: int, column: int) -> str:
    return f"{get_column_letter(column)}{row}"


def _estimates(table: list[list[Any]], top: int, left: int) -> str:
    """The range of a fit table's estimates and standard errors, with the table at (top, left)."""
    parameters = table[0].index(model_formulas.LOG_LIKELIHOOD) - 1
    return f"{_coordinate(top + 1, left + 1)}:{_coordinate(top + 2, left + parameters)}"
