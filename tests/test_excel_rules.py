"""Every workbook the project writes keeps the rules Excel enforces (`excel_rules`), on
normal and awkward orders; a defect planted in a copy shows that each rule can fail."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from excel_rules import (
    CHECKS,
    Package,
    chart_problems,
    check,
    defined_name_problems,
    limit_problems,
    package_problems,
    problems,
    ribbon_problems,
    style_problems,
    table_problems,
    worksheet_problems,
)

from clv_xl.analysis.analyze import analyze
from clv_xl.cli import main
from clv_xl.excel.addin import build_addin
from clv_xl.orders.load import load_orders
from clv_xl.report.cells import table_columns, unique_name
from clv_xl.report.workbook import write_report
from clv_xl.templates.sample import sample_orders, write_orders

TEMPLATES = Path(__file__).parents[1] / "templates"
LONG_HEADER = "Campaign " + "x" * 291  # 300 characters
ODD = "Kanäl € \"1\" <a&b> 'q' ;=+"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("normal")
    orders = write_orders(sample_orders(customers=150, seed=2), folder / "orders.xlsx")
    assert main(["report", str(orders), "-o", str(folder / "report.xlsx"), "-q"]) == 0
    return folder / "report.xlsx"


@pytest.fixture(scope="module")
def addin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_addin(tmp_path_factory.mktemp("addin"))


def awkward_orders(rows: int = 240) -> pd.DataFrame:
    """Orders whose text columns clash with the report's own names and with each other
    without case, with a 300-character header, odd names and control characters."""
    frame = sample_orders(customers=120, seed=4).head(rows).copy()
    pattern = lambda *values: [values[i % len(values)] for i in range(len(frame))]  # noqa: E731
    frame["Status"] = pattern("Gold", "Silver")
    frame["Value tier"] = pattern("A", "B", "C")
    frame["Kanaal"] = frame["Channel"]
    frame["KANAAL"] = frame["Country"]
    frame[LONG_HEADER] = pattern("spring", "autumn")
    frame[ODD] = pattern("ok", "x" * 300, "CLV1", "=1+1")
    frame["Notes"] = pattern("bell\x07here", "esc\x1bhere", "plain")
    frame.loc[frame.index[:4], "Customer ID"] = "cust\x1bomer"
    return frame


@pytest.fixture(scope="module", params=["csv", "xlsx"])
def awkward_report(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The awkward orders as a CSV (control characters as they are) and as a workbook (where
    they are stored as ``_x001B_`` and come back as ESC)."""
    folder = tmp_path_factory.mktemp("awkward")
    frame = awkward_orders()
    if request.param == "xlsx":  # openpyxl refuses control characters: store Excel's escapes
        for column in ("Notes", "Customer ID"):
            frame[column] = (
                frame[column].str.replace("\x1b", "_x001B_").str.replace("\x07", "_x0007_")
            )
    orders = write_orders(frame, folder / f"orders.{request.param}")
    out = folder / "report.xlsx"
    assert main(["report", str(orders), "-o", str(out), "-q"]) == 0
    return out


def test_the_report_keeps_excels_rules(report: Path) -> None:
    assert problems(report) == []


def test_the_report_of_awkward_orders_keeps_excels_rules(awkward_report: Path) -> None:
    assert problems(awkward_report) == []
    wb = openpyxl.load_workbook(awkward_report)
    customers = wb["Customers"]
    headers = [cell.value for cell in customers[1]]
    assert headers.count("Status") == 1 and "Status (2)" in headers
    assert "Value tier (segment)" in headers and LONG_HEADER in headers and ODD in headers
    assert list(customers.tables["CustomerTable"].column_names) == headers
    names = [name.lower() for name in wb["Segments"].tables]
    assert len(set(names)) == len(names) and {"seg_kanaal", "seg_kanaal_2"} <= set(names)
    assert max(map(len, names)) <= 255
    segments = {row[0] for row in wb["Segments"].iter_rows(min_col=1, max_col=1, values_only=True)}
    assert "Notes" in segments and "esc\x1bhere" not in segments
    texts = [v for row in customers.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert "customer" in texts  # "cust<ESC>omer": the ESC dropped, the text kept
    assert not any(re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", text) for text in texts)


#: The defects of issue 11, one at a time (the awkward orders above have them all).
ONE_AT_A_TIME = {
    "a text column Status": {"Status": "Gold"},
    "segment columns differing in case": {"Kanaal": "Web", "KANAAL": "NL"},
    "a 300-character header": {LONG_HEADER: "spring"},
    "ESC in a text": {"Notes": "esc\x1bhere"},
}


@pytest.mark.parametrize("case", sorted(ONE_AT_A_TIME))
def test_each_awkward_column_alone_keeps_excels_rules(case: str, tmp_path: Path) -> None:
    frame = sample_orders(customers=40, seed=6).assign(**ONE_AT_A_TIME[case])  # no model fit
    out = write_report(analyze(load_orders(frame)), tmp_path / "report.xlsx")
    assert problems(out) == []


def test_a_file_name_with_control_characters_keeps_excels_rules(tmp_path: Path) -> None:
    orders = write_orders(sample_orders(customers=40, seed=6), tmp_path / "ord\x1bers\x07.csv")
    assert main(["report", str(orders), "-o", str(tmp_path / "report.xlsx"), "-q"]) == 0
    assert problems(tmp_path / "report.xlsx") == []


#: The three templates (sample_orders.xlsx is the demo data, 28,798 rows: 2 s to check).
TEMPLATE_NAMES = ("clv_calculator.xlsx", "clv_functions.xlsx", "orders_template.xlsx")


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_the_templates_keep_excels_rules(name: str) -> None:
    assert problems(TEMPLATES / name) == []


def test_the_addin_keeps_excels_rules(addin: Path) -> None:
    assert problems(addin) == []
    assert ribbon_problems(Package.read(addin)) == []


def test_table_column_names_are_unique_without_case() -> None:
    assert table_columns(["Status", "status", "STATUS", "", "a\x1bb"]) == [
        "Status", "status (2)", "STATUS (3)", "Column 4", "ab",
    ]  # fmt: skip
    assert unique_name("Seg_Kanaal", ["SEG_KANAAL", "seg_kanaal_2"]) == "Seg_Kanaal_3"
    assert len(unique_name("x" * 300, ["x" * 255])) == 255


# ---- planted defects: each rule can fail ---------------------------------------------------


def _sub(part: str, pattern: str, replacement: str) -> Callable[[dict[str, bytes]], None]:
    """A defect: the first match of ``pattern`` in ``part`` replaced."""

    def plant(parts: dict[str, bytes]) -> None:
        text, count = re.subn(pattern, replacement, parts[part].decode(), count=1, flags=re.S)
        assert count == 1, (part, pattern)
        parts[part] = text.encode()

    return plant


def _table_name(parts: dict[str, bytes]) -> str:
    return re.search(r'displayName="([^"]+)"', parts["xl/tables/table1.xml"].decode())[1]


def _same_name_without_case(parts: dict[str, bytes]) -> None:
    name = _table_name(parts).upper()
    _sub("xl/tables/table2.xml", r'displayName="[^"]+"', f'displayName="{name}"')(parts)


#: Summary, Segments (the report's third sheet, after Sensitivity) and the styles.
SHEET, SEGMENTS, STYLES = "xl/worksheets/sheet1.xml", "xl/worksheets/sheet3.xml", "xl/styles.xml"
WORKBOOK, TABLE, CHART = "xl/workbook.xml", "xl/tables/table1.xml", "xl/charts/chart1.xml"
MOVE_VIEWS = r"(<sheetViews>.*?</sheetViews>)(.*?</sheetData>)"

DEFECTS: dict[str, tuple[Callable[[dict[str, bytes]], None], Callable, str]] = {
    "not well-formed": (_sub(CHART, r"<a:t>", "<a:t>\x1b"), package_problems, "well-formed"),
    "no content type": (
        _sub("[Content_Types].xml", r'<Override PartName="/xl/styles.xml"[^>]*/>', ""),
        package_problems, "not *spreadsheetml.styles+xml"),
    "no content type at all": (
        _sub("[Content_Types].xml", r'<Default Extension="rels"[^>]*/>', ""),
        package_problems, "no content type"),
    "content type of no part": (
        _sub("[Content_Types].xml", r"</Types>",
             '<Override PartName="/xl/gone.xml" ContentType="application/xml"/></Types>'),
        package_problems, "not in the package"),
    "relationship to no part": (
        _sub("xl/_rels/workbook.xml.rels", r'Target="styles.xml"', 'Target="style.xml"'),
        package_problems, "no part"),
    "relationship id twice": (
        _sub("xl/_rels/workbook.xml.rels", r'Id="rId2"', 'Id="rId1"'),
        package_problems, "used twice"),
    "elements out of order": (_sub(SHEET, MOVE_VIEWS, r"\2\1"), worksheet_problems, "order"),
    "rows out of order": (_sub(SHEET, r'<row r="2"', '<row r="1"'), worksheet_problems, "row"),
    "cell beyond XFD": (_sub(SHEET, r'r="A1"', 'r="XFE1"'), worksheet_problems, "cell"),
    "table id twice": (_sub("xl/tables/table2.xml", r'\bid="\d+"', 'id="1"'),
                       table_problems, "id 1"),
    "table names alike": (_same_name_without_case, table_problems, "has this name"),
    "tables overlapping": (_sub("xl/tables/table2.xml", r'ref="[A-Z]+\d+:', 'ref="A1:'),
                           table_problems, "overlap"),
    "table name too long": (_sub(TABLE, r'displayName="[^"]+"', f'displayName="T{"x" * 255}"'),
                            table_problems, "256 characters"),
    "table name like a cell": (_sub(TABLE, r'displayName="[^"]+"', 'displayName="CLV1"'),
                               table_problems, "cell reference"),
    "table name as a defined name": (_sub(TABLE, r'displayName="[^"]+"', 'displayName="margin"'),
                                     table_problems, "defined name"),
    "header cell not the column": (_sub(TABLE, r'name="Segment"', 'name="Segments"'),
                                   table_problems, "header cell"),
    "two columns of one name": (_sub(TABLE, r'name="Customers"', 'name="SEGMENT"'),
                                table_problems, "two columns"),
    "fewer columns than wide": (_sub(TABLE, r'<tableColumn id="24"[^>]*/>', ""),
                                table_problems, "wide"),
    "defined name like a cell": (_sub(WORKBOOK, r'name="Margin"', 'name="R1C1"'),
                                 defined_name_problems, "cell reference"),
    "defined name of bad characters": (_sub(WORKBOOK, r'name="Margin"', 'name="1 Margin"'),
                                       defined_name_problems, "characters"),
    "defined name twice": (_sub(WORKBOOK, r'name="DiscountRate"', 'name="MARGIN"'),
                           defined_name_problems, "twice"),
    "defined name of no sheet": (
        _sub(WORKBOOK, r'name="Margin"', 'name="Margin" localSheetId="99"'),
        defined_name_problems, "not there"),
    "hidden axis": (_sub(CHART, r'<delete val="0"\s*/>', ""), chart_problems, "hidden"),
    "axis id of no axis": (_sub(CHART, r'<axId val="100"\s*/></barChart>',
                                '<axId val="7"/></barChart>'), chart_problems, "not an axis"),
    "crossing no axis": (_sub(CHART, r'<crossAx val="100"', '<crossAx val="8"'),
                         chart_problems, "crosses"),
    "cell style out of range": (_sub(SHEET, r' s="\d+"', ' s="999"'), style_problems,
                                "style index"),
    "font out of range": (_sub(STYLES, r'(<cellXfs.*?)fontId="\d+"', r'\1fontId="99"'),
                          style_problems, "fontId"),
    "font without a name": (_sub(STYLES, r'(</font><font>)<name val="Calibri"\s*/>', r"\1"),
                            style_problems, "no name"),
    "number format undefined": (_sub(STYLES, r'(<cellXfs.*?)numFmtId="\d+"', r'\1numFmtId="200"'),
                                style_problems, "number format"),
    "differential format out of range": (
        _sub(SEGMENTS, r'<cfRule type="colorScale"', '<cfRule dxfId="50" type="colorScale"'),
        style_problems, "conditional format"),
    "sheet name too long": (_sub(WORKBOOK, r'name="About"', f'name="{"A" * 32}"'),
                            limit_problems, "32 characters"),
    "sheet name of a forbidden character": (_sub(WORKBOOK, r'name="About"', 'name="A/B"'),
                                            limit_problems, "forbids"),
    "sheet names alike": (_sub(WORKBOOK, r'name="About"', 'name="SUMMARY"'),
                          limit_problems, "taken"),
    "cell text too long": (_sub(SHEET, r"<is><t>", f"<is><t>{'x' * 32_768}"),
                           limit_problems, "32,767"),
    "formula too long": (_sub(SHEET, r"<f>", f"<f>{'1+' * 4100}"), limit_problems, "8,192"),
}  # fmt: skip


def test_every_check_has_a_planted_defect() -> None:
    assert {rule for _, rule, _ in DEFECTS.values()} | {ribbon_problems} == set(CHECKS)


@pytest.fixture(scope="module")
def checked(report: Path) -> Package:
    """The report's package, every part parsed by a clean `check`."""
    package = Package.read(report)
    assert check(package) == []
    return package


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_a_planted_defect_is_found(defect: str, checked: Package) -> None:
    plant, rule, words = DEFECTS[defect]
    parts = dict(checked.parts)
    plant(parts)
    unchanged = {n: xml for n, xml in checked.parsed.items() if parts[n] is checked.parts[n]}
    found = rule(Package(parts, unchanged))  # a copy: only the planted part parsed again
    assert found and any(words in problem for problem in found), found


def test_a_ribbon_of_the_wrong_namespace_is_found(addin: Path) -> None:
    parts = dict(Package.read(addin).parts)
    _sub("customUI/customUI.xml", r"2006/01/customui", "2009/07/customui")(parts)
    assert ribbon_problems(Package(parts)) != []
