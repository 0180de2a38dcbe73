"""The segment report written into an open workbook through xlwings' Book API.

For xlwings Lite and xlwings Server, which cannot hand the user a new file. The sheets are
the `.xlsx` report's own (:func:`clv_xl.report.workbook.build`), copied cell for cell: values,
formulas, number formats, fills and fonts, alignment (horizontal and vertical, indent and
wrapping), column widths, frozen panes, Excel tables, the defined names the formulas use,
and each chart as a native chart on a copy of its data.
A sheet is named as in the `.xlsx` report with the prefix ``CLV `` (``CLV Summary``), so a
second run replaces those sheets and no others. Every text is written with Excel's text
prefix (an apostrophe): no text from the data becomes a formula, a number or a date.

:func:`report_copy` plans every change (and finds every problem) before
:func:`write_copy` changes the workbook.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import xlwings as xw
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, LineChart
from openpyxl.chart._chart import ChartBase
from openpyxl.utils import get_column_letter, range_to_tuple
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl.analysis.analyze import Analysis
from clv_xl.errors import InputError
from clv_xl.report import cohorts, style
from clv_xl.report.cells import plain
from clv_xl.report.workbook import build

PREFIX = "CLV "
#: Excel's mark for "this cell holds text": shown nowhere, stops Excel from parsing the text.
TEXT_PREFIX = "'"
#: Column widths: the Book API takes points; openpyxl gives characters of 7 pixels (96 dpi).
POINTS_PER_CHARACTER = 5.25
POINTS_PER_CM = 72 / 2.54
CHART_DATA_GAP = 2  # blank columns between a sheet's cells and the charts' data
DEFAULT_FONT = (False, False, 11.0, None)  # bold, italic, size, colour
#: Excel's default alignment (horizontal, vertical, indent, wrapped); vertical: the bottom.
DEFAULT_ALIGNMENT = (None, None, 0, False)
#: Sheets whose blocks under a header row become Excel tables here (the file shows them as
#: heat maps on plain cells): ``Cohorts_1``, ``Cohorts_2``, ...
TABLED_SHEETS = {cohorts.SHEET: "TableStyleLight1"}


def report_sheet(name: str) -> str:
    """The Book sheet that holds the `.xlsx` report's sheet ``name``."""
    return PREFIX + name


@dataclass(frozen=True)
class Block:
    """A rectangle of cells (1-based, inclusive) that share one ``value`` of a property."""

    top: int
    left: int
    bottom: int
    right: int
    value: Any

    @property
    def address(self) -> str:
        first = f"{get_column_letter(self.left)}{self.top}"
        return f"{first}:{get_column_letter(self.right)}{self.bottom}"


@dataclass(frozen=True)
class ChartCopy:
    """A native chart: its data block (a header row, categories in the first column)."""

    title: str
    chart_type: str  # xlwings' name, e.g. "bar_clustered"
    anchor: str
    width: float  # points
    height: float
    data: Block


@dataclass(frozen=True)
class SheetCopy:
    name: str
    cells: list[list[Any]]  # from A1
    number_formats: list[Block]
    fills: list[Block]  # value: "#RRGGBB"
    fonts: list[Block]  # value: (bold, italic, size, "#RRGGBB" or None)
    alignments: list[Block]  # value: (horizontal, vertical, indent, wrapped), as xlwings names
    widths: dict[int, float]  # column -> points
    heights: dict[int, float]  # row -> points
    colour_scales: list[tuple[str, list[str]]]  # address, colours from low to high
    frozen: str | None  # the address of the frozen cells
    tables: list[tuple[str, str, str]]  # name, address, style
    charts: list[ChartCopy]


@dataclass(frozen=True)
class ReportCopy:
    sheets: list[SheetCopy]
    names: list[tuple[str, str]]  # defined name, refers to

    @property
    def sheet_names(self) -> list[str]:
        return [sheet.name for sheet in self.sheets]


def report_copy(analysis: Analysis, generated_at: dt.datetime) -> ReportCopy:
    """The report's sheets as the Book API writes them (`report.workbook.build`, renamed)."""
    wb, large = build(analysis, generated_at)
    frames = {table.sheet: table for table in large if table is not None}
    renames = {ws.title: report_sheet(ws.title) for ws in wb.worksheets}
    sheets = [_sheet_copy(wb, ws, renames, frames.get(ws.title)) for ws in wb.worksheets]
    names = [
        (name, "=" + _renamed(defined.attr_text, renames))
        for name, defined in wb.defined_names.items()
    ]
    return ReportCopy(sheets, names)


def _renamed(text: str, renames: dict[str, str]) -> str:
    """A formula or reference with the report's sheets under their Book names."""
    for old, new in renames.items():
        text = text.replace(f"'{old}'!", f"'{new}'!")
    return text


def _value(cell: Cell, renames: dict[str, str]) -> Any:
    """What the Book API writes for a cell: our formulas as formulas, all text as text."""
    if cell.data_type == "f":
        return _renamed(str(cell.value), renames)
    return _written(cell.value)


def _written(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, str):
        return TEXT_PREFIX + value if value else None  # Excel keeps no empty text
    return value


def _sheet_copy(wb: Workbook, ws: Worksheet, renames: dict[str, str], large: Any) -> SheetCopy:
    cells = [[_value(cell, renames) for cell in row] for row in ws.iter_rows()]
    marks = _marks(ws)
    charts = []
    data_column = ws.max_column + CHART_DATA_GAP + 1
    data_row = 1
    for chart in ws._charts:  # openpyxl keeps a sheet's charts only there
        copy, block_cells, block_formats = _chart_copy(wb, chart, renames, data_row, data_column)
        _place(cells, copy.data, block_cells)
        marks[0].update(block_formats)
        charts.append(copy)
        data_row = copy.data.bottom + 2
    number_formats, fills, fonts, alignments = (blocks(found) for found in marks)
    if large is not None:  # the template row stands for every data row
        first = large.first_row
        cells[first - 1 :] = [
            [_written(value) for value in row]
            for row in large.frame.itertuples(index=False, name=None)
        ]
        last = first + len(large.frame) - 1
        number_formats, fills, fonts, alignments = (
            [_extended(block, first, last) for block in found]
            for found in (number_formats, fills, fonts, alignments)
        )
    widths = {
        column: dimension.width * POINTS_PER_CHARACTER
        for column, dimension in (
            (ws[f"{letter}1"].column, dimension)
            for letter, dimension in ws.column_dimensions.items()
        )
        if dimension.customWidth
    }
    tables = [
        (table.displayName, table.ref, table.tableStyleInfo.name) for table in ws.tables.values()
    ]
    if ws.title in TABLED_SHEETS:
        tables += [
            (f"{ws.title}_{number}", block.address, TABLED_SHEETS[ws.title])
            for number, block in enumerate(_headed_blocks(ws), start=1)
        ]
    return SheetCopy(
        name=renames[ws.title],
        cells=cells,
        number_formats=number_formats,
        fills=fills,
        fonts=fonts,
        alignments=alignments,
        widths=widths,
        heights={
            row: dimension.height
            for row, dimension in ws.row_dimensions.items()
            if dimension.height is not None
        },
        colour_scales=_colour_scales(ws),
        frozen=_frozen(ws.freeze_panes),
        tables=tables,
        charts=charts,
    )


def _headed_blocks(ws: Worksheet) -> list[Block]:
    """Each header row (cells in the report's header style from column A) with the rows
    under it down to the first blank one."""
    header_fill = style.HEADER.fill.fgColor.rgb if style.HEADER.fill is not None else None
    found = []
    for row in range(1, ws.max_row + 1):
        first = ws.cell(row=row, column=1)
        if first.value is None or first.fill.fgColor.rgb != header_fill:
            continue
        right = 1
        while ws.cell(row=row, column=right + 1).value is not None:
            right += 1
        bottom = row
        while ws.cell(row=bottom + 1, column=1).value is not None:
            bottom += 1
        found.append(Block(row, 1, max(bottom, row + 1), right, None))
    return found


def _colour_scales(ws: Worksheet) -> list[tuple[str, list[str]]]:
    """The sheet's colour scales: low to high (two colours), or with the median between
    (three); other rules have no place in the report."""
    scales: list[tuple[str, list[str]]] = []
    for formatting in ws.conditional_formatting:
        for rule in formatting.rules:
            scale = rule.colorScale
            kinds = [(value.type, value.val) for value in scale.cfvo]
            if kinds not in ([("min", None), ("max", None)],
                             [("min", None), ("percentile", 50), ("max", None)]):  # fmt: skip
                raise TypeError(f"No Book API colour scale for {kinds}")
            colours = [_colour(colour.rgb) or "#FFFFFF" for colour in scale.color]
            scales.extend((str(address), colours) for address in formatting.sqref.ranges)
    return scales


def _extended(block: Block, first: int, last: int) -> Block:
    if block.top == block.bottom == first:
        return Block(block.top, block.left, last, block.right, block.value)
    return block


Marks = dict[tuple[int, int], Any]


def _marks(ws: Worksheet) -> tuple[Marks, Marks, Marks, Marks]:
    """The sheet's number formats, fills, fonts and alignments, by (row, column)."""
    marks: tuple[Marks, Marks, Marks, Marks] = ({}, {}, {}, {})
    formats, fills, fonts, alignments = marks
    for row in ws.iter_rows():
        for cell in row:
            place = (cell.row, cell.column)
            if cell.number_format != "General":
                formats[place] = cell.number_format
            if cell.fill is not None and cell.fill.fill_type == "solid":
                fills[place] = _colour(cell.fill.fgColor.rgb)
            font = cell.font
            look = (
                bool(font.b),
                bool(font.i),
                float(font.sz or DEFAULT_FONT[2]),
                _colour(font.color.rgb) if font.color is not None else None,
            )
            if look != DEFAULT_FONT:
                fonts[place] = look
            alignment = cell.alignment
            placing = (
                alignment.horizontal if alignment.horizontal != "general" else None,
                alignment.vertical if alignment.vertical != "bottom" else None,
                int(alignment.indent or 0),
                bool(alignment.wrap_text),
            )
            if placing != DEFAULT_ALIGNMENT:
                alignments[place] = placing
    return marks


def _colour(argb: Any) -> str | None:
    """openpyxl's ``AARRGGBB`` as ``#RRGGBB`` (None for a theme or indexed colour)."""
    return f"#{argb[-6:]}" if isinstance(argb, str) else None


def blocks(marks: Marks) -> list[Block]:
    """Cells (row, column) -> value as few rectangles: runs along each row, then runs of
    equal runs down the rows."""
    by_row: dict[int, list[tuple[int, Any]]] = {}
    for (row, column), value in sorted(marks.items()):
        by_row.setdefault(row, []).append((column, value))
    done: list[Block] = []
    open_: dict[tuple[int, int, Any], Block] = {}
    for row in sorted(by_row):
        runs: list[tuple[int, int, Any]] = []
        for column, value in by_row[row]:
            if runs and runs[-1][1] == column - 1 and runs[-1][2] == value:
                runs[-1] = (runs[-1][0], column, value)
            else:
                runs.append((column, column, value))
        still_open: dict[tuple[int, int, Any], Block] = {}
        for left, right, value in runs:
            above = open_.pop((left, right, value), None)
            if above is not None and above.bottom == row - 1:
                still_open[(left, right, value)] = Block(above.top, left, row, right, value)
            else:
                if above is not None:
                    done.append(above)
                still_open[(left, right, value)] = Block(row, left, row, right, value)
        done.extend(open_.values())
        open_ = still_open
    return done + list(open_.values())


def _frozen(top_left: str | None) -> str | None:
    """openpyxl's first unfrozen cell (``B4``) as the frozen cells' address (``A1:A3``)."""
    if not top_left:
        return None
    column, row = range_to_tuple(f"'x'!{top_left}")[1][:2]
    rows, columns = row - 1, column - 1
    if rows and columns:
        return f"A1:{get_column_letter(columns)}{rows}"
    if rows:
        return f"1:{rows}"
    return f"A:{get_column_letter(columns)}" if columns else None


def _chart_copy(
    wb: Workbook, chart: ChartBase, renames: dict[str, str], top: int, left: int
) -> tuple[ChartCopy, list[list[Any]], Marks]:
    """A chart as a native chart, its data block (header row, categories first) of links to
    the report's cells, so the chart follows the live formulas, and the cells' formats."""
    series = list(chart.series)
    header = [None] + [_links(one.tx.strRef.f, renames)[0] if one.tx else None for one in series]
    sources = [_formula(series[0].cat)] + [_formula(one.val) for one in series]
    columns = [_links(source, renames) for source in sources]
    rows = [list(row) for row in zip(*columns, strict=True)]
    formats = {
        (top + offset, left + index): number_format
        for index, source in enumerate(sources)
        for offset, number_format in enumerate(_number_formats(wb, source), start=1)
        if number_format != "General"
    }
    data = Block(top, left, top + len(rows), left + len(series), None)
    copy = ChartCopy(
        title=_title(chart),
        chart_type=_chart_type(chart),
        anchor=str(chart.anchor),
        width=chart.width * POINTS_PER_CM,
        height=chart.height * POINTS_PER_CM,
        data=data,
    )
    return copy, [header, *rows], formats


def _chart_type(chart: ChartBase) -> str:
    if isinstance(chart, BarChart):
        return "bar_clustered" if chart.type == "bar" else "column_clustered"
    if isinstance(chart, LineChart):
        return "line"
    raise TypeError(f"No Book API chart type for {type(chart).__name__}")


def _title(chart: ChartBase) -> str:
    if chart.title is None or chart.title.tx is None or chart.title.tx.rich is None:
        return ""
    return "".join(run.t for paragraph in chart.title.tx.rich.p for run in paragraph.r or [])


def _formula(source: Any) -> str:
    """The reference of a chart's data source (numbers or text)."""
    reference = source.numRef or source.strRef
    return reference.f


def _cells_of(reference: str) -> tuple[str, list[tuple[int, int]]]:
    """The sheet and the (row, column) cells of a reference such as ``'Segments'!$P$10:$P$13``."""
    sheet, (min_col, min_row, max_col, max_row) = range_to_tuple(reference)
    cells = [
        (row, column)
        for row in range(min_row, max_row + 1)
        for column in range(min_col, max_col + 1)
    ]
    return sheet, cells


def _number_formats(wb: Workbook, reference: str) -> list[str]:
    sheet, cells = _cells_of(reference)
    return [wb[sheet].cell(row=row, column=column).number_format for row, column in cells]


def _links(reference: str, renames: dict[str, str]) -> list[str]:
    """Formulas linking to each cell of a one-row or one-column reference such as
    ``'Segments'!$P$10:$P$13``, on the report's sheets under their Book names."""
    sheet, cells = _cells_of(reference)
    return [f"='{renames[sheet]}'!${get_column_letter(column)}${row}" for row, column in cells]


def _place(cells: list[list[Any]], where: Block, values: list[list[Any]]) -> None:
    """Put ``values`` into the grid at ``where``, widening the grid as needed."""
    width = max(where.right, max((len(row) for row in cells), default=0))
    while len(cells) < where.bottom:
        cells.append([])
    for row in cells:
        row.extend([None] * (width - len(row)))
    for offset, row_values in enumerate(values):
        cells[where.top - 1 + offset][where.left - 1 : where.right] = row_values


# --------------------------------------------------------------------------------------------
# Into the Book


def check_book(book: xw.Book, copy: ReportCopy, orders_sheet: str) -> None:
    """Raise InputError, before anything changes, where the report cannot go into ``book``."""
    ours = set(copy.sheet_names)
    if orders_sheet in ours:
        raise InputError(
            f"The orders are on the sheet '{orders_sheet}', a name the report uses for its "
            "own sheets: rename the orders sheet."
        )
    for name in book.names:
        if name.name in dict(copy.names) and not _report_reference(name.refers_to, ours):
            raise InputError(
                f"{book.name} already has a defined name '{name.name}' ({name.refers_to}), "
                "which the report's formulas need: rename or delete it."
            )
    wanted = {table.casefold() for sheet in copy.sheets for table, _, _ in sheet.tables}
    for sheet in book.sheets:
        if sheet.name in ours:
            continue
        for table in sheet.tables:
            if table.name.casefold() in wanted:
                raise InputError(
                    f"The sheet '{sheet.name}' has an Excel table named '{table.name}', a "
                    "name the report uses for its own tables: rename that table."
                )


def _report_reference(refers_to: str | None, ours: Iterable[str]) -> bool:
    """Whether a defined name points at one of the report's sheets (or at a deleted one)."""
    text = refers_to or ""
    return "#REF!" in text or any(f"'{sheet}'!" in text for sheet in ours)


def write_copy(book: xw.Book, copy: ReportCopy) -> None:
    """Replace the report's sheets and names in ``book`` (checked by `check_book`)."""
    ours = set(copy.sheet_names)
    wanted = dict(copy.names)
    for existing in list(book.names):
        if existing.name in wanted:
            existing.delete()
    for sheet in list(book.sheets):
        if sheet.name in ours:
            sheet.delete()
    added = [book.sheets.add(name=s.name, after=book.sheets[-1]) for s in copy.sheets]
    for name, refers_to in copy.names:
        book.names.add(name, refers_to)
    for sheet, planned in zip(added, copy.sheets, strict=True):
        _write_sheet(sheet, planned)
    added[0].activate()


def _write_sheet(sheet: xw.Sheet, planned: SheetCopy) -> None:
    if planned.cells:
        sheet.range("A1").value = planned.cells
    for block in planned.number_formats:
        sheet.range(block.address).number_format = block.value
    for block in planned.fills:
        sheet.range(block.address).color = block.value
    for block in planned.fonts:
        bold, italic, size, colour = block.value
        font = sheet.range(block.address).font
        if bold:
            font.bold = True
        if italic:
            font.italic = True
        if size != DEFAULT_FONT[2]:
            font.size = size
        if colour is not None:
            font.color = colour
    for block in planned.alignments:
        horizontal, vertical, indent, wrapped = block.value
        cells = sheet.range(block.address)
        if horizontal is not None:
            cells.horizontal_alignment = horizontal
        if vertical is not None:
            cells.vertical_alignment = vertical
        if indent:
            cells.adjust_indent(indent)  # from no indent, on a new sheet
        if wrapped:
            cells.wrap_text = True
    for column, points in sorted(planned.widths.items()):
        sheet.range((1, column)).column_width = points
    for row, points in sorted(planned.heights.items()):
        sheet.range((row, 1)).row_height = points
    for address, colours in planned.colour_scales:
        sheet.range(address).conditional_formats.add_color_scale(colours)
    for name, address, table_style in planned.tables:
        sheet.tables.add(sheet.range(address), name=name, table_style_name=table_style)
    for chart in planned.charts:
        _add_chart(sheet, chart)
    if planned.frozen:
        sheet.freeze_panes.freeze_at(planned.frozen)


def _add_chart(sheet: xw.Sheet, chart: ChartCopy) -> None:
    data = chart.data
    native = sheet.charts.add(
        width=chart.width,
        height=chart.height,
        chart_type=chart.chart_type,
        anchor=sheet.range(chart.anchor),
    )
    values = Block(data.top, data.left + 1, data.bottom, data.right, None)
    native.set_source_data(sheet.range(values.address), plot_by="columns")
    categories = Block(data.top + 1, data.left, data.bottom, data.left, None)
    native.set_x_axis_values(sheet.range(categories.address))
    native.title = chart.title
