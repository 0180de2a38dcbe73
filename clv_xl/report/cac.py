"""The CAC sheet: acquisition cost per channel (inputs), LTV:CAC and payback (live).

LTV:CAC = CLV of a new customer / CAC; CAC payback = CAC / (revenue per active month x
margin), in months (seed 004; the library's ``ltv_cac`` and ``cac_payback``). The CLV and
the revenue per month are the Segments sheet's cells, so every input flows through.
"""

from __future__ import annotations

from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl.analysis.analyze import Analysis
from clv_xl.analysis.headline import cac_of, channel_rows
from clv_xl.analysis.segments import ALL
from clv_xl.report import segments, style
from clv_xl.report.cells import add_table, formula, lay_out, put
from clv_xl.report.summary import LTV_CAC, PAYBACK

SHEET = "CAC"
TABLE = "CacTable"
HEADERS = (
    "Channel",
    "Customers",
    "CAC (per new customer, input)",
    "CLV of a new customer",
    "LTV:CAC (x)",
    "CAC payback (months)",
)


def write(
    wb: Workbook, analysis: Analysis, fmt: dict[str, str], places: dict[str, tuple[int, int]]
) -> Worksheet:
    ws = wb.create_sheet(SHEET)
    style.TITLE.apply(put(ws, 1, 1, "Acquisition cost: LTV:CAC and payback per channel"))
    dimension = analysis.channel
    source = f"by {dimension}" if dimension else "for all customers (the orders name no channel)"
    notes = (
        f"Amounts in {analysis.params.currency}, {source}.",
        "Type each channel's average cost of acquiring one customer in the blue cells (or "
        "give --cac FILE); the ratios follow.",
    )
    for row, note in enumerate(notes, start=2):
        style.NOTE.apply(put(ws, row, 1, note))
    top = 5
    style.write_header(ws, top, list(HEADERS))
    for cell in ws[top]:  # the headers wrap rather than run into each other
        cell.alignment = style.WRAPPED
    ws.row_dimensions[top].height = 3 * style.LINE_HEIGHT
    clv_column = get_column_letter(segments.column_index(analysis, "clv"))
    arpu_column = get_column_letter(segments.column_index(analysis, "arpu"))
    margin_column = get_column_letter(segments.column_index(analysis, "margin_rate"))
    rows = channel_rows(analysis)
    for offset, (_, segment) in enumerate(rows.iterrows(), start=top + 1):
        name = segment["segment"]
        put(ws, offset, 1, name)
        put(ws, offset, 2, segment["customers"], fmt["count"])
        style.INPUT.apply(put(ws, offset, 3, cac_of(analysis, name)), fmt["money"])
        dim = ALL if segment["dimension"] == ALL else dimension
        seg_row = _segment_row(analysis, places, dim or ALL, name)
        ref = f"'{segments.SHEET}'!"
        clv = f"{ref}{clv_column}{seg_row}"
        formula(ws, offset, 4, f"={clv}", fmt["money0"])
        cac = f"C{offset}"
        formula(ws, offset, 5, LTV_CAC.format(cac=cac, clv=f"D{offset}"), style.RATIO)
        payback = PAYBACK.format(
            cac=cac, arpu=f"{ref}{arpu_column}{seg_row}", margin=f"{ref}{margin_column}{seg_row}"
        )
        formula(ws, offset, 6, payback, fmt["months"])
    add_table(ws, TABLE, list(HEADERS), top, top + len(rows), "TableStyleMedium2")
    lay_out(ws, {1: 28, 2: 14, 3: 18, 4: 18, 5: 14, 6: 18}, freeze="A6")
    return ws


def _segment_row(
    analysis: Analysis, places: dict[str, tuple[int, int]], dimension: str, segment: str
) -> int:
    """The Segments sheet row of a segment (as ``segments.ordered`` wrote them)."""
    header, _ = places[dimension]
    part = segments.ordered(analysis, dimension)
    return header + 1 + list(part["segment"]).index(segment)
