"""``clv_calculator.xlsx``: a CLV model for one customer segment in native Excel formulas
(no add-in needed): inputs, calculations, outputs and checks, a sensitivity table and chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl.analysis.params import Params
from clv_xl.functions import formulas
from clv_xl.functions.arguments import Bound
from clv_xl.report.style import (
    CALCULATION,
    CHECK,
    INPUT,
    INTEGER,
    MONTHS,
    NOTE,
    OUTPUT,
    PERCENT,
    RATIO,
    SECTION,
    CellStyle,
    add_note,
    show_axes,
    write_about_sheet,
    write_heading,
)
from clv_xl.templates.excel_twins import (
    CAC_PAYBACK,
    CLV,
    DISCOUNTED_CLV,
    LIFETIME,
    LTV_CAC,
    bound_condition,
)
from clv_xl.templates.shared import (
    EUR,
    EUR_WHOLE,
    define_name,
    version_rows,
)

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
            *version_rows(),
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
            define_name(wb, item.name, ws, cell.coordinate)
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
    define_name(wb, CHECKS_OK, ws, f"B{row}")
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
