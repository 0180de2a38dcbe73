"""The Summary sheet: the executive summary, inputs, parameters, headline results, the CLV
bridge and a sensitivity table.

Every figure that depends on an input is a live formula on the input cells, through
workbook defined names, so changing the margin or the discount rate updates them all. The
formulas' shapes have one home here; the Segments and CAC sheets use the same per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl.analysis.analyze import Analysis
from clv_xl.analysis.headline import CHURN_STEP, MARGIN_STEP, executive_summary
from clv_xl.functions.formulas import MONTHS_PER_YEAR
from clv_xl.report import style
from clv_xl.report.cells import formula, lay_out, paragraph, put

SHEET = "Summary"
#: Characters a printed line of text across columns A to C holds, with some to spare.
SUMMARY_LINE = 130
SENSITIVITY = "Sensitivity"

#: Live formulas, one home each (the CLV framework: clv_xl.analysis.valuation).
CHURN = '=IF(ISNUMBER({lifetime}),1/{lifetime},"")'
CLV = '=IF(ISNUMBER({churn}),{arpu}*{margin}/{churn},"")'
DISCOUNTED_CLV = (
    "=IF(ISNUMBER({churn}),"
    '{arpu}*{margin}*(1+MonthlyDiscountRate)/(MonthlyDiscountRate+{churn}),"")'
)
MARGIN_TO_DATE = "={revenue}/{customers}*{margin}"
REMAINING = '=IF(ISNUMBER({revenue}),{revenue}*{margin},"")'
LIFETIME_MARGIN = '=IF(ISNUMBER({remaining}),{to_date}+{remaining},"")'
SEGMENT_MARGIN = "=Margin+{spread}"
LIFETIME_INDEX = (
    '=IF(AND(ISNUMBER({value}),ISNUMBER(BridgeLifetimeFormula)),{value}/BridgeLifetimeFormula,"")'
)
LTV_CAC = '=IF(AND(ISNUMBER({cac}),ISNUMBER({clv})),IFERROR({clv}/{cac},""),"")'
PAYBACK = '=IF(AND(ISNUMBER({cac}),ISNUMBER({arpu})),{cac}/({arpu}*{margin}),"")'
MONTHLY_DISCOUNT = "=(1+DiscountRate)^(1/MonthsPerYear)-1"
#: The sensitivity grid: steps either side of the base case, in units of the step inputs.
SENSITIVITY_STEPS = (-2, -1, 0, 1, 2)


@dataclass(frozen=True)
class Line:
    """One labelled figure: a defined name (or None), label with unit, value, format kind."""

    name: str | None
    label: str
    value: Any
    kind: str
    note: str = ""


def assumption_lines(analysis: Analysis) -> list[Line]:
    """The inputs: change them here and every figure follows."""
    margin_note = {
        "cost data": "From the orders' cost column (revenue-weighted); each segment adds its "
        "own spread (Segments sheet).",
        "your setting": "As you set it (overrides any cost data).",
        "assumption": "Assumed: the orders have no cost or margin column. Change it here.",
    }[analysis.margin_source]
    p = analysis.params
    return [
        Line("Margin", "Gross margin (% of revenue)", analysis.margin, "percent", margin_note),
        Line("DiscountRate", "Discount rate (% per year)", p.annual_discount_rate, "percent",
             "Cost of capital used to discount future margins."),
    ]  # fmt: skip


def parameter_lines(analysis: Analysis) -> list[Line]:
    """What the analysis was run with: shown, not inputs (a rerun changes them)."""
    p, q = analysis.params, analysis.orders
    return [
        Line("ChurnWindowDays", "Churn window (days without an order)", p.churn_window_days,
             "days", "A customer with no order for this long is lost. Rerun to change."),
        Line("LossDetectionDays", "Loss detection for lifetimes (days without an order)",
             analysis.valuation.detection_days, "days",
             "The churn window, or the 99th percentile of gaps between orders where the "
             "window is shorter (so long gaps are not taken for losses)."),
        Line("AnalysisDate", "Analysis date", analysis.as_of, "date", "Rerun to change."),
        Line("FirstOrderDate", "First order in the data", q.lines["date"].min().date(), "date"),
        Line("LastOrderDate", "Last order in the data", q.lines["date"].max().date(), "date"),
        Line("MonthsPerYear", "Months per year", MONTHS_PER_YEAR, "count", "Constant."),
    ]  # fmt: skip


def result_lines(analysis: Analysis) -> list[Line]:
    """The headline results for all customers (live where an input enters)."""
    o = analysis.overall
    last_year = analysis.revenue_retention.iloc[-1] if len(analysis.revenue_retention) else None
    q = analysis.orders
    refunds = int((q.lines["amount"] < 0).sum())
    return [
        Line("Customers", "Customers (with an order)", o["customers"], "count"),
        Line("Orders", "Orders (purchases; several rows of one order id count once)",
             o["orders"], "count"),
        Line("RefundRows", "Refund rows (negative amounts: lower revenue, not orders)",
             refunds, "count"),
        Line("Revenue", "Revenue (net of refunds)", o["revenue"], "money0"),
        Line("AOV", "Average order value (per order, before refunds)", o["aov"], "money"),
        Line("RepeatRate", "Repeat purchase rate (% of customers with 2+ orders)",
             o["repeat_rate"], "percent"),
        Line("ActiveCustomers", "Active customers (ordered within the churn window)",
             o["active_customers"], "count"),
        Line("CustomerLifetime", "Expected lifetime (months, first to last order; survival)",
             o["lifetime_months"], "months", o["clv_note"]),
        Line("ChurnRate", "Monthly churn (% per month) = 1 / lifetime",
             CHURN.format(lifetime="CustomerLifetime"), "percent"),
        Line("ARPU", "Revenue per active customer per month", o["arpu"], "money"),
        Line("CLV", "CLV of a new customer = revenue per month x margin / churn",
             CLV.format(churn="ChurnRate", arpu="ARPU", margin="Margin"),
             "money0", "The planning number: compare it with CAC (CAC sheet)."),
        Line("DiscountedCLV", "Discounted CLV of a new customer (first month now)",
             DISCOUNTED_CLV.format(churn="ChurnRate", arpu="ARPU", margin="Margin"), "money0"),
        Line("RemainingRevenue", "Expected remaining revenue per customer (formula)",
             o["remaining_revenue"], "money"),
        Line("ModelRevenue", "Expected revenue per customer, next 36 months (model, "
             "discounted)", o["model_revenue_36m"], "money",
             "See the Model sheet." if analysis.prediction.fitted
             else f"No model: {analysis.prediction.reason}"),
        Line("CustomerEquity", "Customer equity: expected remaining margin of today's "
             "customers (formula)",
             '=IF(ISNUMBER(RemainingRevenue),RemainingRevenue*Customers*Margin,"")', "money0"),
        Line("NRR", "Net revenue retention (%, last 12 months vs the 12 before)",
             None if last_year is None else last_year["nrr"], "percent"),
        Line("GRR", "Gross revenue retention (%, last 12 months vs the 12 before)",
             None if last_year is None else last_year["grr"], "percent"),
        Line("RowsRead", "Order rows read", q.rows_read, "count"),
        Line("RowsUsed", "Order rows used (orders and refunds)", q.rows_used, "count"),
        Line("RowsExcluded", "Order rows excluded (see Data quality)", q.rows_excluded, "count"),
    ]  # fmt: skip


#: The CLV bridge, per customer: (name stem, label, formula-based, model-based).
BRIDGE = (
    ("ToDate", "Gross margin to date",
     MARGIN_TO_DATE.format(revenue="Revenue", customers="Customers", margin="Margin"),
     MARGIN_TO_DATE.format(revenue="Revenue", customers="Customers", margin="Margin")),
    ("Remaining", "+ Expected remaining margin",
     REMAINING.format(revenue="RemainingRevenue", margin="Margin"),
     REMAINING.format(revenue="ModelRevenue", margin="Margin")),
    ("Lifetime", "= Expected lifetime margin",
     LIFETIME_MARGIN.format(to_date="BridgeToDateFormula", remaining="BridgeRemainingFormula"),
     LIFETIME_MARGIN.format(to_date="BridgeToDateModel", remaining="BridgeRemainingModel")),
)  # fmt: skip


def write(wb: Workbook, analysis: Analysis, fmt: dict[str, str]) -> Worksheet:
    ws = wb.active
    ws.title = SHEET
    style.TITLE.apply(put(ws, 1, 1, "Customer lifetime value: summary"))
    style.NOTE.apply(
        put(ws, 2, 1, "Blue cells on yellow are inputs; green cells are results. "
                      f"Amounts in {analysis.params.currency}.")
    )  # fmt: skip
    style.SECTION.apply(put(ws, 4, 1, "Executive summary (at the inputs as delivered)"))
    row = 4
    for sentence in executive_summary(analysis):
        row += 1
        paragraph(ws, row, sentence, 3, SUMMARY_LINE)
    row = _block(wb, ws, row + 2, "Assumptions (inputs)", assumption_lines(analysis),
                 style.INPUT, fmt)  # fmt: skip
    row = _block(wb, ws, row + 1, "Parameters (rerun to change)", parameter_lines(analysis),
                 style.CALCULATION, fmt)  # fmt: skip
    row = _block(
        wb, ws, row + 1, "Calculation",
        [Line("MonthlyDiscountRate", "Discount rate (% per month) = (1 + yearly)^(1/12) - 1",
              MONTHLY_DISCOUNT, "percent")],
        style.CALCULATION, fmt,
    )  # fmt: skip
    row = _block(wb, ws, row + 1, "Results: all customers", result_lines(analysis),
                 style.OUTPUT, fmt)  # fmt: skip
    _bridge(wb, ws, row + 1, analysis, fmt)
    for cell in ws["C"]:  # the notes wrap in their column rather than run off the page
        if isinstance(cell.value, str) and not cell.value.startswith("=") and cell.row > 4:
            cell.alignment = style.WRAPPED
    lay_out(ws, {1: 62, 2: 18, 3: 60}, freeze="A4")
    style.fit_wrapped_rows(ws, "C", first_row=5)
    _sensitivity(wb, fmt)
    return ws


def _block(
    wb: Workbook,
    ws: Worksheet,
    row: int,
    title: str,
    lines: list[Line],
    role: style.CellStyle,
    fmt: dict[str, str],
) -> int:
    style.SECTION.apply(put(ws, row, 1, title))
    for line in lines:
        row += 1
        put(ws, row, 1, line.label)
        if isinstance(line.value, str) and line.value.startswith("="):
            cell = formula(ws, row, 2, line.value)
        else:
            cell = put(ws, row, 2, line.value)
        role.apply(cell, fmt[line.kind])
        if line.note:
            style.NOTE.apply(put(ws, row, 3, line.note))
        if line.name:
            _name(wb, line.name, row, 2, ws.title)
    return row + 1


def _bridge(wb: Workbook, ws: Worksheet, row: int, analysis: Analysis, fmt: dict[str, str]) -> int:
    """Margin to date + expected remaining = expected lifetime, per customer, both ways."""
    style.SECTION.apply(put(ws, row, 1, "CLV bridge (per customer)"))
    style.write_header(
        ws,
        row + 1,
        ["", "Formula (undiscounted)", "Model (next 36 months, discounted)"],
    )
    for cell in ws[row + 1]:
        cell.alignment = style.WRAPPED
    ws.row_dimensions[row + 1].height = 2 * style.LINE_HEIGHT
    for offset, (stem, label, by_formula, by_model) in enumerate(BRIDGE, start=row + 2):
        put(ws, offset, 1, label)
        for column, (text, kind) in enumerate(((by_formula, "Formula"), (by_model, "Model")), 2):
            style.OUTPUT.apply(formula(ws, offset, column, text), fmt["money"])
            _name(wb, f"Bridge{stem}{kind}", offset, column)
    note_row = row + 2 + len(BRIDGE)
    note = (
        "Plan with the CLV of a new customer: it counts a customer's whole expected lifetime "
        "from the first order, so it is what acquiring one is worth. The bridge values "
        "today's customers: the formula side adds their whole expected remaining lifetime "
        "(averaged over every customer ever acquired it comes to the CLV); the model side "
        "adds only the next 36 months, discounted, so it is lower."
    )
    paragraph(ws, note_row, note, 3, SUMMARY_LINE)
    return note_row + 1


def _sensitivity(wb: Workbook, fmt: dict[str, str]) -> Worksheet:
    """The Sensitivity sheet: CLV of a new customer over churn (rows) and margin (columns),
    live on the Summary's inputs."""
    ws = wb.create_sheet(SENSITIVITY)
    style.TITLE.apply(put(ws, 1, 1, "Sensitivity: CLV of a new customer by churn and margin"))
    style.NOTE.apply(put(ws, 2, 1, "Around the Summary's figures: change the steps (inputs) "
                                   "or the Summary's inputs and the table follows."))  # fmt: skip
    row = 4
    steps = [
        Line("MarginStep", "Margin step (percentage points)", MARGIN_STEP, "percent"),
        Line("ChurnStep", "Churn step (% of the monthly churn)", CHURN_STEP, "percent"),
    ]
    row = _block(wb, ws, row, "Steps (inputs)", steps, style.INPUT, fmt)
    top = row
    put(ws, top, 1, "Steps (columns: margin; rows: churn)")
    put(ws, top + 1, 1, "Monthly churn (% per month)  \\  Gross margin (%)")
    first = 3
    for k, step in enumerate(SENSITIVITY_STEPS):
        column = get_column_letter(first + k)
        style.CALCULATION.apply(put(ws, top, first + k, step), fmt["count"])
        style.HEADER.apply(
            formula(ws, top + 1, first + k, f"=Margin+{column}{top}*MarginStep"), fmt["percent"]
        )
    for r, step in enumerate(SENSITIVITY_STEPS, start=top + 2):
        style.CALCULATION.apply(put(ws, r, 2, step), fmt["count"])
        churn = f'=IF(ISNUMBER(ChurnRate),ChurnRate*(1+B{r}*ChurnStep),"")'
        style.HEADER.apply(formula(ws, r, 1, churn), fmt["percent"])
        for k in range(len(SENSITIVITY_STEPS)):
            column = get_column_letter(first + k)
            text = CLV.format(churn=f"$A{r}", arpu="ARPU", margin=f"{column}${top + 1}")
            style.OUTPUT.apply(formula(ws, r, first + k, text), fmt["money0"])
    lay_out(ws, {1: 46, 2: 10}, default_width=14)
    return ws


def _name(wb: Workbook, name: str, row: int, column: int, sheet: str = SHEET) -> None:
    ref = f"'{sheet}'!${get_column_letter(column)}${row}"
    wb.defined_names[name] = DefinedName(name, attr_text=ref)
