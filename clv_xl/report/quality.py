"""The Data quality sheet: every input row is used or excluded with its reason."""

from __future__ import annotations

from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from .. import workbook_style as style
from ..analysis import Analysis
from .cells import lay_out, put

SHEET = "Data quality"
EXAMPLES = 5  # sheet rows shown per reason


def write(wb: Workbook, analysis: Analysis, fmt: dict[str, str]) -> Worksheet:
    ws = wb.create_sheet(SHEET)
    q = analysis.orders
    style.TITLE.apply(put(ws, 1, 1, "Data quality: what was read, used and excluded"))
    counts = [
        ("Rows read (data rows below the header)", q.rows_read),
        ("Rows used", q.rows_used),
        ("Rows excluded", q.rows_excluded),
        ("Used rows that are refunds (negative amounts)", int((q.lines["amount"] < 0).sum())),
        ("Used rows without cost or margin (margin assumed)", q.rows_without_margin),
        ("Refunds of customers without an order (left out of every figure)",
         len(analysis.unmatched_refunds)),
    ]  # fmt: skip
    for row, (label, value) in enumerate(counts, start=3):
        put(ws, row, 1, label)
        style.OUTPUT.apply(put(ws, row, 2, value), fmt["count"])
    top = 3 + len(counts) + 1
    style.SECTION.apply(put(ws, top, 1, "Excluded rows by reason"))
    style.write_header(ws, top + 1, ["Reason", "Rows", "First examples (sheet row numbers)"])
    for row, exclusion in enumerate(q.exclusions, start=top + 2):
        put(ws, row, 1, exclusion.reason)
        put(ws, row, 2, exclusion.count, fmt["count"])
        put(ws, row, 3, ", ".join(str(r) for r in exclusion.examples))
    unmatched = analysis.unmatched_refunds
    if len(unmatched):
        row = top + 2 + len(q.exclusions)
        put(ws, row, 1, "refund of a customer without an order (used, in no figure)")
        put(ws, row, 2, len(unmatched), fmt["count"])
        put(ws, row, 3, ", ".join(str(r) for r in unmatched["row"].head(EXAMPLES)))
    elif not q.exclusions:
        style.NOTE.apply(put(ws, top + 2, 1, "No row was excluded."))
    lay_out(ws, {1: 52, 2: 14, 3: 60})
    return ws
