"""The report as one workbook: ``write_report(analysis, path)`` reads an
:class:`~clv_xl.analysis.analyze.Analysis` and never recomputes it. The file is written under
a hidden temporary name beside ``path`` and renamed when it is complete
(`destination.commit`), so an interrupted run leaves no half-written report and no
temporary file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook

from clv_xl import __version__
from clv_xl.analysis.analyze import Analysis
from clv_xl.report import (
    about,
    cac,
    charts,
    cohorts,
    customers,
    fastsheet,
    model,
    quality,
    segments,
    style,
    summary,
)
from clv_xl.report.cells import formats
from clv_xl.report.destination import check_output, commit, temporary_path
from clv_xl.report.fastsheet import LargeTable

#: Rows and columns printed on every page, per sheet.
REPEATED = {
    segments.SHEET: (None, "A:A"),
    cohorts.SHEET: (None, "A:B"),
    customers.SHEET: ("1:1", "A:A"),
}

#: Called with the name of each step as it starts (sheets, saving, the large tables).
Progress = Callable[[str], None]


def build(
    analysis: Analysis, generated_at: dt.datetime, progress: Progress = lambda step: None
) -> tuple[Workbook, list[LargeTable]]:
    """The report as an openpyxl workbook, and the large tables to stream in after saving."""
    fmt = formats(analysis.params.currency)
    wb = Workbook()
    progress("Summary sheet")
    summary.write(wb, analysis, fmt)
    progress("Segments sheet")
    places = segments.write(wb, analysis, fmt)
    progress("CAC sheet")
    cac.write(wb, analysis, fmt, places)
    progress("Cohorts sheet")
    cohorts.write(wb, analysis, fmt)
    progress("Customers sheet (header)")
    large = [customers.write(wb, analysis, fmt)]
    progress("Charts sheet")
    drawn = {charts.SHEET: charts.write(wb, analysis, fmt, places)}
    progress("Model sheet")
    model.write(wb, analysis, fmt)
    progress("Data quality and About sheets")
    quality.write(wb, analysis, fmt)
    about.write(wb, analysis, generated_at)
    title = f"Customer lifetime value report, as of {analysis.as_of:%d %b %Y}"
    for ws in wb.worksheets:  # as the templates print
        style.align_table_headings(ws)
        style.fit_width_on_print(ws)
        style.keep_sections_together(ws, drawn.get(ws.title, ()))
        style.print_titles(ws, title, *REPEATED.get(ws.title, (None, None)))
    wb.properties.title = "Customer lifetime value report"
    wb.properties.subject = f"CLV and retention as of {analysis.as_of:%Y-%m-%d}"
    wb.properties.creator = f"clv_xl {__version__}"
    wb.properties.keywords = "CLV, retention, churn, segments, cohorts"
    wb.properties.created = wb.properties.modified = generated_at
    return wb, large


def write_report(
    analysis: Analysis,
    path: Path,
    *,
    overwrite: bool = False,
    progress: Progress = lambda step: None,
) -> Path:
    """Write the report to ``path``; refuse to replace an existing file unless ``overwrite``."""
    path = Path(path)
    check_output(path, overwrite)
    wb, large = build(analysis, dt.datetime.now().replace(microsecond=0), progress)
    temporary = temporary_path(path)  # named before it exists: removed however we stop
    try:
        progress("Saving the workbook (openpyxl)")
        wb.save(temporary)
        progress("Streaming the Customers rows")
        fastsheet.fill(temporary, large)
        commit(temporary, path, overwrite)
    finally:
        temporary.unlink(missing_ok=True)
    return path
