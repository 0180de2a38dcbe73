"""Workbooks whose extent would exhaust memory or abort the parser: refused in one sentence,
before the parse (issue 11, item 2)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from clv_xl.errors import InputError
from clv_xl.orders import sheet_extent
from clv_xl.orders.load import load_orders

AS_OF = dt.date(2024, 12, 31)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>Customer</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>Date</t></is></c>'
    '<c r="C1" t="inlineStr"><is><t>Amount</t></is></c></row>'
    '<row r="2"><c r="A2" t="inlineStr"><is><t>C1</t></is></c><c r="B2"><v>45322</v></c>'
    '<c r="C2"><v>5</v></c></row>'
)


def workbook_with_sheet_xml(path: Path, rows: str, dimension: str = "A1:C2") -> Path:
    """An openpyxl workbook whose only sheet's XML is replaced by these rows."""
    book = openpyxl.Workbook()
    book.active.title = "Orders"
    book.active["A1"] = "x"
    book.save(path)
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["xl/worksheets/sheet1.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    ).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def run_report(orders: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from clv_xl.cli import run; run()", "report", str(orders),
         "-o", str(output), "--as-of", "2024-12-31"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_one_value_at_the_last_cell_gets_one_sentence_and_exit_2(tmp_path: Path) -> None:
    """A few KB with a value at XFD1048576: python-calamine asked for 512 GiB and aborted
    the process (exit 134)."""
    far = HEADER + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    path = workbook_with_sheet_xml(tmp_path / "far.xlsx", far)
    assert path.stat().st_size < 10_000
    done = run_report(path, tmp_path / "report.xlsx")
    assert done.returncode == 2, done.stderr[-2000:]
    message = done.stderr.strip().splitlines()[-1]  # after the progress line
    assert "Traceback" not in done.stderr and message.startswith("clv-xl: ")
    assert "sheet 'Orders' of far.xlsx spans A1:XFD1048576" in message
    assert not (tmp_path / "report.xlsx").exists()


def test_cells_beyond_excels_last_cell_are_refused(tmp_path: Path) -> None:
    beyond = HEADER + '<row r="2000000"><c r="A2000000"><v>1</v></c></row>'
    with pytest.raises(InputError, match=r"beyond Excel's last cell XFD1048576 \(as far as "):
        load_orders(workbook_with_sheet_xml(tmp_path / "b.xlsx", beyond), as_of=AS_OF)


def test_a_declared_extent_beyond_excels_limits_is_refused(tmp_path: Path) -> None:
    path = workbook_with_sheet_xml(tmp_path / "d.xlsx", HEADER, dimension="A1:XFE2")
    with pytest.raises(InputError, match=r"declares cells as far as XFE2, beyond Excel's"):
        load_orders(path, as_of=AS_OF)


def test_a_styled_empty_cell_far_away_is_no_extent(tmp_path: Path) -> None:
    """calamine spans only cells with a value; a formatted blank cell at the end is fine."""
    styled = HEADER + '<row r="1048576"><c r="XFD1048576" s="0"/></row>'
    path = workbook_with_sheet_xml(tmp_path / "s.xlsx", styled, dimension="A1:XFD1048576")
    assert load_orders(path, as_of=AS_OF).rows_used == 1


def test_a_wide_value_far_down_is_spanned(tmp_path: Path) -> None:
    """A value at ZZ1000000 spans 702 columns of a million rows: 22 GB for calamine."""
    wide = HEADER + '<row r="1000000"><c r="ZZ1000000"><v>1</v></c></row>'
    with pytest.raises(InputError, match=r"spans A1:ZZ1000000, 702,000,000 cells"):
        load_orders(workbook_with_sheet_xml(tmp_path / "w.xlsx", wide), as_of=AS_OF)


def test_more_cells_than_the_memory_budget_stop_the_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sheet whose XML inflates to more cells than the budget (a zip bomb, scaled down) is
    refused while its XML is streamed, a piece at a time."""
    body = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(3, 5003))
    path = workbook_with_sheet_xml(tmp_path / "bomb.xlsx", HEADER + body)
    monkeypatch.setattr(sheet_extent, "MEMORY_BUDGET_BYTES", 1000 * sheet_extent.CELL_BYTES)
    monkeypatch.setattr(sheet_extent, "PIECE_BYTES", 4096)
    with pytest.raises(InputError, match=r"holds more than [\d,]+ cells: reading it would take"):
        load_orders(path, as_of=AS_OF)


def test_a_value_left_of_the_table_further_down_keeps_the_columns_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table starts in column B, a note far below sits in column A: fastexcel's columns
    then start at A, and the headers must too (also when the note is in a later piece)."""
    rows = "".join(
        f'<row r="{r}"><c r="B{r}" t="inlineStr"><is><t>C{r}</t></is></c>'
        f'<c r="C{r}"><v>45322</v></c><c r="D{r}"><v>{r}</v></c></row>'
        for r in range(2, 60)
    )
    header = (
        '<row r="1"><c r="B1" t="inlineStr"><is><t>Customer</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>Date</t></is></c>'
        '<c r="D1" t="inlineStr"><is><t>Amount</t></is></c></row>'
    )
    note = '<row r="70"><c r="A70" t="inlineStr"><is><t>note</t></is></c></row>'
    path = workbook_with_sheet_xml(tmp_path / "left.xlsx", header + rows + note, "A1:D70")
    for piece in (sheet_extent.PIECE_BYTES, 2048):
        monkeypatch.setattr(sheet_extent, "PIECE_BYTES", piece)
        orders = load_orders(path, as_of=AS_OF)
        assert orders.lines["amount"].tolist() == [float(r) for r in range(2, 60)]
        assert orders.lines["customer"].tolist() == [f"C{r}" for r in range(2, 60)]
        assert orders.ignored_columns == () and orders.segments == ("Column A",)


def test_a_few_kb_of_ods_spanning_excels_whole_grid_get_one_sentence(tmp_path: Path) -> None:
    """An OpenDocument sheet whose repeated rows and cells reach row 1,048,576 and column
    16,384 in 8 KB: python-calamine refuses it (its own cell limit) and the command says so
    in one sentence, exit 2, instead of allocating the grid."""
    from libreoffice import convert

    csv = tmp_path / "orders.csv"
    csv.write_text("Customer,Date,Amount\nC1,2024-01-01,10\n")
    plain = convert(csv, tmp_path / "ods", "ods").with_suffix(".ods")
    repeated = (
        '<table:table-row table:number-rows-repeated="1048570">'
        '<table:table-cell table:number-columns-repeated="3"/></table:table-row>'
        '<table:table-row><table:table-cell table:number-columns-repeated="16380"/>'
        '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p>'
        "</table:table-cell></table:table-row>"
    )
    bomb = tmp_path / "bomb.ods"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(bomb, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "content.xml":
                data = data.replace(b"</table:table>", repeated.encode() + b"</table:table>", 1)
            target.writestr(info, data)
    assert bomb.stat().st_size < 20_000
    done = run_report(bomb, tmp_path / "report.xlsx")
    assert done.returncode == 2, done.stderr[-2000:]
    message = done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr and message.startswith("clv-xl: bomb.ods ")
    assert not (tmp_path / "report.xlsx").exists()


def extent_of(path: Path) -> sheet_extent.SheetExtent:
    with zipfile.ZipFile(path) as archive:
        sheet_extent.check_parts(archive, "the sheet", but="xl/worksheets/sheet1.xml")
        return sheet_extent.check_extent(archive, "xl/worksheets/sheet1.xml", "the sheet")


def test_rows_out_of_order_are_spanned_all_the_same(tmp_path: Path) -> None:
    """A row far down written before the rows above it, and a wide cell: calamine spans
    ZZ999998 (22 GB) whatever the order; the last row element of the XML is row 9."""
    rows = (
        '<row r="999998"><c r="A999998"><v>1</v></c></row>'
        '<row r="3"><c r="ZZ3"><v>1</v></c></row>'
        + "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>' for r in range(4, 10))
    )
    path = workbook_with_sheet_xml(tmp_path / "order.xlsx", HEADER + rows)
    with pytest.raises(InputError, match=r"spans A1:ZZ999998, 701,998,596 cells"):
        extent_of(path)


def test_a_reference_after_other_attributes_is_found(tmp_path: Path) -> None:
    """XML allows a cell's attributes in any order: `<c s="0" r="XFD1048576">` is the same
    cell as `<c r="XFD1048576" s="0">`."""
    far = HEADER + '<row r="1048576"><c s="0" r="XFD1048576"><v>1</v></c></row>'
    path = workbook_with_sheet_xml(tmp_path / "attributes.xlsx", far)
    with pytest.raises(InputError, match=r"spans A1:XFD1048576"):
        extent_of(path)


def test_a_sheet_long_enough_to_hold_too_many_cells_is_counted_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XML longer than the budget's cells could take is counted in a second pass: fewer
    cells than the budget are read, the far ones exactly."""
    body = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>C{r}</t></is></c>'
        f'<c r="B{r}"><v>45322</v></c><c r="C{r}"><v>{r}</v></c></row>'
        for r in range(3, 1003)
    )
    path = workbook_with_sheet_xml(tmp_path / "long.xlsx", HEADER + body, "A1:C1002")
    monkeypatch.setattr(sheet_extent, "MEMORY_BUDGET_BYTES", 4000 * sheet_extent.CELL_BYTES)
    monkeypatch.setattr(sheet_extent, "PIECE_BYTES", 4096)
    with zipfile.ZipFile(path) as archive:
        xml_bytes = archive.getinfo("xl/worksheets/sheet1.xml").file_size
    assert xml_bytes > 4000 * sheet_extent.MIN_CELL_BYTES  # long enough to be counted
    extent = extent_of(path)
    assert (extent.first_row, extent.last_row, extent.first_column, extent.last_column) == (
        1,
        1002,
        0,
        2,
    )
    assert load_orders(path, as_of=AS_OF).rows_used == 1001


#: Rows and cells without references, which calamine places after the row or cell before.
UNREFERENCED_ROWS = "<row><c><v>1</v></c></row>" * 100_000


def test_rows_without_references_under_a_wide_cell_are_refused(tmp_path: Path) -> None:
    """100,000 rows without references (2.6 MB of XML) and one cell in column XFC: calamine
    spans 100,002 x 16,383 cells (52 GB) and aborted the process."""
    rows = HEADER + UNREFERENCED_ROWS + '<row r="1"><c r="XFC1"><v>1</v></c></row>'
    path = workbook_with_sheet_xml(tmp_path / "unreferenced.xlsx", rows)
    with pytest.raises(InputError, match=r"spans A1:XFC100002, 1,638,332,766 cells"):
        extent_of(path)
    done = run_report(path, tmp_path / "report.xlsx")
    assert done.returncode == 2, done.stderr[-2000:]
    assert not (tmp_path / "report.xlsx").exists()


def test_cells_without_references_past_the_last_column_are_refused(tmp_path: Path) -> None:
    """Below the sheet's head, where only the references were looked at."""
    above = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>' for r in range(3, 41))
    row = '<row r="41">' + "<c><v>1</v></c>" * 16_385 + "</row>"
    path = workbook_with_sheet_xml(tmp_path / "wide.xlsx", HEADER + above + row)
    with pytest.raises(InputError, match=r"beyond Excel's last cell .*as far as XFE41"):
        extent_of(path)


def test_a_sheet_written_without_references_is_read(tmp_path: Path) -> None:
    """Allowed by the format, and read where calamine places the cells."""
    rows = (
        '<row><c t="inlineStr"><is><t>Customer</t></is></c><c t="inlineStr"><is><t>Date</t>'
        '</is></c><c t="inlineStr"><is><t>Amount</t></is></c></row>'
        + "".join(
            f'<row><c t="inlineStr"><is><t>C{n % 60}</t></is></c><c><v>{45000 + n}</v></c>'
            f"<c><v>{n}</v></c></row>"
            for n in range(1, 301)
        )
    )
    path = workbook_with_sheet_xml(tmp_path / "plain.xlsx", rows)
    orders = load_orders(path, as_of=AS_OF)
    assert len(orders.lines) == 300
    assert orders.lines["amount"].sum() == sum(range(1, 301))


@pytest.mark.parametrize(
    "cell",
    ["<c r='XFD1048576'><v>1</v></c>", '<c r = "XFD1048576"><v>1</v></c>',
     '<c\tr="XFD1048576"><v>1</v></c>'],
    ids=["single quotes", "spaces around =", "a tab"],
)  # fmt: skip
def test_a_reference_written_another_legal_way_is_found(tmp_path: Path, cell: str) -> None:
    """XML allows these and calamine reads them; the checks read only r="..." before."""
    far = HEADER + f'<row r="1048576">{cell}</row>'
    path = workbook_with_sheet_xml(tmp_path / "quotes.xlsx", far)
    with pytest.raises(InputError, match=r"spans A1:XFD1048576"):
        extent_of(path)


FAR_ROW = '<row r="1048576">{}</row>'


@pytest.mark.parametrize(
    "cells",
    [
        '<c r="xfd1048576"><v>1</v></c>',  # calamine reads small letters
        '<c r="Xfd1048576"><v>1</v></c>',
        '<c s=">" r="XFD1048576"><v>1</v></c>',  # a '>' in a value before the reference
        '<c s="<" r="XFD1048576"><v>1</v></c>',  # a '<' (quick-xml reads it)
        '<c r="XFD1048576" s="/>"><v>1</v></c>',  # a value read as an empty cell's end
        '<c s="1"r="XFD1048576"><v>1</v></c>',  # no space between attributes
        "<!--</sheetData>--><c r='XFD1048576'><v>1</v></c>",  # the end in a comment
    ],
    ids=["small letters", "mixed letters", "> in a value", "< in a value", "/> in a value",
         "no space", "a comment"],
)  # fmt: skip
def test_a_far_reference_calamine_reads_is_found(tmp_path: Path, cells: str) -> None:
    """Each of these few-KB sheets made python-calamine ask for 512 GiB and abort."""
    path = workbook_with_sheet_xml(tmp_path / "far.xlsx", HEADER + FAR_ROW.format(cells))
    with pytest.raises(InputError, match=r"spans A1:XFD1048576"):
        extent_of(path)


def prefixed(path: Path) -> Path:
    """The sheet with the prefix ``x`` bound to its namespace (as some writers write it)."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"<worksheet ", f'<worksheet xmlns:x="{MAIN}" '.encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("rows", "far"),
    [
        ("<x:row><x:c><x:v>1</x:v></x:c></x:row>" * 100_000,
         '<x:row r="1"><x:c r="XFC1"><x:v>1</x:v></x:c></x:row>'),
        ('<row x:r="1"><c x:r="A1"><v>1</v></c></row>' * 100_000,
         '<row r="1"><c r="XFC1"><v>1</v></c></row>'),
    ],
    ids=["prefixed elements", "prefixed attributes"],
)  # fmt: skip
def test_rows_calamine_reads_without_references_are_placed_in_turn(
    tmp_path: Path, rows: str, far: str
) -> None:
    """calamine reads ``<x:row>`` as a row and ``x:r`` as no reference: 100,000 rows placed
    one after the other under a cell in column XFC (52 GB; the process aborted)."""
    path = prefixed(workbook_with_sheet_xml(tmp_path / "prefixed.xlsx", rows + far))
    with pytest.raises(InputError, match=r"spans A1:XFC10000[0-2], 1,638,3\d\d,\d{3} cells"):
        extent_of(path)


@pytest.mark.parametrize(
    "row",
    [
        """<row r="3">""" + """<c s=' r="A3"'><v>1</v></c>""" * 16_385 + "</row>",
        '<row r="3">' + "<c><v>1</v></c>" * 16_000 + '<c r="A3"/>' + "<c><v>1</v></c>" * 400
        + "</row>",
        '<row r="3">' + "<c><v>1</v></c>" * 10_000 + "<row>" + "<c><v>1</v></c>" * 10_000
        + "</row></row>",
    ],
    ids=["a reference in a value", "an empty cell's reference", "a row in a row"],
)  # fmt: skip
def test_cells_without_references_are_placed_past_what_is_not_one(tmp_path: Path, row: str) -> None:
    """A quoted value is not an attribute, and a row begun inside a row goes on from its
    column (calamine starts a row's cells in column A when a row ends): these cells run on
    past column XFD. And calamine 0.x takes an empty cell's reference where newer ones pass
    over the element: the bound is the further of the two (past XFD)."""
    path = workbook_with_sheet_xml(tmp_path / "run-on.xlsx", HEADER + row)
    with pytest.raises(InputError, match=r"beyond Excel's last cell XFD1048576 \(as far as \w+3\)"):
        extent_of(path)


def test_xml_without_tag_ends_is_refused_before_it_fills_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gigabytes of text that never close a tag (a zip bomb of a few MB) were gathered whole,
    each piece copied again onto them; scaled down here to 3 MB against a limit of 1 MB."""
    text = '<row r="3"><c r="A3" t="inlineStr"><is><t>' + "x" * 3 * 2**20 + "</t></is></c></row>"
    path = workbook_with_sheet_xml(tmp_path / "endless.xlsx", HEADER + text)
    assert path.stat().st_size < 20_000
    monkeypatch.setattr(sheet_extent, "LONGEST_MARKUP_BYTES", 2**20)
    with pytest.raises(InputError, match=r"has more than 1 MB of XML without a tag's end"):
        extent_of(path)


@pytest.mark.parametrize(
    "cell",
    ['<c r="A1048576" r="XFD1048576"><v>1</v></c>',
     '<c r="A1048576" s="w"r="XFD1048576"><v>1</v></c>',
     '<c r="A1048576" s="1" r =\'XFD1048576\'><v>1</v></c>'],
    ids=["twice", "after a value ending in w", "spaced and quoted otherwise"],
)  # fmt: skip
def test_a_cells_last_reference_is_the_one_calamine_takes(tmp_path: Path, cell: str) -> None:
    """python-calamine places a cell by its last ``r`` (it asked for 512 GiB and aborted)."""
    path = workbook_with_sheet_xml(tmp_path / "twice.xlsx", HEADER + FAR_ROW.format(cell))
    with pytest.raises(InputError, match=r"spans A1:XFD1048576"):
        extent_of(path)
