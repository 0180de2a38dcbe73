"""The Charts sheet: native Excel charts on the Segments table and the cohort curves."""

from __future__ import annotations

from typing import cast

import pandas as pd
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl.analysis.analyze import Analysis
from clv_xl.analysis.headline import in_text
from clv_xl.report import segments, style
from clv_xl.report.cells import put
from clv_xl.report.fastsheet import fit_cell

SHEET = "Charts"
CHART_WIDTH, CHART_HEIGHT = 18.0, 8.5  # cm
CHART_HEIGHT_PT = CHART_HEIGHT / 2.54 * 72
ROWS_PER_CHART = 18


def write(
    wb: Workbook, analysis: Analysis, fmt: dict[str, str], places: dict[str, tuple[int, int]]
) -> list[tuple[int, float]]:
    """The sheet; return each chart's place for the page breaks (`style.keep_sections_together`,
    `_place`)."""
    ws = wb.create_sheet(SHEET)
    drawn: list[tuple[int, float]] = []
    style.TITLE.apply(put(ws, 1, 1, "Charts"))
    seg = wb[segments.SHEET]
    anchor = 3
    currency = analysis.params.currency
    bars = [
        (d, "clv", f"CLV of a new customer by {in_text(d)} ({currency})")
        for d in analysis.orders.segments
    ]
    bars += [(d, "lifetime_margin", f"Expected lifetime margin per customer by {in_text(d)} "
              f"({currency})") for d in ("Value tier", "RFM group")]  # fmt: skip
    for dimension, field, title in bars:
        if dimension not in places:
            continue
        chart = _bar(seg, places[dimension], [segments.column_index(analysis, field)], title)
        chart.y_axis.number_format = fmt["money0"]
        ws.add_chart(chart, f"A{anchor}")
        drawn.append(_place(anchor))
        anchor += ROWS_PER_CHART
    shares = [segments.column_index(analysis, f) for f in ("share_customers", "share_revenue")]
    chart = _bar(seg, places["Value tier"], shares, "Share of customers vs share of revenue")
    chart.y_axis.number_format = "0%"
    ws.add_chart(chart, f"A{anchor}")
    drawn.append(_place(anchor))
    anchor += ROWS_PER_CHART
    data_column = 14  # the curves' data sit to the right of the charts
    for title, curves, number_format, bounded in (
        ("Retention: share of customers buying, by months since first order",
         analysis.retention_curves, fmt["percent"], True),
        (f"Cumulative revenue per customer by months since first order ({currency})",
         analysis.revenue_curves, fmt["money0"], False),
    ):  # fmt: skip
        if curves.empty:
            continue
        top = anchor
        _curve_data(ws, top, data_column, title, curves, number_format)
        chart = style.show_axes(LineChart())
        chart.title = title
        chart.x_axis.title = "Months since first order"
        chart.y_axis.number_format = "0%" if bounded else number_format
        if bounded:  # a share: 0% to 100%
            chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
        chart.width, chart.height = CHART_WIDTH, CHART_HEIGHT
        data = Reference(ws, min_col=data_column + 1, max_col=data_column + len(curves.columns),
                         min_row=top + 1, max_row=top + 1 + len(curves))  # fmt: skip
        chart.add_data(data, titles_from_data=True)
        for series in chart.series:
            series.smooth = False  # straight lines between the months measured
        months = Reference(ws, min_col=data_column, min_row=top + 2, max_row=top + 1 + len(curves))
        chart.set_categories(months)
        style.thin_category_labels(chart, len(curves))
        ws.add_chart(chart, f"A{anchor}")
        drawn.append(_place(anchor))
        anchor += max(ROWS_PER_CHART, len(curves) + 3)
    return drawn


def _place(anchor: int) -> tuple[int, float]:
    """A chart's place for the page breaks: from the empty row above it (a chart anchored in
    a page's first row prints its frame's top edge at the foot of the page before) to its
    bottom, in points."""
    return anchor - 1, style.LINE_HEIGHT + CHART_HEIGHT_PT


def _bar(seg: Worksheet, place: tuple[int, int], value_columns: list[int], title: str) -> BarChart:
    """Horizontal bars of a Segments table, its first row on top (the rows are sorted)."""
    header, last = place
    chart = style.show_axes(BarChart())
    chart.type = "bar"
    chart.title = fit_cell(title)  # a dimension name may hold control characters
    chart.width, chart.height = CHART_WIDTH, CHART_HEIGHT
    for column in value_columns:
        data = Reference(seg, min_col=column, min_row=header, max_row=last)
        chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(seg, min_col=1, min_row=header + 1, max_row=last))
    # openpyxl's x axis holds the categories, also for horizontal bars: first row on top,
    # and the value axis at the bottom.
    chart.x_axis.scaling.orientation = "maxMin"
    chart.y_axis.crosses = "max"
    if len(value_columns) == 1:
        chart.legend = None  # the title says what the bars are
    return chart


def _curve_data(
    ws: Worksheet, top: int, left: int, title: str, curves: pd.DataFrame, number_format: str
) -> None:
    """The chart's data, labelled, to the right of the chart."""
    style.SECTION.apply(put(ws, top, left, title))
    style.write_header(ws, top + 1, ["Month", *[str(c) for c in curves.columns]], left)
    for offset, (month, values) in enumerate(curves.iterrows(), start=top + 2):
        put(ws, offset, left, int(cast("int", month)))  # the index: month numbers
        for column, value in enumerate(values.tolist(), start=left + 1):
            put(ws, offset, column, value, number_format)
