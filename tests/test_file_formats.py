"""Orders from every format the reading takes: .xls and .ods (saved by LibreOffice), Parquet,
and CSV as pyarrow reads it (blank lines, quoted line breaks)."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from clv_xl.errors import InputError
from clv_xl.orders.load import load_orders

AS_OF = dt.date(2024, 12, 31)
ROWS = [
    ["Export of January"],
    [],
    ["Klantnummer", "Orderdatum", "Bedrag", "Kanaal"],
    ["C1", dt.datetime(2024, 1, 2), 10.5, "Web"],
    [None, dt.datetime(2024, 1, 3), 5.0, "Shop"],
    ["C2", "15-06-2024", 12.5, None],
]


@pytest.fixture(scope="module")
def saved_by_libreoffice(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same sheet as .xlsx, and as LibreOffice saves it in .xls and .ods."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    folder = tmp_path_factory.mktemp("formats")
    book = openpyxl.Workbook()
    book.active.title = "Orders"
    for row in ROWS:
        book.active.append(row)
    book.save(folder / "orders.xlsx")
    for target in ("xls", "ods"):
        subprocess.run(
            ["soffice", f"-env:UserInstallation=file://{folder}/profile", "--headless",
             "--convert-to", target, "--outdir", str(folder), str(folder / "orders.xlsx")],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    return {suffix: folder / f"orders.{suffix}" for suffix in ("xlsx", "xls", "ods")}


@pytest.mark.parametrize("suffix", ["xls", "ods"])
def test_xls_and_ods_give_the_orders_of_the_xlsx(
    saved_by_libreoffice: dict[str, Path], suffix: str
) -> None:
    expected = load_orders(saved_by_libreoffice["xlsx"], as_of=AS_OF)
    orders = load_orders(saved_by_libreoffice[suffix], as_of=AS_OF)
    pd.testing.assert_frame_equal(orders.lines, expected.lines)
    assert orders.exclusions == expected.exclusions
    assert orders.lines["row"].tolist() == [4, 6]
    assert orders.source.sheet == "Orders"


def test_parquet_with_typed_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "Customer ID": ["C1", None, "C2", " C1 "],
            "Order date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-02-01", "2024-03-01"]),
            "Amount": [10, 5, 7, 3],
            "Channel": pd.Categorical(["Web", "Shop", "Web", "Web"]),
        }
    )
    frame.to_parquet(tmp_path / "orders.parquet")
    orders = load_orders(tmp_path / "orders.parquet", as_of=AS_OF)
    assert orders.lines["customer"].tolist() == ["C1", "C2", "C1"]
    assert orders.lines["amount"].tolist() == [10.0, 7.0, 3.0]
    assert orders.lines["row"].tolist() == [2, 4, 5]
    assert orders.segments == ("Channel",)
    assert [(e.reason, e.examples) for e in orders.exclusions] == [("missing customer", (3,))]


def test_a_damaged_parquet_file_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "orders.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match=r"orders.parquet cannot be read as a Parquet file"):
        load_orders(tmp_path / "orders.parquet")


def test_csv_blank_lines_and_quoted_line_breaks_keep_the_sheet_rows(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        'Customer;Date;Amount;Note\nC1;2024-01-02;1,50;"two\nlines"\n\nC2;2024-01-03;2;x\n'
    )
    orders = load_orders(path, as_of=AS_OF)
    assert orders.lines["amount"].tolist() == [1.5, 2.0]
    assert orders.lines["row"].tolist() == [2, 4]  # rows as Excel opens it: one per record
    assert [(e.reason, e.examples) for e in orders.exclusions] == [("empty row", (3,))]


def test_a_column_without_values_prints_nothing_of_the_reader(tmp_path: Path) -> None:
    """fastexcel logs a warning for a column without values; the command printed it."""
    book = openpyxl.Workbook()
    for row in [
        ["Customer", "Date", "Amount", "Note"],
        ["C1", "2024-01-02", 5],
        ["C2", "2024-02-03", 7],
    ]:
        book.active.append(row)
    book.save(tmp_path / "orders.xlsx")
    done = subprocess.run(
        [sys.executable, "-c", "from clv_xl.cli import run; run()", "report",
         str(tmp_path / "orders.xlsx"), "-o", str(tmp_path / "r.xlsx"), "-q"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert done.stderr == ""


def test_cells_of_another_kind_after_the_first_thousand_rows_are_read(tmp_path: Path) -> None:
    """fastexcel types a column from its first 1,000 rows by default and blanks later cells
    of another kind: 400 text dates were "missing date" and text costs were dropped."""
    import xlsxwriter

    path = tmp_path / "mixed.xlsx"
    with xlsxwriter.Workbook(path) as wb:
        ws = wb.add_worksheet("Orders")
        date_format = wb.add_format({"num_format": "yyyy-mm-dd"})
        ws.write_row(0, 0, ["Customer", "Date", "Amount", "Cost"])
        for row in range(1, 1501):
            ws.write_string(row, 0, f"C{row % 90}")
            if row <= 1100:
                ws.write_datetime(row, 1, dt.datetime(2024, 1, 2), date_format)
                ws.write_number(row, 3, 4)
            else:
                ws.write_string(row, 1, "31/01/2024")
                ws.write_string(row, 3, "4,50")
            ws.write_number(row, 2, 10)
    orders = load_orders(path, as_of=dt.date(2025, 1, 1))
    assert len(orders.lines) == 1500 and not orders.exclusions
    later = orders.lines["row"] > 1101  # sheet rows 1102-1501
    assert (orders.lines.loc[later, "date"] == pd.Timestamp("2024-01-31")).all()
    assert orders.lines.loc[later, "margin_amount"].tolist() == [5.5] * 400


def _garbled_workbook_part(data: bytearray) -> None:
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/workbook.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 5 : start + 15] = b"\x00" * 10


def _central_offset_past_the_end(data: bytearray) -> None:
    at = data.find(b"PK\x01\x02")
    data[at + 42 : at + 46] = (len(data) - 10).to_bytes(4, "little")


def _broken_shared_strings(data: bytearray) -> None:
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/sharedStrings.xml"] = b"<sst><si><t>Customer</t></si><si><t>cut"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, part in parts.items():
            archive.writestr(name, part)
    data[:] = out.getvalue()


@pytest.mark.parametrize(
    "damage", [_garbled_workbook_part, _central_offset_past_the_end, _broken_shared_strings]
)
def test_a_damaged_package_is_one_sentence(tmp_path: Path, damage: Any) -> None:
    """A download cut short or a garbled part was "unexpected failure ... please report it"."""
    import xlsxwriter

    path = tmp_path / "orders.xlsx"
    with xlsxwriter.Workbook(path) as wb:  # shared strings, as Excel saves them
        ws = wb.add_worksheet("Orders")
        ws.write_row(0, 0, ["Customer", "Date", "Amount"])
        ws.write_row(1, 0, ["C1", "2024-01-02", 10])
    data = bytearray(path.read_bytes())
    damage(data)
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"^(sheet 'Orders' of )?orders.xlsx cannot be read"):
        load_orders(path)


def test_parquet_ids_of_64_bits_are_read_exactly(tmp_path: Path) -> None:
    """Integers beyond 2^53 are no float64: they were an ArrowInvalid traceback."""
    path = tmp_path / "orders.parquet"
    ids = [2**60 + n for n in range(100)]
    pd.DataFrame(
        {"Customer": ids, "Date": pd.to_datetime(["2024-01-02"] * 100), "Amount": 10.0,
         "Order id": [2**62 + n for n in range(100)]}
    ).to_parquet(path)  # fmt: skip
    orders = load_orders(path, as_of=dt.date(2025, 1, 1))
    assert orders.lines["customer"].astype(str).tolist() == [str(n) for n in ids]
    assert not orders.exclusions
