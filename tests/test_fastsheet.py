"""The fast path for large tables against openpyxl's own reading."""

from __future__ import annotations

import datetime as dt
import re
import sys
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from clv_xl.report.fastsheet import LargeTable, fill


def test_rows_are_streamed_with_the_template_styles(tmp_path):
    frame = pd.DataFrame(
        {
            "name": ["=SUM(A1:A2)", "a < b & c, 100% %s %d", " tab\there ", None, "bell\x07"],
            "when": pd.to_datetime(["2024-01-31", "2024-02-29", None, "1999-12-31", "2030-06-01"]),
            "amount": [1.5, np.nan, -3.0, 1e-7, 123456789.125],
            "count": pd.array([1, 2, 3, 4, 5], dtype="int64"),
            "rate": [0.1, 0.25, 1 / 3, 2.5, 1e-12],  # every cell a number
        }
    )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data & more"
    ws.append(list(frame.columns))
    formats = ["@", "yyyy-mm-dd", "0.00", "#,##0", "0.0%"]
    for column, number_format in enumerate(formats, start=1):
        ws.cell(2, column, "template").number_format = number_format
    ws.cell(1, 7, "after")  # cells outside the table are kept
    path = tmp_path / "t.xlsx"
    wb.save(path)
    fill(path, [LargeTable("Data & more", frame)])

    back = openpyxl.load_workbook(path)["Data & more"]
    assert back.cell(1, 7).value == "after"
    values = [[c.value for c in row] for row in back.iter_rows(min_row=2, max_col=5)]
    assert values == [
        ["=SUM(A1:A2)", dt.datetime(2024, 1, 31), 1.5, 1, 0.1],
        ["a < b & c, 100% %s %d", dt.datetime(2024, 2, 29), None, 2, 0.25],
        [" tab\there ", None, -3.0, 3, 1 / 3],  # spaces kept; every number reads back the same
        [None, dt.datetime(1999, 12, 31), 1e-7, 4, 2.5],
        ["bell", dt.datetime(2030, 6, 1), 123456789.125, 5, 1e-12],
    ]
    assert back.cell(2, 1).data_type == "s"  # text, not a formula
    assert back.cell(3, 2).number_format == "yyyy-mm-dd"
    assert back.cell(6, 3).number_format == "0.00"


def test_text_longer_than_an_excel_cell_is_cut_and_marked():
    from clv_xl.report.fastsheet import EXCEL_CELL_CHARACTERS, fit_cell

    cut = fit_cell("x" * 40_000)
    assert len(cut) == EXCEL_CELL_CHARACTERS and cut.endswith("\u2026")
    assert fit_cell("short") == "short"


def test_many_chunks_of_rows_arrive_whole_and_in_order(tmp_path):
    from python_calamine import CalamineWorkbook

    from clv_xl.report.fastsheet import CHUNK_ROWS

    rows = 2 * CHUNK_ROWS + 123
    frame = pd.DataFrame(
        {"id": [f"C{i:06d}" for i in range(rows)], "value": np.arange(rows) / 7, "n": range(rows)}
    )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(frame.columns))
    ws.append(["template", 0.5, 1])
    path = tmp_path / "chunks.xlsx"
    wb.save(path)
    fill(path, [LargeTable(ws.title, frame)])

    back = CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
    assert back[0] == ["id", "value", "n"]
    assert [row[0] for row in back[1:]] == frame["id"].tolist()
    np.testing.assert_allclose([row[1] for row in back[1:]], frame["value"], rtol=1e-14)
    assert [int(row[2]) for row in back[1:]] == frame["n"].tolist()
    assert openpyxl.load_workbook(path, read_only=True).active.max_row == rows + 1


def test_whole_numbers_read_back_exactly_as_integers_or_floats(tmp_path):
    whole = [1639.0, -0.0, 1e15, -(2.0**53) + 1, 7.0]  # written through int64
    large = [2.0**53, 1e20, 3.0, 0.5, 12.0]  # not every one a small whole number
    frame = pd.DataFrame({"whole": whole, "large": large, "gaps": [1.0, np.nan, np.inf, 4.0, 5.0]})
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(frame.columns))
    ws.append([1, 1, 1])
    path = tmp_path / "whole.xlsx"
    wb.save(path)
    fill(path, [LargeTable(ws.title, frame)])

    back = [[c.value for c in row] for row in openpyxl.load_workbook(path).active.iter_rows(2)]
    assert [row[0] for row in back] == whole
    assert [row[1] for row in back] == large
    assert [row[2] for row in back] == [1, None, None, 4, 5]
    assert all(isinstance(row[0], int) for row in back)  # no decimal point written


EDGE_TEXTS = ["a & b", "<b>bold</b>", "  leading", "trailing\t", "=SUM(A1:A2)", "+1", "@x", "é ü €"]


def _repeated_and_unique_columns(rows: int) -> pd.DataFrame:
    """Columns that repeat their values (each distinct value rendered once) beside columns
    whose every row differs (rendered row by row), with blanks in each."""
    i = np.arange(rows)
    status = pd.Series([EDGE_TEXTS[k % len(EDGE_TEXTS)] for k in i], dtype="str")
    status[i % 11 == 0] = None
    ids = pd.Series([f"{EDGE_TEXTS[k % len(EDGE_TEXTS)]} #{k}" for k in i], dtype="str")
    ids[i % 13 == 0] = None
    score = np.where(i % 7 == 0, np.nan, (i % 5) + 1.0)
    score[3] = np.inf  # no number in Excel: blank
    spend = np.where(i % 17 == 0, np.nan, i / 7 + 1e-9)
    when = pd.to_datetime("2024-01-01") + pd.to_timedelta(i % 30, unit="D")
    when = pd.Series(when).where(i % 19 != 0)
    return pd.DataFrame({"status": status, "id": ids, "score": score, "spend": spend, "when": when})


def _expected(frame: pd.DataFrame) -> list[object]:
    """The frame's cells row after row as openpyxl reads a workbook: None for blanks,
    datetimes for dates."""
    cells: list[object] = []
    for record in frame.itertuples(index=False):
        for value in record:
            if isinstance(value, pd.Timestamp):
                cells.append(value.to_pydatetime())
            elif value is None or pd.isna(value) or value in (np.inf, -np.inf):
                cells.append(None)
            else:
                cells.append(value)
    return cells


def test_repeated_and_unique_columns_read_back_as_the_frame_in_openpyxl_and_libreoffice(
    tmp_path,
):
    from libreoffice import convert

    from clv_xl.report.fastsheet import _repeats

    frame = _repeated_and_unique_columns(600)
    assert [_repeats(frame[c]) for c in frame] == [True, False, True, False, True]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(frame.columns))
    for column, number_format in enumerate(["@", "@", "0", "0.00", "yyyy-mm-dd"], start=1):
        ws.cell(2, column, "template").number_format = number_format
    path = tmp_path / "filled.xlsx"
    wb.save(path)
    fill(path, [LargeTable(ws.title, frame)])
    expected = _expected(frame)

    with zipfile.ZipFile(path) as archive:  # Excel keeps a text's outer spaces only so
        texts = re.findall(
            r"<t([^>]*)>([^<]*)</t>", archive.read("xl/worksheets/sheet1.xml").decode()
        )
    spaced = [attributes for attributes, text in texts if text != text.strip()]
    assert spaced and all(a == ' xml:space="preserve"' for a in spaced)

    resaved = convert(path, tmp_path / "libreoffice", "xlsx:Calc MS Excel 2007 XML")
    # Our numbers are exact; LibreOffice 7.4 saves 15 significant digits.
    for written, tolerance in ((path, 0.0), (resaved.with_suffix(".xlsx"), 1e-14)):
        back = openpyxl.load_workbook(written).active
        values = [c.value for row in back.iter_rows(min_row=2, max_col=5) for c in row]
        assert len(values) == len(expected), written
        differ = [
            (i // 5 + 2, got, want)  # sheet row, read, written
            for i, (got, want) in enumerate(zip(values, expected, strict=True))
            if got != want
            and not (isinstance(want, float) and got == pytest.approx(want, rel=tolerance, abs=0))
        ]
        assert differ == [], written
        texts = [c for row in back.iter_rows(min_row=2, max_col=2) for c in row if c.value]
        assert all(c.data_type == "s" for c in texts), written  # "=SUM(...)" too: text
        assert back.cell(3, 4).number_format == "0.00", written


def test_without_isal_zipfiles_own_zlib_compresses_the_rows(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "isal", None)  # as on a platform without its wheel
    frame = pd.DataFrame({"id": [f"C{i}" for i in range(50)], "value": np.arange(50) / 3})
    wb = openpyxl.Workbook()
    wb.active.append(list(frame.columns))
    wb.active.append(["template", 0.5])
    path = tmp_path / "zlib.xlsx"
    wb.save(path)
    fill(path, [LargeTable(wb.active.title, frame)])

    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    back = [[c.value for c in row] for row in openpyxl.load_workbook(path).active.iter_rows(2)]
    assert back == frame.values.tolist()


@pytest.mark.parametrize("every_column", [True, False])
def test_rendering_each_distinct_value_once_writes_the_rows_byte_for_byte(
    tmp_path, monkeypatch, every_column
):
    from clv_xl.report import fastsheet

    frame = _repeated_and_unique_columns(300)
    wb = openpyxl.Workbook()
    wb.active.append(list(frame.columns))
    wb.active.append(["template", "template", 1, 1.5, dt.datetime(2024, 1, 1)])
    wb.save(tmp_path / "template.xlsx")

    def sheet_xml(name: str) -> bytes:
        path = tmp_path / name
        path.write_bytes((tmp_path / "template.xlsx").read_bytes())
        fill(path, [LargeTable(wb.active.title, frame)])
        with zipfile.ZipFile(path) as archive:
            return archive.read("xl/worksheets/sheet1.xml")

    as_chosen = sheet_xml("chosen.xlsx")  # some columns by distinct value, some by row
    monkeypatch.setattr(fastsheet, "_repeats", lambda values: every_column)
    assert sheet_xml("forced.xlsx") == as_chosen
