"""The orders file: its checks, its bytes and SHA-256, and a workbook's orders sheet (the one
named, else the only one, else the first with a recognisable header row) parsed by
python-calamine."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError
from .headers import HEADER_SEARCH_ROWS, ColumnMap, listing, recognised_header

if TYPE_CHECKING:  # imported only where a workbook file is read: native, not in xlwings Lite
    import python_calamine

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv",)
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # an encrypted .xlsx, or an old .xls
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


@dataclass(frozen=True)
class Source:
    """Where the orders came from; all None for a DataFrame."""

    path: str | None
    sheet: str | None
    sha256: str | None


@dataclass(frozen=True)
class OrdersSheet:
    """A workbook's orders sheet, parsed in one or more parts (see `sheet_parts`), in row
    order; ``where`` names it in a sentence."""

    parts: tuple[python_calamine.CalamineSheet, ...]
    where: str
    source: Source


def read_orders_file(path: Path) -> tuple[bytes, Source]:
    """The bytes of an orders file (.xlsx, .xlsm or .csv) and where they came from."""
    if not path.exists():
        raise InputError(f"The orders file {path} does not exist.")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not an orders file.")
    if path.suffix.lower() not in WORKBOOK_SUFFIXES + CSV_SUFFIXES:
        raise InputError(
            f"{path.name} is not a file clv_xl can read orders from: "
            "use an Excel workbook (.xlsx or .xlsm) or a CSV file (.csv)."
        )
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"The orders file {path} cannot be read ({error.strerror}).") from None
    return data, Source(str(path), None, hashlib.sha256(data).hexdigest())


def open_orders_sheet(
    data: bytes, name: str, source: Source, sheet: str | None, columns: ColumnMap
) -> OrdersSheet:
    """The orders sheet of the workbook ``data`` (file ``name``), parsed: the sheet named, else
    the only worksheet, else the first whose header row `recognised_header` knows (looked
    for in the head of each sheet, `parse_head`)."""
    if data.startswith(OLE_MAGIC):
        if ENCRYPTED_STREAM in data:
            raise InputError(
                f"{name} is password-protected: save a copy without a password and read that."
            )
        raise InputError(f"{name} is an old-format Excel file: save it as .xlsx and read that.")
    if not data.startswith(b"PK"):
        raise InputError(f"{name} is not an Excel workbook, or it is damaged.")
    import python_calamine

    from .sheet_parts import parse_sheet

    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        chosen = _choose_sheet(workbook, data, name, sheet, columns)
        parts = parse_sheet(workbook, data, chosen)
    except python_calamine.PasswordError:
        raise InputError(
            f"{name} is password-protected: save a copy without a password and read that."
        ) from None
    except python_calamine.CalamineError as error:
        raise InputError(f"{name} cannot be read as an Excel workbook ({error}).") from None
    return OrdersSheet(
        parts, f"sheet '{chosen}' of {name}", Source(source.path, chosen, source.sha256)
    )


def workbook_sheet(path: Path, sheet: str | None, columns: ColumnMap) -> OrdersSheet:
    """The orders sheet of the workbook at ``path``, parsed (`read_orders_file`, then
    `open_orders_sheet`)."""
    data, source = read_orders_file(path)
    return open_orders_sheet(data, path.name, source, sheet, columns)


def _choose_sheet(
    workbook: python_calamine.CalamineWorkbook,
    data: bytes,
    name: str,
    sheet: str | None,
    columns: ColumnMap,
) -> str:
    import python_calamine

    from .sheet_parts import parse_head

    names = workbook.sheet_names
    if sheet is not None:
        wanted = sheet.strip().casefold()
        matches = [n for n in names if n == sheet] or [n for n in names if n.casefold() == wanted]
        if not matches:
            raise InputError(f"{name} has no sheet '{sheet}'; its sheets are {listing(names)}.")
        return matches[0]
    worksheets = [
        meta.name
        for meta in workbook.sheets_metadata
        if meta.typ == python_calamine.SheetTypeEnum.WorkSheet
        and meta.visible == python_calamine.SheetVisibleEnum.Visible
    ]
    if len(worksheets) == 1:
        return worksheets[0]
    for candidate in worksheets:
        head = parse_head(workbook, data, candidate).to_python(
            skip_empty_area=False, nrows=HEADER_SEARCH_ROWS
        )
        if recognised_header(head, columns) is not None:
            return candidate
    raise InputError(
        f"No sheet of {name} has a header row with customer, order date and amount columns; "
        f"its sheets are {listing(names)}: name the sheet that holds the orders."
    )
