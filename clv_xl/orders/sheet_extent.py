"""A workbook sheet's extent and head, read from its XML before any parser allocates it.

calamine (inside fastexcel) allocates a sheet's whole used range, from its first to its
last cell with a value, at once: a few-KB file with one value at XFD1048576 asks for
512 GiB, and the process aborts (Rust's `abort`, not an exception). So the sheet's XML is
streamed first, without building anything per cell, and a sheet is refused, in one
sentence, when its declared or actual extent lies beyond Excel's limits or when its cells
(counted, or spanned by its extent) would need more than MEMORY_BUDGET_BYTES
(`check_extent`). The same pass gives the head of the sheet (its first rows with a value,
as cell values: shared strings looked up, numbers as floats), for finding the header row,
and where the used range starts, which fastexcel does not say.

The sheet's XML is read in pieces of PIECE_BYTES that stay in the processor's cache, and
nothing in it is trusted to be in order: not the ``<dimension>``, not the order of rows or
cells, not the order of a cell's attributes. One pass bounds the extent cheaply: each
piece's cells and the reach of their references are read with numpy where Excel writes
them (`reference_scan`; columns exactly, rows to 999,999 or exactly beyond). Only when that
bound is beyond Excel's limits or the budget, or the XML is long enough to hold more cells
than the budget, a second pass reads the extent of the cells with a value exactly and
counts them (`_exact_reach`). A sheet with any cell not written as Excel writes it (no
reference, ``<c><v>1</v></c>``, which calamine places after the cell before; the
reference not first, or in other quotes or letters) is bounded a step per tag instead, its
markup read as calamine's XML reader reads it (`_sequential_reach`, `placed_cells`): the
Customers sheets clv_xl streams leave the references out, and take a little longer to read.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree import ElementTree

from clv_xl.errors import InputError
from clv_xl.orders.placed_cells import LONGEST_MARKUP_BYTES, placed_cells
from clv_xl.orders.reference_scan import column_index, column_of, scan_cells
from clv_xl.orders.zip_parts import inflated, true_size

EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384
#: Memory calamine takes per cell of the range it allocates (a 32-byte enum), and the most
#: a sheet's range may take.
CELL_BYTES = 32
MEMORY_BUDGET_BYTES = 2 * 2**30
#: Uncompressed XML read at a time (a zip bomb is never inflated whole; a piece this size
#: stays in the processor's cache while it is searched).
PIECE_BYTES = 2**20
#: The fewest bytes of XML a cell with a value takes (``<c><v/></c>``): XML shorter than
#: the budget's cells times this cannot hold too many cells, and its cells are not counted.
MIN_CELL_BYTES = 11
#: Rows of a sheet's head (the header row is among its first filled rows).
HEAD_ROWS = 20

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
#: A piece's shape: its letters as A, digits as 0, quotes, colons and tag ends kept, all else
#: left out (a reference r="AB12" is "AA00", a value <v>12</v> is >00>>, spans="1:7" is
#: "0:0"): searched for the lengths of its references as plain bytes.
_SHAPE = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", b"A" * 26 + b"0" * 10)
_NOT_IN_SHAPE = bytes(sorted(set(range(256)) - set(b'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":>')))
#: The rest of a tag after a reference, whether it ends ``/>`` (an empty element, no value)
#: or ``>``: quoted values may hold either.
_TAG_REST = rb"""(?:[^>"']|"[^"]*"|'[^']*')*?(/?)>"""
#: References with at least n digits (rows) or n letters (columns), and whether the element
#: is empty.
_REFERENCE_DIGITS = {n: re.compile(rb'r="[A-Z]*(\d{%d,})"' % n + _TAG_REST) for n in range(1, 8)}
_REFERENCE_LETTERS = {n: re.compile(rb'r="([A-Z]{%d,})\d+"' % n + _TAG_REST) for n in range(2, 5)}
#: Single-letter references of seven digits or more (the far cells of a narrow sheet).
_NARROW_LONG_REFERENCE = re.compile(rb'r="([A-Z])\d{7,}"' + _TAG_REST)
_ROW = re.compile(rb"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
#: A cell with its reference's letters and its type (when it has them) and its content, in
#: one match (a head of 16,384 columns has that many cells a row).
_CELL_PARTS = re.compile(
    rb'<c\b(?=[^>]*?\br="([A-Z]+)\d+")?(?=[^>]*?\bt="([^"]*)")?[^>]*?(?:/>|>(.*?)</c>)', re.S
)
_ATTRIBUTE = re.compile(rb'\b(r|t)="([^"]*)"')
_VALUE = re.compile(rb"<v>(.*?)</v>", re.S)
_TEXT = re.compile(rb"<t\b[^>]*>(.*?)</t>", re.S)


@dataclass(frozen=True)
class SheetExtent:
    """Where a sheet's cells with values start (sheet row, 1-based; column, 0-based), how
    far they reach at most (exactly when the cheap bound was not enough), and its head: the
    rows from ``first_row`` on (HEAD_ROWS of them), each a list of values from column
    ``first_column`` on (None for a blank)."""

    first_row: int
    first_column: int
    last_row: int
    last_column: int
    head: tuple[tuple[object, ...], ...]


def column_letters(index: int) -> str:
    """The spreadsheet column letters of a 0-based column index: 0 -> A, 27 -> AB."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


@dataclass(frozen=True)
class SheetEntry:
    """A sheet as the workbook lists it: its name, its XML member, whether it is a visible
    worksheet (not hidden, not a chart sheet)."""

    name: str
    member: str
    visible_worksheet: bool


def workbook_sheets(archive: zipfile.ZipFile) -> list[SheetEntry]:
    """The sheets of an xlsx/xlsm package, in the workbook's order."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(_RELS)}
    entries = []
    for element in workbook.iter(f"{_MAIN}sheet"):
        target = targets.get(element.get(_RID), "")
        member = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        worksheet = "worksheets/" in member and element.get("state", "visible") == "visible"
        entries.append(SheetEntry(element.get("name", ""), member, worksheet))
    return entries


def check_extent(archive: zipfile.ZipFile, member: str, where: str) -> SheetExtent:
    """The extent and head of a sheet's XML; InputError for a sheet that is too large.

    One pass bounds the sheet cheaply (`scan_cells`); a second, exact pass (`_exact_reach`)
    runs only when that bound is beyond Excel's limits or the memory budget, or when the
    XML is long enough to hold more cells than the budget; a sheet not written as Excel
    writes it is read a tag at a time instead (`_sequential_reach`). The package's other
    parts are checked before (`check_parts`)."""
    last_row, last_column, size, cells = 0, -1, 0, 0
    first_row, first_column, head_column = 0, 0, 0
    head: tuple[tuple[object, ...], ...] = ()
    standard = True  # every cell with its reference first, as Excel writes it
    for index, piece in enumerate(_pieces(archive, member, where)):
        if index == 0:
            _check_declared(piece, where)
            first_row, first_column, head = _head(archive, piece)
            head_column = first_column
        found = scan_cells(piece)
        standard = standard and found.standard
        # a value left of the head's first column, further down, moves the range's start
        low = found.first_column if found.standard else 0
        first_column = next(
            (c for c in range(low, min(first_column, 26)) if _has_column(piece, c)), first_column
        )
        last_row, last_column = max(last_row, found.last_row), max(last_column, found.last_column)
        size += len(piece)
        if size > _counted_from():  # a zip bomb stops here, its later cells counted
            cells += found.cells
            _check_size(cells, where)
    if head and first_column < head_column:  # the head's rows start at the range's column
        head = tuple((None,) * (head_column - first_column) + row for row in head)
    last_column = max(last_column, first_column + max(map(len, head), default=1) - 1)
    if not standard:  # placed after the cell or row before, as calamine places them
        last_row, last_column = _sequential_reach(archive, member, where)
    elif size > _counted_from() or not _within(first_row, first_column, last_row, last_column):
        last_row, last_column = _exact_reach(archive, member, where)
        last_column = max(last_column, first_column + max(map(len, head), default=1) - 1)
    if last_row > EXCEL_ROWS or last_column >= EXCEL_COLUMNS:
        raise InputError(
            f"{where} has cells beyond Excel's last cell XFD{EXCEL_ROWS} "
            f"(as far as {column_letters(last_column)}{last_row}): it is not an Excel sheet."
        )
    # a sheet without references spanned from A1, to be sure
    low_row, low_column = (first_row, first_column) if standard else (1, 0)
    if low_row and not _within(low_row, low_column, last_row, last_column):
        spanned = (last_row - low_row + 1) * (last_column - low_column + 1)
        raise InputError(
            f"{where} spans {column_letters(low_column)}{low_row}:"
            f"{column_letters(last_column)}{last_row}, {spanned:,} cells: reading it would "
            f"take more than {MEMORY_BUDGET_BYTES // 2**30} GB of memory; copy the orders "
            "to a sheet of their own."
        )
    return SheetExtent(first_row, first_column, last_row, last_column, head)


def check_parts(archive: zipfile.ZipFile, where: str, but: str | None = None) -> None:
    """Every part calamine holds whole (shared strings, styles; an .ods's content) within the
    memory budget and holding no more than it declares; InputError if not."""
    for info in archive.infolist():
        if info.filename == but:
            continue
        if info.file_size > MEMORY_BUDGET_BYTES:
            raise InputError(
                f"{where} cannot be read: its workbook's part {info.filename} "
                f"expands to {info.file_size / 2**30:.1f} GB."
            )
        true_size(archive, info, where)


def _counted_from() -> int:
    """Bytes of sheet XML beyond which its cells may exceed the budget (and are counted)."""
    return MEMORY_BUDGET_BYTES // CELL_BYTES * MIN_CELL_BYTES


def _within(first_row: int, first_column: int, last_row: int, last_column: int) -> bool:
    """Whether a range lies within Excel's grid and its cells within the memory budget."""
    spanned = (last_row - first_row + 1) * (last_column - first_column + 1)
    return (
        last_row <= EXCEL_ROWS
        and last_column < EXCEL_COLUMNS
        and spanned * CELL_BYTES <= MEMORY_BUDGET_BYTES
    )


def _exact_reach(archive: zipfile.ZipFile, member: str, where: str) -> tuple[int, int]:
    """The last row and column (0-based) of a sheet's cells with a value, and its cells
    counted: the sheet's XML streamed again, read exactly."""
    last_row, last_column, cells = 0, -1, 0
    for piece in _pieces(archive, member, where):
        cells += scan_cells(piece).cells
        _check_size(cells, where)
        shape = piece.translate(_SHAPE, _NOT_IN_SHAPE)
        for digits in range(7, 0, -1):  # references of the most digits first (few, mostly)
            if b"0" * digits + b'"' not in shape:  # none of this many digits or more
                continue
            found = _valued(_REFERENCE_DIGITS[digits].findall(piece))
            if found:
                last_row = max(last_row, *map(int, found))
                break
        for letters in range(4, 1, -1):
            if b'"' + b"A" * letters in shape:
                found = _valued(_REFERENCE_LETTERS[letters].findall(piece))
                if found:
                    last_column = max(last_column, *map(column_of, found))
                    break
        else:  # single letters: the head's width, or a far cell's
            found = _valued(_NARROW_LONG_REFERENCE.findall(piece))
            last_column = max(last_column, *map(column_of, found)) if found else last_column
    return last_row, last_column


def _sequential_reach(archive: zipfile.ZipFile, member: str, where: str) -> tuple[int, int]:
    """Upper bounds on the last row and column (0-based) of a sheet whose cells may lack
    their reference, placed as calamine places them (`placed_cells`): a step per tag, and
    only for such sheets."""
    last_row, last_column = 0, -1
    for cells, last_row, last_column in placed_cells(_pieces(archive, member, where), where):
        _check_size(cells, where)
        if last_row > EXCEL_ROWS or last_column >= EXCEL_COLUMNS:
            break  # refused as beyond Excel's grid
    return last_row, last_column


def _valued(matches: list[tuple[bytes, bytes]]) -> set[bytes]:
    """The references of the elements that are not empty (``<c r="A1"/>`` has no value)."""
    return {reference for reference, empty in matches if not empty}


def _pieces(archive: zipfile.ZipFile, member: str, where: str) -> Iterator[bytes]:
    """The member's XML, PIECE_BYTES at a time, each cut after a '>' (the rest goes on to
    the next), so that no element start is split between two pieces."""
    rest = b""
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise InputError(f"{where} cannot be read (its part {member} is missing).") from None
    for block in inflated(archive, info, PIECE_BYTES, where):  # as calamine inflates it
        cut = block.rfind(b">") + 1
        if cut:  # a piece copied once
            yield b"".join((rest, memoryview(block)[:cut]))
            rest = block[cut:]
        else:
            rest += block
        if len(rest) > LONGEST_MARKUP_BYTES:  # (calamine would hold it whole)
            raise InputError(
                f"{where} has more than {LONGEST_MARKUP_BYTES // 2**20} MB of XML without a "
                "tag's end ('>'): it is not an Excel sheet."
            )
    if rest:
        yield rest


def _has_column(piece: bytes, column: int) -> bool:
    """Whether a cell with a value in this single-letter column (0 = A) is in the XML."""
    letter = bytes([ord("A") + column])
    found = re.finditer(rb'<c r="' + letter + rb'\d+"' + _TAG_REST, piece)
    return any(not tag.group(1) for tag in found)


def _check_declared(piece: bytes, where: str) -> None:
    declared = _DIMENSION.search(piece)
    if declared is None:
        return
    letters, row = declared.group(3) or declared.group(1), declared.group(4) or declared.group(2)
    if int(row) > EXCEL_ROWS or column_index(letters.decode()) >= EXCEL_COLUMNS:
        raise InputError(
            f"{where} declares cells as far as {letters.decode()}{int(row)}, beyond Excel's "
            f"last cell XFD{EXCEL_ROWS}: it is not an Excel sheet."
        )


def _check_size(cells: int, where: str) -> None:
    if cells * CELL_BYTES > MEMORY_BUDGET_BYTES:
        raise InputError(
            f"{where} holds more than {cells:,} cells: reading it would take more than "
            f"{MEMORY_BUDGET_BYTES // 2**30} GB of memory."
        )


def sheet_head(archive: zipfile.ZipFile, member: str, where: str) -> SheetExtent:
    """The head of a sheet (and where it starts) from its first piece of XML only."""
    piece = next(_pieces(archive, member, where), b"")
    first_row, first_column, head = _head(archive, piece)
    return SheetExtent(first_row, first_column, first_row, first_column, head)


def _head(archive: zipfile.ZipFile, xml: bytes) -> tuple[int, int, tuple[tuple[object, ...], ...]]:
    """(first row, first column, head rows) of the sheet XML's beginning (see SheetExtent)."""
    cells: dict[int, dict[int, tuple[bytes, bytes]]] = {}
    row_number = 0
    for row in _ROW.finditer(xml):
        attributes = dict(_ATTRIBUTE.findall(row.group(1)))
        row_number = int(attributes.get(b"r", row_number + 1))
        column = -1
        for letters, kind, content in _CELL_PARTS.findall(row.group(2) or b""):
            column = column_of(letters) if letters else column + 1
            if b"<v>" in content or b"<is>" in content:
                cells.setdefault(row_number, {})[column] = (kind or b"n", content)
        if len(cells) >= HEAD_ROWS and row_number >= min(cells) + HEAD_ROWS:
            break
    if not cells:
        return 0, 0, ()
    first_row = min(cells)
    first_column = min(min(row) for row in cells.values())
    shared = _shared_strings(
        archive,
        {
            int(value.group(1))
            for found in cells.values()
            for t, c in found.values()
            if t == b"s" and (value := _VALUE.search(c))
        },
    )
    head = []
    for number in range(first_row, first_row + HEAD_ROWS):
        found = cells.get(number, {})
        width = max(found, default=first_column - 1) - first_column + 1
        head.append(
            tuple(
                _value(*found[c], shared) if c in found else None
                for c in range(first_column, first_column + width)
            )
        )
    return first_row, first_column, tuple(head)


def _value(kind: bytes, content: bytes, shared: dict[int, str]) -> object:
    """A cell's value: text, a float or a bool (dates are floats: the styles are not read)."""
    value = _VALUE.search(content)
    raw = html.unescape(value.group(1).decode()) if value else ""
    if kind == b"s":
        return shared.get(int(raw)) if raw.isdigit() else None
    if kind == b"inlineStr":
        return html.unescape("".join(t.decode() for t in _TEXT.findall(content)))
    if kind in (b"str", b"e", b"d"):
        return raw
    if kind == b"b":
        return raw == "1"
    try:
        return float(raw)
    except ValueError:
        return raw


def _shared_strings(archive: zipfile.ZipFile, wanted: set[int]) -> dict[int, str]:
    """The shared strings of these indexes, read up to the last of them."""
    if not wanted or "xl/sharedStrings.xml" not in archive.namelist():
        return {}
    found: dict[int, str] = {}
    index, last = 0, max(wanted)
    with archive.open("xl/sharedStrings.xml") as stream:
        for _, element in ElementTree.iterparse(stream):
            if element.tag != f"{_MAIN}si":
                continue
            if index in wanted:
                found[index] = "".join(
                    t.text or "" for t in element.iter(f"{_MAIN}t") if not _phonetic(element, t)
                )
            element.clear()
            index += 1
            if index > last:
                break
    return found


def _phonetic(item: ElementTree.Element, text: ElementTree.Element) -> bool:
    """Whether a text element is a phonetic reading (``<rPh>``), not part of the string."""
    return any(text in list(run) for run in item.iter(f"{_MAIN}rPh"))
