"""Shared look of every workbook clv_xl writes: cell roles, number formats, small helpers.

Financial-modelling colour conventions (e.g. the FAST standard): inputs in blue
on light yellow, calculations in black, outputs bold on light green, so a reader
sees at a glance which cells to type in. Only openpyxl is used here; nothing
knows how the numbers were computed.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import textwrap
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from openpyxl.cell.cell import Cell
from openpyxl.chart._chart import ChartBase
from openpyxl.chart.text import RichText
from openpyxl.comments import Comment
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

AnyChart = TypeVar("AnyChart", bound=ChartBase)

# Number formats -------------------------------------------------------------------------
PERCENT = "0.0%"
PERCENTAGE_POINTS = "+0.0%;-0.0%;0.0%"  # a difference of two percentages, signed
MONTHS = '#,##0.0 "months"'
DAYS = '#,##0 "days"'
INTEGER = "#,##0"
DECIMAL = "#,##0.00"
RATIO = '0.00"x"'
DATE = "yyyy-mm-dd"
LINE_HEIGHT = 15  # points: one line of text in the default 11-point font
WRAPPED = Alignment(wrap_text=True, vertical="top")
#: A column heading that wraps onto the two lines of its row, centred as the others.
WRAPPED_HEADING = Alignment(wrap_text=True, vertical="center")
#: A yes/no answer, centred: apart from a right-aligned figure to its left.
ANSWER = Alignment(horizontal="center")
TEXT = "@"

#: Symbols for the common currency codes; any other code is shown as the code itself.
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}


def currency_format(symbol: str = "€", decimals: int = 2) -> str:
    """An amount format with the symbol in front: ``"€"#,##0.00``, or ``"CHF "#,##0.00`` for a code.

    Negative amounts show as -€1.00.
    """
    symbol = symbol.replace('"', "").strip()
    spaced = symbol + " " if symbol[-1:].isalpha() else symbol
    digits = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return f'"{spaced}"{digits}'


def currency_symbol(code: str) -> str:
    """The symbol for an ISO currency code (EUR -> €); other codes are shown as the code."""
    code = code.strip().upper()
    return CURRENCY_SYMBOLS.get(code, code)


# Cell roles -----------------------------------------------------------------------------
#: The workbooks' font, Excel's default (openpyxl's font 0), named in every style: a font
#: without a name is read differently elsewhere (LibreOffice prints it in a serif face).
FONT_NAME, FONT_SIZE = "Calibri", 11


def font(
    *, bold: bool = False, italic: bool = False, size: float = FONT_SIZE, color: str | None = None
) -> Font:
    """The workbooks' font (FONT_NAME), bold, italic, in another size or colour."""
    return Font(name=FONT_NAME, size=size, bold=bold, italic=italic, color=color)


_THIN = Side(style="thin", color="A6A6A6")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


@dataclass(frozen=True)
class CellStyle:
    """One cell role: font, fill and border, applied together with a number format."""

    font: Font
    fill: PatternFill | None = None
    border: Border | None = None
    alignment: Alignment | None = None

    def apply(self, cell: Cell, number_format: str | None = None) -> Cell:
        """Style ``cell`` in this role (and number format, if given); returns the cell."""
        cell.font = self.font
        if self.fill is not None:
            cell.fill = self.fill
        if self.border is not None:
            cell.border = self.border
        if self.alignment is not None:
            cell.alignment = self.alignment
        if number_format is not None:
            cell.number_format = number_format
        return cell


def _solid(colour: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color=colour, end_color=colour)


#: A value the user types (or may change): blue on light yellow, boxed.
INPUT = CellStyle(font(color="0000FF"), _solid("FFF2CC"), _BOX)
#: A formula working towards the outputs: black, no fill.
CALCULATION = CellStyle(font(color="000000"))
#: A result the reader is after: bold on light green, boxed.
OUTPUT = CellStyle(font(bold=True, color="000000"), _solid("E2EFDA"), _BOX)
#: A column or row heading: bold white on dark blue.
HEADER = CellStyle(
    font(bold=True, color="FFFFFF"), _solid("1F4E78"), alignment=Alignment(vertical="center")
)
#: A section label above a block of cells (Inputs, Calculations, ...).
SECTION = CellStyle(font(bold=True, size=12, color="1F4E78"))
#: The sheet's title in A1.
TITLE = CellStyle(font(bold=True, size=14, color="1F4E78"))
#: Explanatory text: grey italics.
NOTE = CellStyle(font(italic=True, color="595959"), alignment=Alignment(wrap_text=False))
#: A check formula that should show TRUE / OK.
CHECK = CellStyle(font(bold=True, color="375623"), _solid("F2F2F2"), _BOX)


def add_note(cell: Cell, text: str, author: str = "clv_xl") -> Cell:
    """Attach a cell note (comment) that explains the cell; returns the cell."""
    cell.comment = Comment(text, author, width=300, height=110)
    return cell


def write_heading(ws: Worksheet, title: str, note: str | None = None) -> None:
    """The sheet's title in A1 and, if given, a note under it in A2."""
    TITLE.apply(ws.cell(row=1, column=1, value=title))
    if note is not None:
        NOTE.apply(ws.cell(row=2, column=1, value=note))


def write_header(ws: Worksheet, row: int, labels: Sequence[str], first_column: int = 1) -> None:
    """Write a row of column headings in the HEADER style."""
    for offset, label in enumerate(labels):
        HEADER.apply(ws.cell(row=row, column=first_column + offset, value=label))


def align_table_headings(ws: Worksheet) -> None:
    """Each column heading (HEADER) aligned as the cells under it are, down to the table's
    end (an empty row, or the next heading), when they are all right-aligned (figures:
    numbers, dates, formulas, blank cells in a number format, such as inputs) or all
    centred (yes/no answers). A column of text after one of figures is indented, heading
    and cells, one character: else the two headings print 2 pt apart, as one ("Std error
    Unit")."""
    filled = {row[0].row for row in ws.iter_rows() if any(c.value is not None for c in row)}
    for row in ws.iter_rows():
        figures_before = False
        for heading in row:
            if not isinstance(heading.value, str) or heading.fill != HEADER.fill:
                figures_before = False
                continue
            column: list[Cell] = []
            while heading.row + len(column) + 1 in filled:
                cell = ws.cell(row=heading.row + len(column) + 1, column=heading.column)
                if cell.fill == HEADER.fill:
                    break
                column.append(cell)
            shown = {_shown_at(cell) for cell in column}
            if shown - {None} in ({"right"}, {"center"}):
                _realign(heading, horizontal=str((shown - {None}).pop()))
            elif shown - {None} == {"left"} and figures_before:
                for cell in [heading, *column]:
                    _realign(cell, horizontal="left", indent=1)
            figures_before = heading.alignment.horizontal == "right"


def _realign(cell: Cell, horizontal: str, indent: int = 0) -> None:
    """``cell`` aligned so, its vertical alignment and wrapping kept."""
    cell.alignment = Alignment(
        horizontal=horizontal,
        vertical=cell.alignment.vertical,
        wrap_text=cell.alignment.wrap_text,
        indent=indent,
    )


def _shown_at(cell: Cell) -> str | None:
    """Where a table's cell shows its value: as aligned, else figures right and text left
    (Excel's General alignment); None for an empty cell of no number format."""
    if cell.alignment.horizontal in ("left", "center", "right"):
        return str(cell.alignment.horizontal)
    value, numeric = cell.value, cell.number_format not in ("General", TEXT)
    if value is None:
        return "right" if numeric else None
    if isinstance(value, str):
        return "right" if value.startswith("=") and numeric else "left"
    return "center" if isinstance(value, bool) else "right"  # TRUE/FALSE centred, as in Excel


def write_about_sheet(
    wb: Workbook,
    title: str,
    rows: Iterable[tuple[str, Any]],
    sheet_name: str = "About",
    index: int | None = None,
    value_width: float | None = None,
) -> Worksheet:
    """Add a sheet (at ``index``; default last): ``title`` in A1, label/value rows from row 3.

    Dates get the DATE format; columns are sized to their contents (the values' column to
    ``value_width`` when given), and values longer than their column wrap, in rows made
    tall enough (printed, text running over into the next column is cut off).
    """
    ws = wb.create_sheet(sheet_name, index)
    TITLE.apply(ws.cell(row=1, column=1, value=title))
    for row, (label, value) in enumerate(rows, start=3):
        ws.cell(row=row, column=1, value=label).font = font(bold=True)
        ws.cell(row=row, column=1).alignment = Alignment(vertical="top")
        cell = ws.cell(row=row, column=2, value=value)
        cell.alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
        if isinstance(value, (dt.date, dt.datetime)):
            cell.number_format = DATE
    autosize(ws)
    if value_width is not None:
        ws.column_dimensions["B"].width = value_width
    fit_wrapped_rows(ws, "B")
    return ws


#: Bold text's width per character, in the widths of the default font's digits: a label
#: sized by its characters alone is cut off in print (Calibri and Carlito bold: 0.86 for
#: headings in lower case, 1.02 in capitals).
BOLD_WIDTH = 1.05


def text_lines(cell: Cell, width: float) -> int:
    """The lines a cell's text takes wrapped in a column ``width`` characters wide, which
    openpyxl cannot measure: each of its own lines wrapped at word boundaries (`textwrap`,
    as Excel wraps), a line holding ``width`` characters (bold at BOLD_WIDTH a character)."""
    per_character = BOLD_WIDTH if cell.font is not None and cell.font.b else 1.0
    capacity = max(1, math.floor(width / per_character))
    lines = str(cell.value).splitlines() or [""]
    return sum(len(textwrap.wrap(line, capacity)) or 1 for line in lines)


def fit_wrapped_rows(ws: Worksheet, column: str, first_row: int = 1) -> None:
    """Heights for the rows whose text in ``column`` wraps (`text_lines`)."""
    width = ws.column_dimensions[column].width
    for cell in ws[column][first_row - 1 :]:
        if isinstance(cell.value, str) and not cell.value.startswith("="):  # text, not formulas
            lines = text_lines(cell, width)
            if lines > 1:
                ws.row_dimensions[cell.row].height = LINE_HEIGHT * lines


def fit_header_row(ws: Worksheet, row: int) -> None:
    """A row of wrapped headings as tall as its longest (`text_lines`), once the columns
    have their widths."""
    lines = [
        text_lines(cell, ws.column_dimensions[cell.column_letter].width)
        for cell in ws[row]
        if isinstance(cell.value, str)
    ]
    ws.row_dimensions[row].height = LINE_HEIGHT * max(lines, default=1)


def wrap_cut_off_texts(ws: Worksheet, first_row: int) -> None:
    """Texts from ``first_row`` on that are longer than their column, with a value in the
    next column, wrap (printed, such text is cut off where the next value starts), in rows
    made at least as tall as their longest cell (`text_lines`); text with an empty cell to
    its right runs on, as section titles do, unless its cell is filled (a heading's white
    text would run on white), and merged cells keep the heights they have (formulas are not
    text)."""
    merged = {cell for cells in ws.merged_cells.ranges for cell in cells.cells}
    for cells in ws.iter_rows(min_row=first_row):
        lines = 1
        for cell, right in zip(cells, [*cells[1:], None], strict=True):
            runs_on = right is None or right.value is None
            if (
                not isinstance(cell.value, str)
                or cell.value.startswith("=")  # a formula, not text
                or (cell.row, cell.column) in merged
                or (runs_on and cell.fill.fill_type is None)
            ):
                continue
            needed = text_lines(cell, ws.column_dimensions[cell.column_letter].width)
            if needed > 1:
                cell.alignment = Alignment(
                    horizontal=cell.alignment.horizontal,
                    vertical=cell.alignment.vertical,
                    wrap_text=True,
                )
                lines = max(lines, needed)
        dimension = ws.row_dimensions[cells[0].row]
        if lines > 1 and (dimension.height or 0) < LINE_HEIGHT * lines:
            dimension.height = LINE_HEIGHT * lines


def autosize(ws: Worksheet, min_width: float = 8, max_width: float = 80) -> None:
    """Set each column's width to fit its longest value (titles in row 1 excepted; bold
    text at BOLD_WIDTH a character)."""
    widths: dict[int, float] = {}
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if cell.value is None:
                continue
            shown = cell.value if not isinstance(cell.value, float) else f"{cell.value:,.2f}"
            length: float = max(len(line) for line in str(shown).splitlines() or [""])
            if cell.font is not None and cell.font.b:
                length *= BOLD_WIDTH
            widths[cell.column] = max(widths.get(cell.column, 0), length)
    for column, length in widths.items():
        width = min(max(length + 2, min_width), max_width)
        ws.column_dimensions[get_column_letter(column)].width = width


#: Printing: A4 landscape at a fixed scale that keeps 11 pt text at 8.8 pt or larger; a
#: wider sheet runs on over more pages across (Excel and LibreOffice both honour a scale,
#: while "fit to N pages wide" is read differently by them).
PAPER_A4 = 9
MIN_PRINT_SCALE = 0.8
PRINTABLE_WIDTH_CM = 29.7 - 2 * 0.75 * 2.54  # A4 landscape less the default 0.75" margins
PRINT_SLACK = 0.95  # printed columns come out a few per cent wider than the estimate


def column_width_cm(width: float) -> float:
    """A column's printed width: Excel's width in characters is 7 px each (Calibri 11's
    digit) plus 5 px of padding, at 96 px an inch."""
    return (width * 7 + 5) / 96 * 2.54


def print_scale(ws: Worksheet, default_width: float = 8.43) -> int:
    """The print scale in percent: 100 where the used columns fit across one page, else
    what fits them on one page down to MIN_PRINT_SCALE, else MIN_PRINT_SCALE (more pages
    across)."""
    total = sum(
        column_width_cm(ws.column_dimensions[get_column_letter(c)].width or default_width)
        for c in range(1, ws.max_column + 1)
    )
    fitting = PRINT_SLACK * PRINTABLE_WIDTH_CM / total if total else 1.0
    return math.floor(100 * min(1.0, max(MIN_PRINT_SCALE, fitting)))


def fit_width_on_print(ws: Worksheet) -> None:
    """Print the sheet landscape on A4 at :func:`print_scale`."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.scale = print_scale(ws)
    ws.sheet_properties.pageSetUpPr.fitToPage = False


PRINTABLE_HEIGHT_PT = 21.0 / 2.54 * 72 - 2 * 0.75 * 72  # A4 landscape less 0.75" margins
#: A section keeps its title, its header and this many rows on one page at least.
SECTION_ROWS_KEPT = 3


def is_section_title(cell: Cell) -> bool:
    """Whether a cell holds a section title (text in the SECTION style's bold size)."""
    return bool(cell.value) and bool(cell.font.b) and cell.font.sz == SECTION.font.sz


def keep_sections_together(ws: Worksheet, drawings: Sequence[tuple[int, float]] = ()) -> None:
    """Page breaks so that no section prints apart from its title and no drawing across a
    page's foot: before a section title (the SECTION style in column A; its section the rows
    down to the first empty one) that would print at the foot of a page, a break, when the
    section does not fit on the rest of the page but fits on a page of its own, or when its
    title, header and first SECTION_ROWS_KEPT rows do not; before a drawing (a chart: the
    row its top is anchored in and its height in points) that does not fit on the rest of
    the page, a break, when it fits on a page. Rows are as tall as set, else LINE_HEIGHT; a
    page holds PRINTABLE_HEIGHT_PT (less PRINT_SLACK) at the sheet's print scale."""
    page = PRINTABLE_HEIGHT_PT * PRINT_SLACK * 100 / (ws.page_setup.scale or 100)
    drawn = dict(drawings)
    last = max([ws.max_row, *(row + math.ceil(height / LINE_HEIGHT) for row, height in drawings)])
    heights = [0.0] + [ws.row_dimensions[r].height or LINE_HEIGHT for r in range(1, last + 1)]
    filled = [False] + [any(c.value is not None for c in row) for row in ws.iter_rows()]
    filled += [False] * (last + 1 - len(filled))
    used = 0.0
    for row in range(1, last + 1):
        if used and row in drawn and used + drawn[row] > page >= drawn[row]:
            ws.row_breaks.append(Break(id=row - 1))
            used = 0.0
        if used and is_section_title(ws.cell(row=row, column=1)):
            end = next((r for r in range(row + 1, last + 1) if not filled[r]), last + 1)
            whole = sum(heights[row:end])
            opening = sum(heights[row : min(end, row + 2 + SECTION_ROWS_KEPT)])
            if used + (whole if whole <= page else opening) > page:
                ws.row_breaks.append(Break(id=row - 1))  # a break above the (1-based) row
                used = 0.0
        if used + heights[row] > page:  # the page ends above this row
            used = 0.0
        used += heights[row]


def print_titles(
    ws: Worksheet, title: str, rows: str | None = None, columns: str | None = None
) -> None:
    """Header (``title``) and footer (sheet name, page x of y) on every printed page, and
    ``rows`` (e.g. "1:1") and ``columns`` (e.g. "A:A") repeated on every page."""
    ws.oddHeader.center.text = title
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.right.text = "Page &P of &N"
    if rows:
        ws.print_title_rows = rows
    if columns:
        ws.print_title_cols = columns


# Charts ---------------------------------------------------------------------------------
#: Chart text (axis labels, legend) in hundredths of a point: readable on paper.
CHART_TEXT_SIZE = 1000


#: The most labels a category axis (weeks, months) shows; every n-th beyond (in Excel:
#: LibreOffice chooses its own).
CATEGORY_LABELS = 13


def thin_category_labels(chart: AnyChart, categories: int) -> None:
    """Label (and tick) every n-th of a chart's ``categories``, at most CATEGORY_LABELS
    labels: 156 week numbers side by side overprint one another."""
    chart.x_axis.tickLblSkip = chart.x_axis.tickMarkSkip = -(-categories // CATEGORY_LABELS)


def show_axes(chart: AnyChart) -> AnyChart:
    """Make both axes visible in Excel, their labels and the legend 10 pt.

    openpyxl 3.1 writes axes without ``<c:delete val="0"/>`` unless ``delete`` is set,
    and Excel then hides them (LibreOffice draws them anyway). Without a size the text is
    the renderer's choice (LibreOffice shrinks it with the chart).
    """
    text = RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=CharacterProperties(
        sz=CHART_TEXT_SIZE)), endParaRPr=CharacterProperties(sz=CHART_TEXT_SIZE))])  # fmt: skip
    for axis in (chart.x_axis, chart.y_axis):
        axis.delete = False
        axis.txPr = text
    if chart.legend is not None:
        chart.legend.txPr = text
    return chart


# Saving ---------------------------------------------------------------------------------
def save_reproducibly(wb: Workbook, path: Path, when: dt.datetime) -> Path:
    """Save ``wb`` with ``when`` as its created/modified date and as every zip entry's time.

    openpyxl's own ``save`` stamps the current time, so two builds of the same
    workbook would differ; this one gives identical bytes for identical content.
    """
    wb.properties.created = when
    wb.properties.modified = when
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    timestamp = when.timetuple()[:6]
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=timestamp)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(entry.filename))
    return path
