"""The Segments sheet: one Excel table per dimension, CLVs as live formulas."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from .. import workbook_style as style
from ..analysis import Analysis
from .cells import EXCEL_NAME_CHARACTERS, add_table, formula, lay_out, put
from .summary import CLV, DISCOUNTED_CLV, LIFETIME

SHEET = "Segments"
HEADER_HEIGHT = 48  # points: three lines of a wrapped header


@dataclass(frozen=True)
class Column:
    """A table column: header with unit, the segments-table field it shows, its format.

    ``live`` builds a formula from the row's cell addresses instead of a value.
    """

    header: str
    field: str
    kind: str
    live: Callable[[dict[str, str]], str] | None = None


def columns(analysis: Analysis) -> list[Column]:
    def margin_cell(cells: dict[str, str]) -> str:
        return "=Margin"

    return [
        Column("Segment", "segment", "text"),
        Column("Customers", "customers", "count"),
        Column("Share of customers (%)", "share_customers", "percent"),
        Column("Orders", "orders", "count"),
        Column("Revenue", "revenue", "money"),
        Column("Share of revenue (%)", "share_revenue", "percent"),
        Column("Gross margin (amount)", "margin", "money"),
        Column(
            "Gross margin (% of revenue)",
            "margin_rate",
            "percent",
            None if analysis.segment_margins_from_data else margin_cell,
        ),
        Column("AOV (per order)", "aov", "money"),
        Column("Orders per customer", "orders_per_customer", "decimal"),
        Column("Repeat purchase rate (%)", "repeat_rate", "percent"),
        Column("Active customers", "active_customers", "count"),
        Column("Churn (% per month)", "monthly_churn", "percent"),
        Column("Average lifetime (months)", "lifetime_months", "months",
               lambda c: LIFETIME.format(churn=c["monthly_churn"])),
        Column("ARPU (per active customer per month)", "arpu", "money"),
        Column("CLV (per customer)", "clv", "money",
               lambda c: CLV.format(churn=c["monthly_churn"], arpu=c["arpu"],
                                    margin=c["margin_rate"])),
        Column("Discounted CLV (per customer)", "clv_discounted", "money",
               lambda c: DISCOUNTED_CLV.format(churn=c["monthly_churn"], arpu=c["arpu"],
                                               margin=c["margin_rate"])),
        Column("Historical CLV (margin to date per customer)", "historical_clv", "money"),
        Column("CLV index (vs all customers)", "clv_index", "percent",
               lambda c: f'=IF(AND(ISNUMBER({c["clv"]}),ISNUMBER(CLV)),{c["clv"]}/CLV,"")'),
        Column("P(alive) (model, average)", "prob_alive", "percent"),
        Column("Expected purchases next 12 months (model, per customer)",
               "expected_purchases_12m", "decimal"),
        Column("Predicted CLV 12 months (model, discounted, per customer)",
               "predicted_clv_12m", "money"),
        Column("Predicted CLV 36 months (model, discounted, per customer)",
               "predicted_clv_36m", "money"),
        Column("Reliability", "small", "text"),
    ]  # fmt: skip


def table_name(dimension: str) -> str:
    """An Excel table name for a dimension: ``Seg_``, then letters, digits and underscores,
    at most 255 characters in all (`add_table` makes it unique without case)."""
    name = "Seg_" + (re.sub(r"\W+", "_", dimension).strip("_") or "dimension")
    return name[:EXCEL_NAME_CHARACTERS]


def column_index(analysis: Analysis, field: str) -> int:
    """The 1-based column of a field in every segment table."""
    return [c.field for c in columns(analysis)].index(field) + 1


def write(wb: Workbook, analysis: Analysis, fmt: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Write the sheet; return each dimension's (header row, last row)."""
    ws = wb.create_sheet(SHEET)
    style.TITLE.apply(put(ws, 1, 1, "Segments: customers, value and retention per segment"))
    note = (
        f"Amounts in {analysis.params.currency}. CLV, lifetime and discounted CLV are live "
        "formulas on the Summary inputs. Segments with fewer than "
        f"{analysis.params.min_segment_customers} customers are marked small: treat with care."
    )
    style.NOTE.apply(put(ws, 2, 1, note))
    cols = columns(analysis)
    row = 4
    used_names: set[str] = set()
    places: dict[str, tuple[int, int]] = {}
    for dimension in analysis.dimensions:
        part = analysis.segments[analysis.segments["dimension"] == dimension]
        style.SECTION.apply(put(ws, row, 1, dimension))
        name = table_name(dimension)
        while name in used_names:
            name += "_"
        used_names.add(name)
        last = _table(ws, row + 1, part, cols, fmt, name, analysis)
        places[dimension] = (row + 1, last)
        row = last + 2
    lay_out(ws, {1: 24}, freeze="B4")
    return places


def _table(
    ws: Worksheet,
    top: int,
    part: pd.DataFrame,
    cols: list[Column],
    fmt: dict[str, str],
    name: str,
    analysis: Analysis,
) -> int:
    """Write one dimension's table with its header at row ``top``; return the last row."""
    style.write_header(ws, top, [c.header for c in cols])
    for cell in ws[top]:
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.row_dimensions[top].height = HEADER_HEIGHT
    letters = {c.field: get_column_letter(i) for i, c in enumerate(cols, start=1)}
    small_text = f"small (< {analysis.params.min_segment_customers} customers)"
    for offset, (_, segment) in enumerate(part.iterrows(), start=1):
        row = top + offset
        cells = {field: f"{letter}{row}" for field, letter in letters.items()}
        for index, col in enumerate(cols, start=1):
            if col.live is not None:
                formula(ws, row, index, col.live(cells), fmt[col.kind])
            elif col.field == "small":
                put(ws, row, index, small_text if segment["small"] else "")
            else:
                put(ws, row, index, segment[col.field], fmt[col.kind])
    bottom = top + len(part)
    add_table(ws, name, [c.header for c in cols], top, bottom, "TableStyleMedium2")
    clv = letters["clv"]
    ws.conditional_formatting.add(
        f"{clv}{top + 1}:{clv}{bottom}",
        ColorScaleRule(start_type="min", start_color="F8696B", mid_type="percentile",
                       mid_value=50, mid_color="FFEB84", end_type="max", end_color="63BE7B"),
    )  # fmt: skip
    return bottom
