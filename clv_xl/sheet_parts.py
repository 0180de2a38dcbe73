"""A large worksheet parsed by python-calamine in parts at once, on every processor core.

calamine parses a sheet in Rust without holding the interpreter lock, but on one core: at a
million order rows that is most of the run (3.6 s of a 5 s bare read on the benchmark
machine). A worksheet's cells are a run of ``<row>`` elements in its XML, so a large sheet's
XML is cut at row boundaries into parts (`default_parts`). Each part, with the members of
the package calamine reads to open a workbook (content types, relationships, the workbook,
styles and shared strings), is written as an uncompressed workbook of its own to a
temporary folder (private to the user, in memory where the system has one, removed once the
parts are parsed) and parsed there by its own python-calamine call in a thread of its own,
while this thread inflates the next part.
At a million rows on two cores the parse takes 2.7 s instead of 3.7 s (3.3 s instead of
3.9 s with the texts as 1.1 million shared strings, which every part parses again).

The same cut gives the head of a sheet (`parse_head`): its first rows, parsed without the
rest, for looking for a header row in a workbook's sheets.

Every part keeps the row numbers its rows carry (``<row r="...">``), so `orders` can place
its cells on the sheet. The split is only a shortcut: when the sheet's XML is not of the
shape it relies on (a part that would start at a row without a row number, element names
with a namespace prefix, rows out of order, ...) or anything in it fails, the sheet is
parsed whole, as calamine alone parses it, which raises the real error if there is one.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

import python_calamine

#: Sheet XML (uncompressed) per part below which a split costs more than it saves: the
#: command imports pandas and the rest meanwhile (0.6 s, see `pipeline`), which the parts'
#: threads slow down. Three parts made the reading 0.15 s slower at 100,000 sample rows
#: (36 MB of XML) and 0.15 s faster at 250,000 (86 MB); at a million (360 MB), 1 s faster.
MIN_PART_BYTES = 24 * 2**20
#: A folder in memory (Linux), where the parts go when it has room for them (`_scratch`).
MEMORY_FOLDER = Path("/dev/shm")
#: Sheet XML parsed for a look at a sheet's first rows (see `parse_head`).
HEAD_BYTES = 2**20
#: Parts at most, whatever the cores (see `default_parts`).
MAX_PARTS = 4

_PACKAGE_RELS = "_rels/.rels"
_CONTENT_TYPES = "[Content_Types].xml"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
#: The workbook's relationships calamine follows when it opens a workbook.
_OPENING_PARTS = ("/styles", "/sharedStrings")
_SHEET_DATA, _SHEET_DATA_END = b"<sheetData>", b"</sheetData>"
_ROW = b"<row "
_PART_TAIL = _SHEET_DATA_END + b"</worksheet>"  # of every part but the last
_NUMBERED_ROW = re.compile(rb'<row [^>]*?\br="\d+"')
#: What can go wrong in the split: each sends the sheet to the whole parse.
_SPLIT_FAILURES = (
    OSError,
    EOFError,
    LookupError,  # a member or relationship not there
    ValueError,
    RuntimeError,  # also: a compression method zipfile cannot read
    zipfile.BadZipFile,
    zlib.error,
    ElementTree.ParseError,
    python_calamine.CalamineError,
)


def parse_sheet(
    workbook: python_calamine.CalamineWorkbook,
    data: bytes,
    name: str,
    *,
    parts: int | None = None,
    min_part_bytes: int | None = None,
) -> tuple[python_calamine.CalamineSheet, ...]:
    """The sheet ``name`` of ``workbook`` (opened from the file bytes ``data``), parsed, in
    row order: in ``parts`` parts (default: `default_parts`) of at least ``min_part_bytes``
    of XML each (default: `MIN_PART_BYTES`) as far as the sheet is large enough, else whole
    (see the module docstring)."""
    wanted = parts or default_parts()
    least = min_part_bytes or MIN_PART_BYTES
    return _parsed(workbook, data, name, lambda size: min(wanted, size // least))


def parse_head(
    workbook: python_calamine.CalamineWorkbook,
    data: bytes,
    name: str,
    *,
    head_bytes: int | None = None,
) -> python_calamine.CalamineSheet:
    """The top of the sheet ``name``, for a look at its first rows without parsing all of
    it: the rows in its first ``head_bytes`` of XML (default `HEAD_BYTES`), or the whole
    sheet when it is less than twice that (or cannot be split, as in `parse_sheet`)."""
    least = head_bytes or HEAD_BYTES
    return _parsed(workbook, data, name, lambda size: size // least, keep=1)[0]


def _parsed(
    workbook: python_calamine.CalamineWorkbook,
    data: bytes,
    name: str,
    parts_of: Callable[[int], int],
    keep: int | None = None,
) -> tuple[python_calamine.CalamineSheet, ...]:
    """The sheet ``name`` in ``parts_of(bytes of its XML)`` parts (the first ``keep`` of them
    when given), or whole when that is one part or the split fails."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            member = _sheet_member(package, name)
            count = parts_of(member.file_size)
            if count > 1:
                split = _parsed_in_parts(package, member, name, count, keep)
                if _in_row_order(split):
                    return split
    except _SPLIT_FAILURES:
        pass
    return (workbook.get_sheet_by_name(name),)


def default_parts() -> int:
    """One part more than usable cores, at most `MAX_PARTS`; one on a single core.

    Parsing starts once the first part is inflated, so with a part more than cores the cores
    are busy sooner (on two cores: 2.7 s for three parts, 3.1 s for two, 3.7 s whole at a
    million rows). Each part after the first costs a little: its reading steps over the empty
    rows above it (`orders._sheet_blocks`) and it parses the shared strings again.
    """
    affinity = getattr(os, "sched_getaffinity", None)  # the cores this process may use
    cores = (len(affinity(0)) if affinity else os.cpu_count()) or 1
    return min(cores + 1, MAX_PARTS) if cores > 1 else 1


def _sheet_member(package: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    """The zip member holding the XML of the sheet ``name``, found as Excel finds it: the
    package's relationships name the workbook, whose relationships name the sheet."""
    book = _workbook_member(package)
    sheets = ElementTree.fromstring(package.read(book)).iter(_SHEET)
    sheet_id = next((s.get(_RELATIONSHIP_ID) for s in sheets if s.get("name") == name), None)
    return package.getinfo(_targets(package, _relationships_of(book), with_id=sheet_id)[0])


def _workbook_member(package: zipfile.ZipFile) -> str:
    return _targets(package, _PACKAGE_RELS, "/officeDocument")[0]


def _relationships_of(part: str) -> str:
    folder, file = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{file}.rels")


def _targets(
    package: zipfile.ZipFile, rels: str, kind: str | None = None, *, with_id: str | None = None
) -> list[str]:
    """The members a relationships part points to: of type ``...kind``, or the one ``with_id``."""
    folder = posixpath.dirname(posixpath.dirname(rels))  # the folder of the part they are of
    found = []
    for relationship in ElementTree.fromstring(package.read(rels)).iter(_RELATIONSHIP):
        if relationship.get("TargetMode") == "External":
            continue
        if (with_id is not None and relationship.get("Id") == with_id) or (
            kind is not None and relationship.get("Type", "").endswith(kind)
        ):
            target = relationship.get("Target", "")
            found.append(
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(folder, target))
            )
    return found


def _opening_members(package: zipfile.ZipFile) -> list[tuple[str, bytes]]:
    """The members calamine reads to open the workbook, with their bytes."""
    book = _workbook_member(package)
    book_rels = _relationships_of(book)
    names = [_CONTENT_TYPES, _PACKAGE_RELS, book, book_rels]
    names += [t for kind in _OPENING_PARTS for t in _targets(package, book_rels, kind)]
    return [(n, package.read(n)) for n in names]


def _parsed_in_parts(
    package: zipfile.ZipFile, member: zipfile.ZipInfo, name: str, count: int, keep: int | None
) -> tuple[python_calamine.CalamineSheet, ...]:
    """The sheet XML inflated a part at a time, each part written as a workbook of its own
    and parsed in a thread of its own while the next is inflated; the parts in row order
    (the first ``keep`` of them when given)."""
    opening = _opening_members(package)
    with (
        tempfile.TemporaryDirectory(prefix="clv_xl-", dir=_scratch(member.file_size)) as folder,
        ThreadPoolExecutor(min(count, keep or count)) as threads,
        package.open(member) as xml,
    ):
        parsing = []
        for index, pieces in enumerate(islice(_xml_parts(xml, member.file_size, count), keep)):
            path = Path(folder, f"part{index}.xlsx")
            _write_part(path, opening, member.filename, pieces)
            parsing.append(threads.submit(_parse, path, name))
        return tuple(future.result() for future in parsing)


def _xml_parts(xml: IO[bytes], size: int, count: int) -> Iterator[tuple[bytes | memoryview, ...]]:
    """A worksheet's XML (``size`` bytes, read from ``xml``) as ``count`` worksheets' XML,
    each given as the pieces that make it: the XML up to its rows, its rows and the XML after
    them. Each part but the first starts at a row, which must carry its row number."""
    head = carried = b""
    for index in range(count):
        last = index == count - 1
        chunk = xml.read(-1 if last else size // count)
        begin = 0
        if not head:
            begin = chunk.index(_SHEET_DATA) + len(_SHEET_DATA)
            head = chunk[:begin]
        if last:
            end = chunk.rindex(_SHEET_DATA_END, begin)
            yield head, carried, memoryview(chunk)[begin:end], chunk[end:]
            return
        cut = chunk.rindex(_ROW, begin)
        if chunk.find(b">", cut) < 0:  # that row's tag goes on in the next chunk
            cut = chunk.rindex(_ROW, begin, cut)
        if not _NUMBERED_ROW.match(chunk, cut):  # its rows would be numbered from the part's top
            raise ValueError("a part would start at a row without a row number")
        yield head, carried, memoryview(chunk)[begin:cut], _PART_TAIL
        carried = chunk[cut:]


def _scratch(size: int) -> Path | None:
    """Where the parts go: a folder in memory when there is one with room for them (Linux's
    /dev/shm: writing them there took 0.1 s, to /tmp on disk 0.1-0.5 s), else the system's
    temporary folder."""
    with contextlib.suppress(OSError):
        if os.access(MEMORY_FOLDER, os.W_OK) and shutil.disk_usage(MEMORY_FOLDER).free > 2 * size:
            return MEMORY_FOLDER
    return None


def _write_part(
    path: Path,
    opening: list[tuple[str, bytes]],
    sheet_member: str,
    xml: tuple[bytes | memoryview, ...],
) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as part:
        for member, content in opening:
            part.writestr(member, content)
        with part.open(sheet_member, "w", force_zip64=True) as sheet:
            for piece in xml:
                sheet.write(piece)


def _parse(path: Path, name: str) -> python_calamine.CalamineSheet:
    with python_calamine.CalamineWorkbook.from_path(path) as workbook:
        return workbook.get_sheet_by_name(name)


def _in_row_order(parts: tuple[python_calamine.CalamineSheet, ...]) -> bool:
    """Whether each part's rows come after the rows of the parts before it."""
    last_row = -1
    for part in parts:
        if part.start is not None and part.end is not None:
            if part.start[0] <= last_row:
                return False
            last_row = part.end[0]
    return True
