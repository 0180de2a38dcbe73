"""The Segments sheet: one Excel table per dimension, CLVs as live formulas."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from openpyxl.cell.cell import Cell
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl.analysis.analyze import Analysis
from clv_xl.analysis.segments import ALL
from clv_xl.report import style
from clv_xl.report.cells import EXCEL_NAME_CHARACTERS, add_table, formula, lay_out, put
from clv_xl.report.summary import (
    CHURN,
    CLV,
    DISCOUNTED_CLV,
    LIFETIME_INDEX,
    LIFETIME_MARGIN,
    MARGIN_TO_DATE,
    REMAINING,
    SEGMENT_MARGIN,
)

SHEET = "Segments"
#: The first dimension's title, below the sheet's title and notes (frozen above it).
FIRST_SECTION_ROW = 6
#: Column widths (characters): a figure's, widened until its heading takes at most
#: HEADING_LINES lines; the Notes column's, whose sentences wrap within it.
COLUMN_WIDTH, HEADING_LINES, NOTES_WIDTH = 16, 5, 100


@dataclass(frozen=True)
class Column:
    """A table column: header with unit, the segments-table field it shows, its format.

    ``live`` builds a formula from the row's cell addresses instead of a value.
    """

    header: str
    field: str
    kind: str
    live: Callable[[dict[str, str]], str] | None = None
    role: style.CellStyle | None = None


def columns(analysis: Analysis) -> list[Column]:
    """The Segments tables' columns: inputs (the margin spread), values and live formulas."""

    def margin_rate(c: dict[str, str]) -> str:
        return SEGMENT_MARGIN.format(spread=c["margin_spread"])

    def clv(c: dict[str, str]) -> str:
        return CLV.format(churn=c["monthly_churn"], arpu=c["arpu"], margin=c["margin_rate"])

    def discounted(c: dict[str, str]) -> str:
        return DISCOUNTED_CLV.format(
            churn=c["monthly_churn"], arpu=c["arpu"], margin=c["margin_rate"]
        )

    def to_date(c: dict[str, str]) -> str:
        return MARGIN_TO_DATE.format(
            revenue=c["revenue"], customers=c["customers"], margin=c["margin_rate"]
        )

    return [
        Column("Segment", "segment", "text"),
        Column("Customers", "customers", "count"),
        Column("Share of customers (%)", "share_customers", "percent"),
        Column("Revenue (net of refunds)", "revenue", "money0"),
        Column("Share of revenue (%)", "share_revenue", "percent"),
        Column("Margin vs overall (percentage points, input)", "margin_spread", "points",
               role=style.INPUT),
        Column("Gross margin (% of revenue)", "margin_rate", "percent", margin_rate),
        Column("AOV (per order)", "aov", "money"),
        Column("Repeat purchase rate (%)", "repeat_rate", "percent"),
        Column("Active customers", "active_customers", "count"),
        Column("Expected lifetime (months)", "lifetime_months", "months"),
        Column("Monthly churn (% per month) = 1 / lifetime", "monthly_churn", "percent",
               lambda c: CHURN.format(lifetime=c["lifetime_months"])),
        Column("Revenue per active customer per month", "arpu", "money"),
        Column("CLV of a new customer", "clv", "money0", clv),
        Column("Discounted CLV of a new customer", "clv_discounted", "money0", discounted),
        Column("Gross margin to date per customer", "margin_to_date", "money", to_date),
        Column("Expected remaining revenue per customer (formula)", "remaining_revenue",
               "money"),
        Column("Expected remaining margin per customer (formula)", "remaining_margin", "money",
               lambda c: REMAINING.format(revenue=c["remaining_revenue"],
                                          margin=c["margin_rate"])),
        Column("Expected lifetime margin per customer (formula)", "lifetime_margin", "money0",
               lambda c: LIFETIME_MARGIN.format(to_date=c["margin_to_date"],
                                                remaining=c["remaining_margin"])),
        Column("Lifetime margin index (% of all customers)", "lifetime_index", "percent",
               lambda c: LIFETIME_INDEX.format(value=c["lifetime_margin"])),
        Column("P(alive) (model, average)", "prob_alive", "percent"),
        Column("Expected revenue per customer, next 36 months (model, discounted)",
               "model_revenue_36m", "money"),
        Column("Expected margin per customer, next 36 months (model, discounted)",
               "model_margin_36m", "money",
               lambda c: REMAINING.format(revenue=c["model_revenue_36m"],
                                          margin=c["margin_rate"])),
        Column("Model revenue, 80% range: low", "model_revenue_36m_low", "money"),
        Column("Model revenue, 80% range: high", "model_revenue_36m_high", "money"),
        Column("Model margin next 36 months, 80% range: low", "model_margin_36m_low", "money",
               lambda c: REMAINING.format(revenue=c["model_revenue_36m_low"],
                                          margin=c["margin_rate"])),
        Column("Model margin next 36 months, 80% range: high", "model_margin_36m_high",
               "money", lambda c: REMAINING.format(revenue=c["model_revenue_36m_high"],
                                                   margin=c["margin_rate"])),
        Column("Expected lifetime margin per customer (model)", "model_lifetime_margin",
               "money0", lambda c: LIFETIME_MARGIN.format(to_date=c["margin_to_date"],
                                                          remaining=c["model_margin_36m"])),
        Column("Notes", "notes", "text"),
    ]  # fmt: skip


def ordered(analysis: Analysis, dimension: str) -> pd.DataFrame:
    """A dimension's rows as the sheet and the charts show them: by value, largest first
    (new-customer CLV, or the lifetime margin where a segment has none); years in order."""
    part = analysis.segments[analysis.segments["dimension"] == dimension]
    if dimension == "Acquisition year":
        return part
    key = part["clv"].where(part["clv"].notna(), part["lifetime_margin"])
    return (
        part.assign(_key=key)
        .sort_values("_key", ascending=False, kind="stable")
        .drop(columns="_key")
    )


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
    # Column A prints on every page (the segments' names), cut at its width on the pages
    # of the later columns: the title fits in it, the notes start in column B.
    style.TITLE.apply(put(ws, 1, 1, SHEET))
    notes = (
        f"Customers, value and retention per segment. Amounts in {analysis.params.currency}.",
        "Every margin-based figure is a live formula on the Summary inputs and each segment's "
        "margin spread (the input column).",
        f"Segments with fewer than {analysis.params.min_segment_customers} customers are "
        "marked small: treat with care. Blank figures: see the Notes column.",
    )
    for row, note in enumerate(notes, start=2):
        style.NOTE.apply(put(ws, row, 2, note))
    cols = columns(analysis)
    row = FIRST_SECTION_ROW
    places: dict[str, tuple[int, int]] = {}
    for dimension in analysis.dimensions:
        part = ordered(analysis, dimension)
        style.SECTION.apply(put(ws, row, 1, dimension))
        last = _table(ws, row + 1, part, cols, fmt, table_name(dimension), analysis)
        places[dimension] = (row + 1, last)
        row = last + 2
    notes_column = next(i for i, c in enumerate(cols, start=1) if c.field == "notes")
    headings = ws[min(top for top, _ in places.values())]
    widths: dict[int, float] = {
        cell.column: _heading_width(cell)
        for cell in headings
        if cell.column not in (1, notes_column)
    }
    widths |= {1: 24, notes_column: NOTES_WIDTH}
    lay_out(ws, widths, freeze=f"B{FIRST_SECTION_ROW}")
    style.fit_wrapped_rows(ws, get_column_letter(notes_column), first_row=FIRST_SECTION_ROW)
    style.wrap_cut_off_texts(ws, FIRST_SECTION_ROW)  # the header rows as tall as their headings
    return places


def _heading_width(cell: Cell) -> float:
    """The narrowest width from COLUMN_WIDTH on at which a heading takes at most
    HEADING_LINES lines."""
    width = COLUMN_WIDTH
    while style.text_lines(cell, width) > HEADING_LINES:
        width += 1
    return width


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
        cell.alignment = style.WRAPPED_HEADING
    letters = {c.field: get_column_letter(i) for i, c in enumerate(cols, start=1)}
    small_text = f"Small (< {analysis.params.min_segment_customers} customers)."
    for offset, (_, segment) in enumerate(part.iterrows(), start=1):
        row = top + offset
        cells = {field: f"{letter}{row}" for field, letter in letters.items()}
        whole_base = segment["dimension"] == ALL
        for index, col in enumerate(cols, start=1):
            if col.field == "margin_spread" and whole_base:
                continue  # the whole base's margin is the Summary's input itself
            if col.field == "margin_rate" and whole_base:
                formula(ws, row, index, "=Margin", fmt[col.kind])
            elif col.live is not None:
                formula(ws, row, index, col.live(cells), fmt[col.kind])
            elif col.field == "notes":
                forecast = "" if segment["model_trusted"] else f"Model: {segment['model_verdict']}"
                notes = [segment["clv_note"], small_text if segment["small"] else "", forecast]
                note = put(ws, row, index, " ".join(n for n in notes if n))
                note.alignment = Alignment(wrap_text=True, vertical="bottom")  # as the figures
            else:
                cell = put(ws, row, index, segment[col.field], fmt[col.kind])
                if col.role is not None:
                    col.role.apply(cell, fmt[col.kind])
    bottom = top + len(part)
    add_table(ws, name, [c.header for c in cols], top, bottom, "TableStyleMedium2")
    clv = letters["lifetime_margin"]
    ws.conditional_formatting.add(
        f"{clv}{top + 1}:{clv}{bottom}",
        ColorScaleRule(start_type="min", start_color="F8696B", mid_type="percentile",
                       mid_value=50, mid_color="FFEB84", end_type="max", end_color="63BE7B"),
    )  # fmt: skip
    return bottom
