"""A package's parts as they really inflate: a part that declares less than it holds (with a
CRC forged to match, so that Python's `zipfile` reads it without complaint) is refused."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from clv_xl.errors import InputError
from clv_xl.orders import zip_parts
from clv_xl.orders.zip_parts import inflated, true_size


@pytest.fixture(autouse=True, params=["ISA-L", "zlib"])
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test with ISA-L's inflater (installed here) and with zlib's (xlwings Lite's)."""
    if request.param == "ISA-L":
        assert zip_parts.inflating is not zlib
    else:
        monkeypatch.setattr(zip_parts, "inflating", zlib)
        monkeypatch.setattr(zip_parts, "INFLATE_ERRORS", (zlib.error,))


SHEET = "xl/worksheets/sheet1.xml"
XML = b"<worksheet>" + b'<row r="1"><c r="A1"><v>1</v></c></row>' * 20_000 + b"</worksheet>"


def package(path: Path, parts: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def declare(path: Path, name: str, size: int) -> None:
    """Make ``name``'s headers declare ``size`` bytes, with the CRC of that many: a lie
    `zipfile` cannot see (it reads the declared size and checks that CRC)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        crc = zlib.crc32(archive.read(name)[:size])
    encoded = name.encode()
    headers = ((b"PK\x03\x04", 14, 22, 26, 30), (b"PK\x01\x02", 16, 24, 28, 46))  # local, central
    for signature, crc_at, size_at, length_at, name_at in headers:
        at = data.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", data, at + length_at)[0]
            if bytes(data[at + name_at : at + name_at + length]) == encoded:
                struct.pack_into("<I", data, at + crc_at, crc)
                struct.pack_into("<I", data, at + size_at, size)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_an_honest_part_inflates_as_zipfile_reads_it(tmp_path: Path, compression: int) -> None:
    path = package(tmp_path / "book.xlsx", {SHEET: XML, "xl/workbook.xml": b"<w/>"}, compression)
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            pieces = list(inflated(archive, info, 4096, "book"))
            assert b"".join(pieces) == archive.read(info)
            assert all(len(piece) <= 4096 for piece in pieces)
            assert true_size(archive, info, "book") == info.file_size


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_a_part_that_declares_less_than_it_holds_is_refused(
    tmp_path: Path, compression: int
) -> None:
    path = package(tmp_path / "book.xlsx", {SHEET: XML}, compression)
    declare(path, SHEET, 1000)
    with zipfile.ZipFile(path) as archive:
        assert len(archive.read(SHEET)) == 1000  # zipfile is satisfied
        with pytest.raises(InputError, match=r"^book cannot be read: its package's part "
                           r"xl/worksheets/sheet1.xml is damaged \(it holds more or less than "
                           r"the 1,000 bytes its header declares\)\.$"):  # fmt: skip
            for _ in inflated(archive, archive.getinfo(SHEET), 4096, "book"):
                pass


def test_the_refusal_comes_before_more_than_declared_is_inflated(tmp_path: Path) -> None:
    path = package(tmp_path / "book.xlsx", {SHEET: XML})
    declare(path, SHEET, 10_000)
    seen = 0
    with zipfile.ZipFile(path) as archive, pytest.raises(InputError):
        for piece in inflated(archive, archive.getinfo(SHEET), 4096, "book"):
            seen += len(piece)
    assert seen <= 10_000


def test_a_part_that_declares_more_than_it_holds_is_refused(tmp_path: Path) -> None:
    path = package(tmp_path / "book.xlsx", {SHEET: XML})
    declare(path, SHEET, len(XML) + 10)
    with zipfile.ZipFile(path) as archive, pytest.raises(InputError, match="is damaged"):
        true_size(archive, archive.getinfo(SHEET), "book")


def test_a_broken_deflate_stream_is_one_sentence(tmp_path: Path) -> None:
    path = package(tmp_path / "book.xlsx", {SHEET: XML})
    data = bytearray(path.read_bytes())
    data[60:90] = b"\xff" * 30  # inside the sheet's compressed bytes
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive, pytest.raises(InputError, match=r"^book cannot be"):
        true_size(archive, archive.getinfo(SHEET), "book")


def test_other_compressions_are_read_through_zipfile(tmp_path: Path) -> None:
    path = package(tmp_path / "book.xlsx", {SHEET: XML}, zipfile.ZIP_LZMA)
    with zipfile.ZipFile(path) as archive:
        assert b"".join(inflated(archive, archive.getinfo(SHEET), 4096, "book")) == XML


def test_a_workbook_whose_shared_strings_declare_less_is_refused_before_parsing(
    tmp_path: Path,
) -> None:
    """The check made through `zipfile` saw 1,000 bytes; calamine would have inflated all."""
    import xlsxwriter  # shared strings, as Excel saves them

    from clv_xl.orders.load import load_orders

    path = tmp_path / "book.xlsx"
    with xlsxwriter.Workbook(path) as wb:
        ws = wb.add_worksheet()
        ws.write_row(0, 0, ["Customer", "Date", "Amount"])
        for row in range(1, 21):
            ws.write_row(row, 0, [f"{row}" + "x" * 30_000, "2024-01-01", 10])
    declare(path, "xl/sharedStrings.xml", 1000)
    with pytest.raises(InputError, match=r"part xl/sharedStrings.xml is damaged"):
        load_orders(path)


def test_an_opendocument_whose_content_declares_less_is_refused(tmp_path: Path) -> None:
    """An .ods goes to calamine whole: its parts are checked first, like an xlsx's."""
    from clv_xl.orders.load import load_orders

    content = (
        b'<office:document-content xmlns:office="o">'
        + b"<x/>" * 50_000
        + b"</office:document-content>"
    )
    path = package(
        tmp_path / "book.ods",
        {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": content},
    )
    declare(path, "content.xml", 1000)
    with pytest.raises(InputError, match=r"^book.ods cannot be read: its package's part "
                       r"content.xml is damaged"):  # fmt: skip
        load_orders(path)


def test_a_compression_no_reader_knows_is_one_sentence(tmp_path: Path) -> None:
    path = package(tmp_path / "book.xlsx", {SHEET: XML})
    data = bytearray(path.read_bytes())
    for signature, method_at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # local, central
        at = data.find(signature)
        struct.pack_into("<H", data, at + method_at, 9)  # Deflate64
    path.write_bytes(bytes(data))
    with (
        zipfile.ZipFile(path) as archive,
        pytest.raises(InputError, match=r"compressed in a way no reader here knows \(method 9\)"),
    ):
        true_size(archive, archive.getinfo(SHEET), "book")
