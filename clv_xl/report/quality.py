"""The Data quality sheet: every input row is used or excluded with its reason."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl.analysis.analyze import Analysis
from clv_xl.orders.headers import LABELS
from clv_xl.report import style
from clv_xl.report.cells import capitalised, lay_out, put

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
    examples = "First examples (sheet row numbers)"
    excluded = [(e.reason, e.count, _rows(e.examples)) for e in q.exclusions]
    unmatched = analysis.unmatched_refunds
    if len(unmatched):
        excluded.append(
            ("refund of a customer without an order (used, in no figure)", len(unmatched),
             _rows(unmatched["row"].head(EXAMPLES)))
        )  # fmt: skip
    unread = [(c.reason, c.count, _rows(c.examples)) for c in q.unreadable_cells]
    columns = [(LABELS[role], header, "") for role, header in q.columns.items()]
    columns += [("segment", name, "") for name in q.segments]
    columns += [("not used", name, "") for name in q.ignored_columns]
    row = 3 + len(counts) + 1
    row = _table(ws, row, "Excluded rows by reason", ("Reason", "Rows", examples), excluded, fmt)
    row = _table(
        ws, row + 1, "Cells not read (their rows are used, without that value)",
        ("Reason", "Cells", examples), unread, fmt,
    )  # fmt: skip
    _table(ws, row + 1, "Columns", ("Used as", "Column", ""), columns, fmt)
    lay_out(ws, {1: 52, 2: 14, 3: 60})
    return ws


def _rows(numbers: Iterable[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def _table(
    ws: Worksheet,
    row: int,
    title: str,
    headers: tuple[str, str, str],
    lines: Sequence[tuple[str, object, str]],
    fmt: dict[str, str],
) -> int:
    """A titled three-column table (or "None." under its headers); return the next free row."""
    style.SECTION.apply(put(ws, row, 1, title))
    style.write_header(ws, row + 1, list(headers))
    for offset, (label, value, detail) in enumerate(lines, start=row + 2):
        put(ws, offset, 1, capitalised(label))
        put(ws, offset, 2, value, fmt["count"] if isinstance(value, int) else None)
        put(ws, offset, 3, detail)
    if not lines:
        style.NOTE.apply(put(ws, row + 2, 1, "None."))
    return row + 3 + max(len(lines), 1)
