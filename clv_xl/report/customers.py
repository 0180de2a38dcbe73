"""The Customers sheet: every customer, as an Excel table with filters."""

from __future__ import annotations

import pandas as pd
from openpyxl.workbook.workbook import Workbook

from clv_xl.analysis.analyze import Analysis
from clv_xl.report import style
from clv_xl.report.cells import add_table, lay_out, put, table_columns
from clv_xl.report.fastsheet import LargeTable

SHEET = "Customers"
TABLE = "CustomerTable"
#: Column widths (characters): every column, and a text column at most (a longer text is cut
#: off in print where the next column's value starts).
WIDTH, TEXT_WIDTH = 16, 60

#: (header with unit, customers column, format kind)
COLUMNS = (
    ("Customer", "customer", "text"),
    ("First order", "first_order", "date"),
    ("Last order", "last_order", "date"),
    ("Orders", "orders", "count"),
    ("Revenue", "revenue", "money"),
    ("Refunds", "refunds", "money"),
    ("Gross margin to date", "margin", "money"),
    ("AOV (per order)", "aov", "money"),
    ("Orders per year (customers known 3+ months)", "orders_per_year", "decimal"),
    ("Tenure (months since first order)", "tenure_months", "months"),
    ("Recency (days since last order)", "recency_days", "count"),
    ("Status", "status", "text"),
    ("Status vs model", "status_note", "text"),
    ("Expected remaining revenue (formula)", "remaining_revenue", "money"),
    ("Value tier", "value_tier", "text"),
    ("R score (1-5)", "r_score", "score"),
    ("F score (1-5)", "f_score", "score"),
    ("M score (1-5)", "m_score", "score"),
    ("RFM group", "rfm_group", "text"),
    ("Acquisition month", "cohort_month", "text"),
    ("Profitability", "profitability", "text"),
    ("P(alive) (model)", "prob_alive", "percent"),
    ("Expected purchases next 12 months (model)", "expected_purchases_12m", "decimal"),
    ("Expected spend per purchase (model)", "expected_spend", "money"),
    ("Expected revenue next 12 months (model, discounted)", "predicted_revenue_12m", "money"),
    ("Expected revenue next 36 months (model, discounted)", "predicted_revenue_36m", "money"),
)


def table_frame(analysis: Analysis) -> pd.DataFrame:
    """The customers as the sheet shows them, in column order, named by `headers` (a
    segment column of the orders may have any name, ``status`` or ``Status`` too)."""
    c = analysis.customers.reset_index()
    status = c["active"].map({True: "Active", False: "Lost"})
    note = c["status_note"].where(c["status_note"] != "")  # blank, not ""
    columns = {"status": status, "status_note": note}
    shown = [columns[field] if field in columns else c[field] for _, field, _ in COLUMNS]
    frame = pd.concat([*shown, *(c[s] for s in analysis.orders.segments)], axis=1)
    frame.columns = headers(analysis)
    return frame


def headers(analysis: Analysis) -> list[str]:
    """The table's column names: ours, then the segment columns (`table_columns`)."""
    return table_columns([header for header, _, _ in COLUMNS] + list(analysis.orders.segments))


def write(wb: Workbook, analysis: Analysis, fmt: dict[str, str]) -> LargeTable:
    """Write the header and the first customer; return the rows to stream in after saving."""
    ws = wb.create_sheet(SHEET)
    frame = table_frame(analysis)
    kinds = [kind for _, _, kind in COLUMNS] + ["text"] * len(analysis.orders.segments)
    style.write_header(ws, 1, headers(analysis))
    for cell in ws[1]:  # long headers wrap rather than run into the next
        cell.alignment = style.WRAPPED
    for column, (value, kind) in enumerate(zip(frame.iloc[0], kinds, strict=True), start=1):
        put(ws, 2, column, value, fmt[kind])  # the template row: every cell styled
    add_table(ws, TABLE, headers(analysis), 1, len(frame) + 1, "TableStyleLight9")
    texts = [column for column, kind in enumerate(kinds, start=1) if kind == "text"]
    lay_out(ws, {column: _text_width(frame.iloc[:, column - 1]) for column in texts}, WIDTH, "B2")
    style.fit_header_row(ws, 1)
    return LargeTable(SHEET, frame)


def _text_width(values: pd.Series) -> float:
    """A text column wide enough for its longest text to print whole (a character a digit's
    width, and two for the margins), from WIDTH up to TEXT_WIDTH."""
    distinct = values.cat.categories if isinstance(values.dtype, pd.CategoricalDtype) else values
    longest = pd.Series(distinct.dropna(), dtype="str").str.len().max()
    return float(min(max(WIDTH, (0 if pd.isna(longest) else longest) + 2), TEXT_WIDTH))
