"""The Summary sheet: assumptions (inputs), one calculation, headline results.

Every CLV figure is a live formula on the assumption cells, through workbook
defined names, so changing the margin or the discount rate updates them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from .. import workbook_style as style
from ..analysis import MONTHS_PER_YEAR, Analysis
from .cells import formula, lay_out, put

SHEET = "Summary"

#: Live formulas, one home each; the segment tables use the same shapes per row.
LIFETIME = '=IF({churn},1/{churn},"")'
CLV = '=IF({churn},{arpu}*{margin}/{churn},"")'
DISCOUNTED_CLV = (
    '=IF({churn},{arpu}*{margin}*(1+MonthlyDiscountRate)/(MonthlyDiscountRate+{churn}),"")'
)
MONTHLY_DISCOUNT = "=(1+DiscountRate)^(1/MonthsPerYear)-1"


@dataclass(frozen=True)
class Line:
    """One labelled figure: a defined name (or None), label with unit, value, format kind."""

    name: str | None
    label: str
    value: Any
    kind: str
    note: str = ""


def assumption_lines(analysis: Analysis) -> list[Line]:
    margin_note = {
        "cost data": "From the orders' cost column (revenue-weighted); segments use their own.",
        "your setting": "As you set it (overrides any cost data).",
        "assumption": "Assumed: the orders have no cost or margin column. Change it here.",
    }[analysis.margin_source]
    p = analysis.params
    return [
        Line("Margin", "Gross margin (% of revenue)", analysis.margin, "percent", margin_note),
        Line("DiscountRate", "Discount rate (% per year)", p.annual_discount_rate, "percent",
             "Cost of capital used to discount future margins."),
        Line("ChurnWindowDays", "Churn window (days without an order)", p.churn_window_days,
             "days", "A customer with no order for this long counts as lost. Rerun to change."),
        Line("AnalysisDate", "Analysis date", analysis.as_of, "date",
             "Figures are as of this date. Rerun to change."),
        Line("MonthsPerYear", "Months per year", MONTHS_PER_YEAR, "count", "Constant."),
    ]  # fmt: skip


def result_lines(analysis: Analysis) -> list[Line]:
    o = analysis.overall
    churn, arpu = "ChurnRate", "ARPU"
    last_year = analysis.revenue_retention.iloc[-1] if len(analysis.revenue_retention) else None
    q = analysis.orders
    return [
        Line("Customers", "Customers (with an order)", o["customers"], "count"),
        Line("Orders", "Orders", o["orders"], "count"),
        Line("Revenue", "Revenue (net of refunds)", o["revenue"], "money"),
        Line("AOV", "Average order value (per order)", o["aov"], "money"),
        Line("RepeatRate", "Repeat purchase rate (% of customers with 2+ orders)",
             o["repeat_rate"], "percent"),
        Line("ActiveCustomers", "Active customers (ordered within the churn window)",
             o["active_customers"], "count"),
        Line(churn, "Churn rate (% per month, last 12 months)", o["monthly_churn"], "percent"),
        Line("CustomerLifetime", "Average customer lifetime (months) = 1 / churn",
             LIFETIME.format(churn=churn), "months"),
        Line(arpu, "ARPU (revenue per active customer per month)", o["arpu"], "money"),
        Line("CLV", "CLV (per customer) = ARPU x margin / churn",
             CLV.format(churn=churn, arpu=arpu, margin="Margin"), "money"),
        Line("DiscountedCLV", "Discounted CLV (per customer, monthly discounting)",
             DISCOUNTED_CLV.format(churn=churn, arpu=arpu, margin="Margin"), "money"),
        Line("HistoricalCLV", "Historical CLV (margin to date per customer)",
             o["historical_clv"], "money"),
        Line("PredictedCLV36", "Predicted CLV, next 36 months (model, discounted, per customer)",
             o["predicted_clv_36m"], "money",
             "See the Model sheet." if analysis.prediction.fitted
             else f"No model: {analysis.prediction.reason}"),
        Line("NRR", "Net revenue retention (%, last 12 months vs the 12 before)",
             None if last_year is None else last_year["nrr"], "percent"),
        Line("GRR", "Gross revenue retention (%, last 12 months vs the 12 before)",
             None if last_year is None else last_year["grr"], "percent"),
        Line("RowsRead", "Order rows read", q.rows_read, "count"),
        Line("RowsUsed", "Order rows used", q.rows_used, "count"),
        Line("RowsExcluded", "Order rows excluded (see Data quality)", q.rows_excluded, "count"),
    ]  # fmt: skip


def write(wb: Workbook, analysis: Analysis, fmt: dict[str, str]) -> Worksheet:
    ws = wb.active
    ws.title = SHEET
    style.TITLE.apply(put(ws, 1, 1, "Customer lifetime value: summary"))
    style.NOTE.apply(
        put(ws, 2, 1, "Blue cells on yellow are inputs; green cells are results. "
                      f"Amounts in {analysis.params.currency}.")
    )  # fmt: skip
    row = _block(wb, ws, 4, "Assumptions (inputs)", assumption_lines(analysis), style.INPUT, fmt)
    row = _block(
        wb,
        ws,
        row + 1,
        "Calculation",
        [Line("MonthlyDiscountRate", "Discount rate (% per month) = (1 + yearly)^(1/12) - 1",
              MONTHLY_DISCOUNT, "percent")],
        style.CALCULATION,
        fmt,
    )  # fmt: skip
    _block(wb, ws, row + 1, "Results: all customers", result_lines(analysis), style.OUTPUT, fmt)
    lay_out(ws, {1: 58, 2: 18, 3: 80}, freeze="A4")
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
            ref = f"'{SHEET}'!$B${row}"
            wb.defined_names[line.name] = DefinedName(line.name, attr_text=ref)
    return row + 1
