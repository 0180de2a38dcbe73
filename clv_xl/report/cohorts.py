"""The Cohorts sheet: acquisition month x months since first order, as heat maps."""

from __future__ import annotations

import pandas as pd
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl.analysis.analyze import Analysis
from clv_xl.report import style
from clv_xl.report.cells import lay_out, put

SHEET = "Cohorts"


def write(wb: Workbook, analysis: Analysis, fmt: dict[str, str]) -> Worksheet:
    ws = wb.create_sheet(SHEET)
    # Columns A:B print on every page, cut at their width on the pages of the later months:
    # the titles fit in them, the longer descriptions start in column C.
    style.TITLE.apply(put(ws, 1, 1, SHEET))
    style.NOTE.apply(put(ws, 2, 3, "How each month's new customers keep buying."))
    sizes = analysis.customers.groupby("cohort_month").size()
    currency = analysis.params.currency
    row = _matrix(
        ws, 3,
        ("Retention (%)", "Share of the cohort buying in each month since their first order."),
        analysis.cohort_retention, sizes, fmt["percent"],
    )  # fmt: skip
    _matrix(
        ws, row + 2,
        (f"Revenue ({currency})", "Cumulative revenue per customer by months since first order."),
        analysis.cohort_revenue, sizes, fmt["money"],
    )  # fmt: skip
    # the months 12 characters wide: at 11, bold "Month 10" filled its column, a point from
    # "Month 9" before it
    lay_out(ws, {1: 16, 2: 13}, default_width=12, freeze="C5")
    return ws


def _matrix(
    ws: Worksheet,
    row: int,
    title: tuple[str, str],
    matrix: pd.DataFrame,
    sizes: pd.Series,
    number_format: str,
) -> int:
    """Write a cohort matrix under its title (a short one, and what it shows) with a colour
    scale; return its last row."""
    style.SECTION.apply(put(ws, row, 1, title[0]))
    style.NOTE.apply(put(ws, row, 3, title[1]))
    header = ["Acquisition month", "Customers", *[f"Month {m}" for m in matrix.columns]]
    style.write_header(ws, row + 1, header)
    # "Acquisition month" wraps rather than runs into "Customers"; the months fit a line
    # (right-aligned over their figures by `style.align_table_headings`, as every heading)
    for cell in ws[row + 1][:2]:
        cell.alignment = style.WRAPPED_HEADING
    ws.row_dimensions[row + 1].height = 2 * style.LINE_HEIGHT
    for offset, (cohort, values) in enumerate(matrix.iterrows(), start=row + 2):
        put(ws, offset, 1, cohort)
        put(ws, offset, 2, sizes.get(cohort, 0), style.INTEGER)
        for column, value in enumerate(values.tolist(), start=3):
            put(ws, offset, column, value, number_format)
    last = row + 1 + len(matrix)
    if len(matrix.columns):
        area = f"C{row + 2}:{get_column_letter(2 + len(matrix.columns))}{last}"
        ws.conditional_formatting.add(
            area,
            ColorScaleRule(start_type="min", start_color="FFFFFF", end_type="max",
                           end_color="5B9BD5"),
        )  # fmt: skip
    return last
