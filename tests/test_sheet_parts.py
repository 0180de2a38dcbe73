"""A large sheet parsed in parts at once (`sheet_parts`) reads as the same cells as one parse."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from unittest.mock import patch
from xml.etree import ElementTree

import openpyxl
import pytest
import python_calamine
from libreoffice import recalculate
from test_orders import AS_OF, FORMULA_TEXT, assert_same_orders

from clv_xl import orders as orders_module
from clv_xl import sheet_parts
from clv_xl.headers import GUESS
from clv_xl.orders import load_orders
from clv_xl.orders_file import OrdersSheet, Source, workbook_sheet
from clv_xl.sample import sample_orders, write_orders

SHEET = "Orders"
MISSING_CUSTOMER = range(30, 50)  # data rows whose customer column is blank
BLANK = range(60, 65)  # data rows left empty


def orders_rows() -> list[list[object]]:
    """A header and 90 data rows: a run without customers (so that a part can start right of
    the others), a run of blank rows (so that parts can have empty rows between them), text
    that looks like a formula, and dates, numbers and text throughout."""
    rows: list[list[object]] = [["Customer", "Order date", "Amount", "Channel"]]
    for i in range(90):
        if i in BLANK:
            rows.append([None] * 4)
            continue
        customer = None if i in MISSING_CUSTOMER else f"C{i % 17:03d}"
        channel = FORMULA_TEXT if i == 7 else ("Web", "Shop", "Mail")[i % 3]
        rows.append([customer, dt.date(2024, 1, 1) + dt.timedelta(days=3 * i), i * 1.25, channel])
    return rows


@pytest.fixture(scope="module")
def by_openpyxl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sheets, the orders second and from C3; inline text, as openpyxl writes it."""
    path = tmp_path_factory.mktemp("openpyxl") / "orders.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"
    workbook.active["A1"] = "exported from the shop"
    sheet = workbook.create_sheet(SHEET)
    for r, row in enumerate(orders_rows()):
        for c, value in enumerate(row):
            cell = sheet.cell(3 + r, 3 + c, value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"
    workbook.save(path)
    return path


@pytest.fixture(scope="module")
def by_libreoffice(by_openpyxl: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same workbook saved by LibreOffice: shared strings, and every row and cell carries
    its reference, as Excel writes them."""
    out = tmp_path_factory.mktemp("libreoffice")
    recalculate(by_openpyxl, out)
    return out / by_openpyxl.name


@pytest.fixture(scope="module")
def by_clv_xl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample's writer: inline text, cells without references."""
    path = tmp_path_factory.mktemp("sample") / "orders.xlsx"
    write_orders(sample_orders(customers=60, seed=5), path)
    return path


def parsed(path: Path, sheet: str, **split: int) -> tuple[python_calamine.CalamineSheet, ...]:
    data = path.read_bytes()
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return sheet_parts.parse_sheet(workbook, data, sheet, **split)


def grid(parts: tuple[python_calamine.CalamineSheet, ...]) -> tuple[int, int, list[list[object]]]:
    """The sheet row and column of the first cell, and the rows, as the reading sees them."""
    blocks, origin = orders_module._sheet_blocks(parts)
    rows = [["" if v is None else v for v in row] for row in orders_module._grid_rows(blocks)]
    return origin.row, origin.column, rows


def read(parts: tuple[python_calamine.CalamineSheet, ...], path: Path, sheet: str) -> object:
    return load_orders(OrdersSheet(parts, sheet, Source(str(path), sheet, None)), as_of=AS_OF)


WORKBOOKS = {"openpyxl": (SHEET, 3), "libreoffice": (SHEET, 3), "clv_xl": ("Orders", 1)}


@pytest.mark.parametrize("writer", WORKBOOKS)
@pytest.mark.parametrize("count", [2, 3, 5, 8, 13])
def test_the_parts_read_as_the_whole_sheet(
    writer: str, count: int, request: pytest.FixtureRequest
) -> None:
    path = request.getfixturevalue(f"by_{writer}")
    sheet, first = WORKBOOKS[writer]
    parts = parsed(path, sheet, parts=count, min_part_bytes=1)
    whole = parsed(path, sheet, parts=1)
    assert len(parts) == count and len(whole) == 1
    assert grid(parts) == grid(whole)
    assert grid(parts)[:2] == (first, first - 1)  # the header's sheet row and column
    assert_same_orders(read(parts, path, sheet), read(whole, path, sheet))


@pytest.mark.parametrize("writer", ["openpyxl", "libreoffice"])
def test_parts_with_empty_rows_between_them_or_starting_right_of_the_others(
    writer: str, request: pytest.FixtureRequest
) -> None:
    """Among all ways of cutting the test sheet, some leave empty rows between two parts and
    some start a part in the amount column (rows without customer): both read as one parse."""
    path = request.getfixturevalue(f"by_{writer}")
    whole = grid(parsed(path, SHEET, parts=1))
    gaps = right = 0
    for count in range(2, 40):
        parts = [p for p in parsed(path, SHEET, parts=count, min_part_bytes=1) if p.end]
        gaps += any(b.start[0] > a.end[0] + 1 for a, b in pairwise(parts))
        right += any(p.start[1] > parts[0].start[1] for p in parts)
        assert grid(tuple(parts)) == whole
    assert gaps and right


def test_the_xml_is_cut_before_a_numbered_row_wherever_a_chunk_ends() -> None:
    rows = b"".join(
        f'<row r="{r}" spans="1:2"><c r="A{r}" t="s"><v>{r % 4}</v></c></row>'.encode()
        for r in range(1, 41)
    )
    xml = b'<worksheet xmlns="x"><sheetData>' + rows + b"</sheetData><pageMargins/></worksheet>"
    for count in range(2, 30):
        pieces = list(sheet_parts._xml_parts(io.BytesIO(xml), len(xml), count))
        assert len(pieces) == count
        assert b"".join(bytes(p[1]) + bytes(p[2]) for p in pieces) == rows
        for head, carried, body, tail in pieces:
            part = head + bytes(carried) + bytes(body) + bytes(tail)
            assert ElementTree.fromstring(part).tag == "{x}worksheet"  # well-formed
            assert re.match(rb'<row r="\d+"', bytes(carried) + bytes(body)) or not body
        assert pieces[-1][3] == b"</sheetData><pageMargins/></worksheet>"


def test_python_calamine_gives_the_empty_rows_above_a_sheets_cells_first(
    by_openpyxl: Path,
) -> None:
    """`orders._sheet_blocks` steps over them in every part: a guard for python-calamine
    upgrades."""
    (sheet,) = parsed(by_openpyxl, SHEET, parts=1)
    rows = list(sheet.iter_rows())
    assert sheet.start == (2, 2) and len(rows) == sheet.end[0] + 1
    assert all(cell == "" for row in rows[:2] for cell in row) and rows[2][0] == "Customer"


def rewritten(path: Path, out: Path, sheet_xml: str, change: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info, change(content) if info.filename == sheet_xml else content)
    return out


def sheet_member(path: Path, sheet: str) -> str:
    with zipfile.ZipFile(path) as package:
        return sheet_parts._sheet_member(package, sheet).filename


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda xml: re.sub(rb'(<row) r="\d+"', rb"\1", xml), id="unnumbered-rows"),
        pytest.param(
            lambda xml: re.sub(rb"<(/?)(\w+)", rb"<\1x:\2", xml).replace(b"xmlns=", b"xmlns:x="),
            id="prefixed-names",
        ),
        pytest.param(
            lambda xml: re.sub(rb'r="([A-Z]*)40"', rb'r="\g<1>4"', xml),
            id="rows-out-of-order",
        ),
    ],
)
def test_a_sheet_the_split_cannot_handle_is_parsed_whole(
    by_libreoffice: Path, tmp_path: Path, change: Callable[[bytes], bytes]
) -> None:
    path = rewritten(
        by_libreoffice, tmp_path / "changed.xlsx", sheet_member(by_libreoffice, SHEET), change
    )
    parts = parsed(path, SHEET, parts=4, min_part_bytes=1)
    assert len(parts) == 1
    assert grid(parts) == grid(parsed(path, SHEET, parts=1))


def test_when_the_parts_cannot_be_written_the_sheet_is_parsed_whole(
    by_openpyxl: Path, tmp_path: Path
) -> None:
    with patch.object(sheet_parts, "_scratch", return_value=tmp_path / "missing"):
        parts = parsed(by_openpyxl, SHEET, parts=3, min_part_bytes=1)
    assert len(parts) == 1 and grid(parts) == grid(parsed(by_openpyxl, SHEET, parts=1))


def test_the_parts_files_are_removed(by_openpyxl: Path, tmp_path: Path) -> None:
    with patch.object(sheet_parts, "_scratch", return_value=tmp_path):
        parts = parsed(by_openpyxl, SHEET, parts=3, min_part_bytes=1)
    assert len(parts) == 3 and list(tmp_path.iterdir()) == []


def test_a_small_sheet_is_parsed_whole(by_openpyxl: Path) -> None:
    assert len(parsed(by_openpyxl, SHEET)) == 1  # a few kB against MIN_PART_BYTES
    assert len(parsed(by_openpyxl, SHEET, parts=3, min_part_bytes=2**40)) == 1


def test_a_large_sheet_is_read_in_parts_with_the_same_orders(by_clv_xl: Path) -> None:
    """The file route, `load_orders(path)`, with parts of 1 kB of XML."""
    whole = load_orders(by_clv_xl, as_of=AS_OF)
    with patch.object(sheet_parts, "MIN_PART_BYTES", 1000):
        opened = workbook_sheet(by_clv_xl, None, GUESS)
        assert len(opened.parts) == sheet_parts.default_parts()
        assert_same_orders(load_orders(by_clv_xl, as_of=AS_OF), whole)


def test_parts_for_the_cores() -> None:
    with patch.object(sheet_parts.os, "sched_getaffinity", return_value={0}, create=True):
        assert sheet_parts.default_parts() == 1
    with patch.object(sheet_parts.os, "sched_getaffinity", return_value={0, 1}, create=True):
        assert sheet_parts.default_parts() == 3
    with patch.object(
        sheet_parts.os, "sched_getaffinity", return_value=set(range(16)), create=True
    ):
        assert sheet_parts.default_parts() == sheet_parts.MAX_PARTS


def test_the_head_of_a_sheet_is_its_first_rows(by_libreoffice: Path) -> None:
    data = by_libreoffice.read_bytes()
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    head = sheet_parts.parse_head(workbook, data, SHEET, head_bytes=8000)
    whole = workbook.get_sheet_by_name(SHEET)
    rows = whole.to_python(skip_empty_area=False)
    assert 1 < head.height < whole.height
    assert head.to_python(skip_empty_area=False) == rows[: head.end[0] + 1]
    assert sheet_parts.parse_head(workbook, data, SHEET).height == whole.height  # small


def test_the_orders_sheet_is_found_by_the_heads_of_the_sheets(tmp_path: Path) -> None:
    """A long sheet without orders first: only its head is parsed to look for a header."""
    path = tmp_path / "two.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "Log"
    for i in range(400):
        workbook.active.append([f"event {i}", i * 2.5])
    orders = workbook.create_sheet(SHEET)
    for row in orders_rows():
        orders.append(row)
    workbook.save(path)
    with (
        patch.object(sheet_parts, "HEAD_BYTES", 1000),
        patch.object(sheet_parts, "_parse", wraps=sheet_parts._parse) as parse_part,
    ):
        opened = workbook_sheet(path, None, GUESS)
    assert opened.source.sheet == SHEET
    assert parse_part.call_args_list[0].args[1] == "Log"  # its head, as a part
    assert_same_orders(
        load_orders(opened, as_of=AS_OF), load_orders(path, sheet=SHEET, as_of=AS_OF)
    )
