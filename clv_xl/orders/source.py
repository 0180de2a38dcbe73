"""The orders file: its checks, its bytes and SHA-256, and a workbook's orders sheet (the one
named, else the only one, else the first with a recognisable header row) read.

An xlsx/xlsm sheet is bounded first (`sheet_extent.check_extent`), then read by fastexcel
(python-calamine's Rust core, typed Arrow columns out) from the row below its header. An
.xls or .ods sheet is read by python-calamine as cells from A1 (.xls holds at most 65,536
rows of 256 columns; an .ods's parts are checked like an xlsx's, `sheet_extent.check_parts`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from clv_xl.alongside import alongside
from clv_xl.errors import InputError
from clv_xl.orders.headers import ColumnMap, listing, recognised_header
from clv_xl.orders.sheet_extent import (
    SheetEntry,
    check_extent,
    check_parts,
    sheet_head,
    workbook_sheets,
)

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet",)
#: The files orders are read from, in words (every suffix above).
READABLE_FILES = (
    "an Excel workbook (.xlsx, .xlsm or .xls), an OpenDocument spreadsheet (.ods), a CSV file "
    "(.csv) or a Parquet file (.parquet)"
)
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # an encrypted .xlsx, or an old .xls
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
# fastexcel logs a warning for each column without values ("falling back to string"); such a
# column is blank here, and a warning would break the command's one-sentence output.
logging.getLogger("fastexcel").setLevel(logging.ERROR)


#: What reading a damaged package's parts raises (ElementTree's ParseError is a SyntaxError).
DAMAGED_PACKAGE = (
    KeyError,
    SyntaxError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    struct.error,
)


def _read_errors() -> tuple[type[Exception], ...]:
    """What fastexcel and python-calamine raise for a workbook they cannot read (both native,
    imported only where a workbook file is read: neither is in xlwings Lite)."""
    import fastexcel
    import python_calamine

    return (fastexcel.FastExcelError, python_calamine.CalamineError, KeyError, ValueError)


@dataclass(frozen=True)
class Source:
    """Where the orders came from; all None for a DataFrame."""

    path: str | None
    sheet: str | None
    sha256: str | None


@dataclass(frozen=True)
class OrdersSheet:
    """A workbook's orders sheet, read: either its header row's cells (``header``, on sheet
    row ``header_row``) and the typed columns below it (``columns``, Arrow arrays, the
    first of sheet column ``first_column``, 0-based), or, for .xls and .ods, its cells
    from A1 (``grid``). ``where`` names the sheet in a sentence."""

    where: str
    source: Source
    header: tuple[object, ...] = ()
    header_row: int = 1
    first_column: int = 0
    columns: tuple[pa.Array, ...] = ()
    grid: tuple[tuple[object, ...], ...] | None = None


def read_orders_file(path: Path) -> tuple[bytes, Source]:
    """The bytes of an orders file and where they came from."""
    data = _orders_bytes(path)
    return data, Source(str(path), None, hashlib.sha256(data).hexdigest())


def _orders_bytes(path: Path) -> bytes:
    check_orders_file(path)
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"The orders file {path} cannot be read ({error.strerror}).") from None


def orders_file_source(path: Path) -> Source:
    """Where the orders come from, for a file read from its path (a CSV file): its SHA-256
    computed a piece at a time, so that its bytes are never held whole."""
    check_orders_file(path)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            while piece := file.read(2**24):
                digest.update(piece)
    except OSError as error:
        raise InputError(f"The orders file {path} cannot be read ({error.strerror}).") from None
    return Source(str(path), None, digest.hexdigest())


def check_orders_file(path: Path) -> None:
    """InputError for a path that is no orders file clv_xl reads."""
    if not path.exists():
        raise InputError(f"The orders file {path} does not exist.")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not an orders file.")
    if path.suffix.lower() not in WORKBOOK_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise InputError(
            f"{path.name} is not a file clv_xl can read orders from: use {READABLE_FILES}."
        )


def workbook_sheet(
    path: Path,
    sheet: str | None,
    columns: ColumnMap,
    meanwhile: Callable[[], object] = lambda: None,
) -> OrdersSheet:
    """The orders sheet of the workbook at ``path``, read (`open_orders_sheet`, which calls
    ``meanwhile`` while fastexcel parses the sheet; the file's SHA-256 is computed then too,
    while this thread would wait for the parse, so that fastexcel starts without waiting for
    the hash)."""
    data = _orders_bytes(path)
    digests: list[str] = []

    def hashed_meanwhile() -> None:
        meanwhile()
        digests.append(hashlib.sha256(data).hexdigest())

    source = Source(str(path), None, None)
    read = open_orders_sheet(data, path.name, source, sheet, columns, hashed_meanwhile)
    sha256 = digests[0] if digests else hashlib.sha256(data).hexdigest()
    return dataclasses.replace(read, source=dataclasses.replace(read.source, sha256=sha256))


def open_orders_sheet(
    data: bytes,
    name: str,
    source: Source,
    sheet: str | None,
    columns: ColumnMap,
    meanwhile: Callable[[], object] = lambda: None,
) -> OrdersSheet:
    """The orders sheet of the workbook ``data`` (file ``name``), read: the sheet named, else
    the only visible worksheet, else the first whose head has a header row that
    `recognised_header` knows.

    fastexcel, which holds no GIL while it reads, works in a second thread (`alongside`):
    it opens the package (shared strings, styles; checked first) while this thread bounds
    the sheet, then parses the sheet while this one runs ``meanwhile`` (the pipeline imports
    the analysis there)."""
    if data.startswith(OLE_MAGIC):
        if ENCRYPTED_STREAM in data:
            raise InputError(
                f"{name} is password-protected: save a copy without a password and read that."
            )
        return _calamine_sheet(data, name, source, sheet, columns)
    if not data.startswith(b"PK"):
        raise InputError(f"{name} is not an Excel workbook, or it is damaged.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = set(archive.namelist())
    except zipfile.BadZipFile as error:
        raise InputError(f"{name} cannot be read as an Excel workbook ({error}).") from None
    if "content.xml" in members and "xl/workbook.xml" not in members:  # OpenDocument
        try:
            check_parts(archive, name)
        except DAMAGED_PACKAGE as error:
            raise InputError(f"{name} cannot be read as a spreadsheet ({error}).") from None
        return _calamine_sheet(data, name, source, sheet, columns)
    try:  # a damaged package (a download cut short, a part garbled) is one sentence
        entries = workbook_sheets(archive)
        chosen = _chosen(
            [entry.name for entry in entries],
            [entry.name for entry in entries if entry.visible_worksheet],
            lambda title: sheet_head(archive, _entry(entries, title).member, name).head,
            name,
            sheet,
            columns,
        )
        where = f"sheet '{chosen}' of {name}"
        member = _entry(entries, chosen).member
        check_parts(archive, where, but=member)
    except DAMAGED_PACKAGE as error:
        raise InputError(f"{name} cannot be read as an Excel workbook ({error}).") from None
    import fastexcel

    with alongside(lambda: fastexcel.read_excel(data)) as opening:
        try:
            extent = check_extent(archive, member, where)
        except DAMAGED_PACKAGE as error:
            raise InputError(f"{name} cannot be read as an Excel workbook ({error}).") from None
        header_at = _header_index(extent.head, columns)
        header = extent.head[header_at] if extent.head else ()
        header_row = extent.first_row + header_at

        def load() -> pa.RecordBatch | None:
            # with a number of rows to skip, fastexcel counts rows from the sheet's first;
            # each column's type from all its cells: one typed from its first 1,000 would
            # blank the later others
            # eager: the sheet straight into one Arrow batch, no lazy sheet to convert
            loaded = opening.result().load_sheet(
                chosen,
                header_row=None,
                skip_rows=header_row,
                whitespace_as_null=True,
                schema_sample_rows=None,
                eager=True,
            )
            return loaded if extent.head else None

        with alongside(load) as loading:
            meanwhile()
            try:
                table = loading.result()
            except _read_errors() as error:
                message = f"{name} cannot be read as an Excel workbook ({error})."
                raise InputError(message) from None
    return OrdersSheet(
        where,
        Source(source.path, chosen, source.sha256),
        header=header,
        header_row=header_row,
        first_column=extent.first_column,
        columns=tuple(table.columns) if table is not None else (),
    )


def _entry(entries: list[SheetEntry], title: str) -> SheetEntry:
    return next(entry for entry in entries if entry.name == title)


def _header_index(head: tuple[tuple[object, ...], ...], columns: ColumnMap) -> int:
    """The head's header row: the first recognised one, else its first row."""
    return recognised_header(head, columns) or 0


def _calamine_sheet(
    data: bytes, name: str, source: Source, sheet: str | None, columns: ColumnMap
) -> OrdersSheet:
    """An .xls or .ods workbook's orders sheet as its cells from A1."""
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        visible = [
            meta.name
            for meta in workbook.sheets_metadata
            if meta.typ == python_calamine.SheetTypeEnum.WorkSheet
            and meta.visible == python_calamine.SheetVisibleEnum.Visible
        ]

        def grid(title: str) -> list[list[object]]:
            rows = workbook.get_sheet_by_name(title).to_python(skip_empty_area=False)
            return [list(row) for row in rows]

        chosen = _chosen(workbook.sheet_names, visible, grid, name, sheet, columns)
        cells = grid(chosen)
    except python_calamine.PasswordError:
        raise InputError(
            f"{name} is password-protected: save a copy without a password and read that."
        ) from None
    except _read_errors() as error:
        raise InputError(f"{name} cannot be read as an Excel workbook ({error}).") from None
    return OrdersSheet(
        f"sheet '{chosen}' of {name}",
        Source(source.path, chosen, source.sha256),
        grid=tuple(map(tuple, cells)),
    )


def _chosen(
    names: list[str],
    visible: list[str],
    head: Callable[[str], Sequence[Sequence[object]]],
    name: str,
    sheet: str | None,
    columns: ColumnMap,
) -> str:
    """The sheet named (exactly, else ignoring case), else the only visible worksheet, else
    the first visible worksheet whose ``head(title)`` rows hold a recognised header row."""
    if sheet is not None:
        wanted = sheet.strip().casefold()
        matches = [n for n in names if n == sheet] or [n for n in names if n.casefold() == wanted]
        if not matches:
            raise InputError(f"{name} has no sheet '{sheet}'; its sheets are {listing(names)}.")
        return matches[0]
    if len(visible) == 1:
        return visible[0]
    for candidate in visible:
        rows = [row for row in head(candidate)[:100] if any(v is not None for v in row)]
        if recognised_header(rows[:20], columns) is not None:
            return candidate
    raise InputError(
        f"No sheet of {name} has a header row with customer, order date and amount columns; "
        f"its sheets are {listing(names)}: name the sheet that holds the orders."
    )
