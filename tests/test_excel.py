"""The ribbon's segment report through xlwings' own remote Book (the Office.js payload)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
import python_calamine
import xlwings as xw
from xlwings import server

import clv_xl
from clv_xl.cli import main as cli
from clv_xl.errors import InputError
from clv_xl.excel import ribbon as excel

SAMPLE = Path(__file__).parents[1] / "templates" / "sample_orders.xlsx"
FIGURES = (
    "Customers", "Orders", "Revenue", "AOV", "RepeatRate", "CustomerLifetime", "ARPU", "Margin",
    "RemainingRevenue",
)  # fmt: skip


def js(value):
    """A cell value as Office.js sends it: dates as ISO strings."""
    if isinstance(value, dt.datetime | dt.date):
        return f"{value:%Y-%m-%d}T00:00:00.000Z"
    return value


def sheet(name, values, tables=()):
    return {"name": name, "values": [[js(v) for v in row] for row in values], "pictures": [],
            "tables": list(tables)}  # fmt: skip


def book(*sheets, name="Sales 2025.xlsx", active=0):
    return xw.Book(
        json={
            "client": "Office.js",
            "version": xw.__version__,
            "book": {"name": name, "active_sheet_index": active, "selection": "A1"},
            "names": [],
            "sheets": list(sheets),
        }
    )


@pytest.fixture(scope="module")
def sample_values():
    workbook = python_calamine.CalamineWorkbook.from_path(SAMPLE)
    return workbook.get_sheet_by_name("Orders").to_python()


def named(wb, name):
    sheet_name, ref = next(iter(wb.defined_names[name].destinations))
    return wb[sheet_name][ref.replace("$", "")].value


def test_the_book_report_has_the_same_figures_as_the_file_report(sample_values, tmp_path):
    remote = book(sheet("Notes", [["Quarterly orders"]]), sheet("Orders", sample_values))
    from_book = clv_xl.segment_report(remote, tmp_path)
    assert from_book.name == f"Sales 2025 - CLV report {dt.date.today():%Y-%m-%d}.xlsx"
    from_file = tmp_path / "from_file.xlsx"
    assert cli(["report", str(SAMPLE), "-o", str(from_file), "-q"]) == 0

    a, b = openpyxl.load_workbook(from_book), openpyxl.load_workbook(from_file)
    for name in FIGURES:
        assert named(a, name) == pytest.approx(named(b, name), rel=1e-12), name
    for sheet_name in ("Segments", "Cohorts", "Customers", "Data quality"):
        rows_a = list(a[sheet_name].iter_rows(values_only=True))
        rows_b = list(b[sheet_name].iter_rows(values_only=True))
        assert rows_a == rows_b, sheet_name


def test_never_overwrites_an_earlier_report(sample_values, tmp_path):
    remote = book(sheet("Orders", sample_values[:200]))
    first = excel.segment_report(remote, tmp_path)
    second = excel.segment_report(remote, tmp_path)
    assert second.name == first.name.replace(".xlsx", " (2).xlsx")


def test_settings_sheet_sets_the_parameters(sample_values, tmp_path):
    settings = [
        ["Setting", "Value"],
        ["Gross margin", 0.5],
        ["Currency", "USD"],
        ["Segment columns", "Channel"],
        ["Analysis date", dt.datetime(2025, 6, 30)],
    ]
    remote = book(sheet("Orders", sample_values), sheet("Settings", settings))
    wb = openpyxl.load_workbook(excel.segment_report(remote, tmp_path))
    assert named(wb, "Margin") == 0.5
    assert named(wb, "AnalysisDate").date() == dt.date(2025, 6, 30)
    sheet_name, ref = next(iter(wb.defined_names["Revenue"].destinations))
    assert "$" in wb[sheet_name][ref.replace("$", "")].number_format
    dimensions = {c.value for c in wb["Segments"]["A"] if c.font.bold and c.font.size == 12}
    assert "Channel" in dimensions and "Country" not in dimensions


def test_finds_the_orders_in_an_excel_table(sample_values, tmp_path):
    grid = [[None] * 8, [None] * 8] + [[None, *row] for row in sample_values[:300]]
    table = {
        "name": "OrdersTable", "range_address": "B3:H302", "header_row_range_address": "B3:H3",
        "data_body_range_address": "B4:H302", "total_row_range_address": None,
        "show_headers": True, "show_totals": False, "table_style": "TableStyleMedium2",
        "show_autofilter": True,
    }  # fmt: skip
    remote = book(sheet("Start", [["Read me"]]), sheet("Data", grid, [table]))
    found = excel.find_orders(remote)
    assert (found.sheet, found.first_row) == ("Data", 3)
    assert excel.segment_report(remote, tmp_path).exists()


def test_a_book_without_orders_gets_one_clear_sentence_and_nothing_is_written(tmp_path):
    remote = book(sheet("Budget", [["Month", "Cost"], ["Jan", 10]]))
    with pytest.raises(InputError, match=r"No orders found in Sales 2025\.xlsx.*'Budget'"):
        excel.segment_report(remote, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_bad_settings_name_the_cell(sample_values, tmp_path):
    remote = book(sheet("Orders", sample_values[:50]), sheet("Settings", [["Gross margin", 7]]))
    with pytest.raises(InputError, match="Settings!B1"):
        excel.segment_report(remote, tmp_path)
    assert list(tmp_path.iterdir()) == []


class TestOfficeJsScript:
    """The same report as an Office.js script, through xlwings' custom_scripts_call."""

    def run(self, remote):
        asyncio.run(
            server.custom_scripts_call(
                excel, "clv_segment_report", typehint_to_value={xw.Book: remote}
            )
        )
        return remote.json()

    def test_reports_and_says_where(self, sample_values, tmp_path, monkeypatch):
        monkeypatch.setenv("HOME", str(tmp_path))  # an unsaved book's report goes to Documents
        (tmp_path / "Documents").mkdir()
        remote = book(sheet("Orders", sample_values[:300]))
        actions = self.run(remote)["actions"]
        alerts = [a for a in actions if a["func"] == "alert"]
        assert len(alerts) == 1 and "The CLV report is ready" in alerts[0]["args"][0]
        assert len(list((tmp_path / "Documents").glob("Sales 2025 - CLV report *.xlsx"))) == 1
        assert all(a["func"] == "alert" for a in actions)  # the orders sheet is not touched

    def test_a_problem_is_a_message(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HOME", str(tmp_path))
        actions = self.run(book(sheet("Budget", [["Month"]])))["actions"]
        assert [a["func"] for a in actions] == ["alert"]
        assert actions[0]["args"][0].startswith("No orders found")


def test_a_cac_sheet_in_the_book_fills_the_reports_cac(sample_values, tmp_path):
    cac = [["Channel", "CAC"], ["Webshop", 120], ["Retail store", 80.5]]
    remote = book(sheet("Orders", sample_values), sheet("CAC", cac))
    ws = openpyxl.load_workbook(excel.segment_report(remote, tmp_path))["CAC"]
    given = {ws.cell(r, 1).value: ws.cell(r, 3).value for r in range(6, ws.max_row + 1)}
    assert given["Webshop"] == 120 and given["Retail store"] == 80.5
    bad = book(sheet("Orders", sample_values), sheet("CAC", [["Channel", "CAC"], ["Web", -5]]))
    with pytest.raises(InputError, match="Row 2 of the CAC sheet"):
        excel.segment_report(bad, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
