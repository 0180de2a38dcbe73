"""The template workbooks: equal to a fresh build, recalculated, held equal to the library."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwings as xw
from excel_rules import chart_axis_problems
from libreoffice import error_cells, recalculate
from openpyxl.cell.cell import Cell
from openpyxl.formula import Tokenizer
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula
from python_calamine import CalamineWorkbook
from xlwings import server

import clv_xl.udfs as udfs
from clv_xl import __version__
from clv_xl.analysis.params import Params
from clv_xl.excel import settings
from clv_xl.functions import formulas, model_formulas
from clv_xl.report.style import INPUT, currency_format, currency_symbol, save_reproducibly
from clv_xl.templates import build, excel_twins, functions_workbook, shared
from clv_xl.templates import calculator as calculator_template

COMMITTED = Path(__file__).resolve().parent.parent / "templates"
CALCULATOR_INPUTS = ("ARPU", "GrossMargin", "MonthlyChurn", "DiscountRate", "CAC")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    paths = build.build_templates(tmp_path_factory.mktemp("templates"))
    return {path.name: path for path in paths}


def named_cell(wb: Workbook, name: str) -> Cell:
    ((sheet, coordinate),) = wb.defined_names[name].destinations
    return wb[sheet][coordinate.replace("$", "")]


def named_value(wb: Workbook, name: str) -> Any:
    return named_cell(wb, name).value


def font_and_fill(cell: Cell) -> tuple[Any, ...]:
    return (
        cell.font.color.rgb if cell.font.color is not None else None,
        cell.font.b,
        cell.font.i,
        cell.fill.fill_type,
        cell.fill.fgColor.rgb,
    )


def formula_text(value: Any) -> Any:
    """An array formula as its text and range (openpyxl's objects do not compare equal)."""
    return (value.text, value.ref) if isinstance(value, ArrayFormula) else value


def within_tolerance(value: Any) -> Any:
    """A number as itself within the templates' FIT_TOLERANCE: fitted estimates and their
    standard errors differ in their last digits from one processor to another."""
    if isinstance(value, float):
        return pytest.approx(value, rel=float(functions_workbook.FIT_TOLERANCE), abs=1e-12)
    return value


def fingerprint(path: Path, number: Callable[[Any], Any] = lambda value: value) -> dict[str, Any]:
    """What a person or a formula can see in a workbook, as plain data to compare
    (each cell value passed through ``number``)."""
    wb = openpyxl.load_workbook(path)
    sheets = {}
    for ws in wb.worksheets:
        cells = {
            cell.coordinate: (
                number(formula_text(cell.value)),
                cell.number_format,
                font_and_fill(cell),
                cell.comment.text if cell.comment else None,
            )
            for row in ws.iter_rows()
            for cell in row
            if cell.value is not None or cell.has_style
        }
        sheets[ws.title] = {
            "cells": cells,
            "tables": {
                table.name: (table.ref, [column.name for column in table.tableColumns])
                for table in ws.tables.values()
            },
            "validations": sorted(
                (dv.type, dv.operator, dv.formula1, dv.formula2, str(dv.sqref), dv.error)
                for dv in ws.data_validations.dataValidation
            ),
            "conditional formats": sorted(
                (str(cf.sqref), [(rule.type, rule.formula) for rule in cf.rules])
                for cf in ws.conditional_formatting
            ),
            "charts": [type(chart).__name__ for chart in ws._charts],
            "column widths": {key: dim.width for key, dim in ws.column_dimensions.items()},
            "freeze panes": ws.freeze_panes,
        }
    return {
        "sheet order": wb.sheetnames,
        "sheets": sheets,
        "defined names": {name: d.attr_text for name, d in wb.defined_names.items()},
        "dates": (wb.properties.created, wb.properties.modified),
    }


# Reproducible build ---------------------------------------------------------------------------
def test_build_writes_every_template(built: dict[str, Path]) -> None:
    assert set(built) == {
        "clv_calculator.xlsx",
        "orders_template.xlsx",
        "clv_functions.xlsx",
        "sample_orders.xlsx",
    }


@pytest.mark.parametrize(
    "name", ["clv_calculator.xlsx", "orders_template.xlsx", "clv_functions.xlsx"]
)
def test_committed_template_equals_a_fresh_build(built: dict[str, Path], name: str) -> None:
    committed = fingerprint(COMMITTED / name)
    fresh = fingerprint(built[name], number=within_tolerance)
    assert committed["sheet order"] == fresh["sheet order"]
    assert committed["defined names"] == fresh["defined names"]
    assert committed["dates"] == fresh["dates"]
    for sheet in fresh["sheets"]:
        assert committed["sheets"][sheet] == fresh["sheets"][sheet], f"{name} {sheet}"


def cell_values(path: Path) -> dict[str, list[list[Any]]]:
    """Every sheet's values, read with calamine (fast: the sample orders are large)."""
    wb = CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def test_committed_sample_orders_equal_a_fresh_build(built: dict[str, Path]) -> None:
    name = build.SAMPLE_ORDERS
    assert cell_values(COMMITTED / name) == cell_values(built[name])


def test_rebuilding_gives_identical_bytes(tmp_path: Path) -> None:
    first, again = (
        save_reproducibly(
            calculator_template.calculator_workbook(), tmp_path / name, shared.RELEASE_DATE
        )
        for name in ("first.xlsx", "again.xlsx")
    )
    assert first.read_bytes() == again.read_bytes()


@pytest.mark.parametrize("name", ["clv_calculator.xlsx", "orders_template.xlsx"])
def test_about_sheet_and_document_dates_are_the_release(built: dict[str, Path], name: str) -> None:
    wb = openpyxl.load_workbook(built[name])
    about = {row[0]: row[1] for row in wb["About"].iter_rows(min_row=3, values_only=True)}
    assert about["Version"] == f"clv_xl {__version__}"
    assert about["Date"] == shared.RELEASE_DATE
    assert wb.properties.created == wb.properties.modified == shared.RELEASE_DATE


# The calculator -------------------------------------------------------------------------------
def library_outputs(arpu: float, margin: float, churn: float, annual: float, cac: float) -> dict:
    """The calculator's outputs computed by the Python library, monthly, timing "begin"
    (the first month's margin at acquisition, as in the segment report)."""
    monthly_rate = (1 + annual) ** (1 / 12) - 1
    clv = formulas.clv(arpu, margin, churn)
    return {
        "CustomerLifetime": formulas.customer_lifetime(churn),
        "CLV": clv,
        "DiscountedCLV": formulas.clv_discounted(
            arpu * margin, 1 - churn, monthly_rate, timing="begin"
        ),
        "LTV_CAC": formulas.ltv_cac(clv, cac),
        "CACPaybackMonths": formulas.cac_payback(cac, arpu, margin),
    }


def with_inputs(source: Path, target: Path, values: dict[str, float]) -> Path:
    wb = openpyxl.load_workbook(source)
    for name, value in values.items():
        named_cell(wb, name).value = value
    wb.save(target)
    return target


@pytest.fixture(scope="module")
def calculator(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Workbook:
    return recalculate(built[build.CALCULATOR], tmp_path_factory.mktemp("recalculated"))


def test_calculator_recalculates_without_error_cells(calculator: Workbook) -> None:
    assert error_cells(calculator) == []
    assert named_value(calculator, calculator_template.CHECKS_OK) == "OK"


def test_calculator_defaults_give_the_seed_example(calculator: Workbook) -> None:
    # Seed 003: EUR 200 a month x 30% margin / 6% monthly churn = EUR 1,000.
    assert [named_value(calculator, n) for n in ("ARPU", "GrossMargin", "MonthlyChurn")] == [
        200,
        0.3,
        0.06,
    ]
    assert named_value(calculator, "CLV") == pytest.approx(1000)
    assert named_value(calculator, "MonthsPerYear") == 12


def test_calculator_defaults_equal_the_library(calculator: Workbook) -> None:
    inputs = [named_value(calculator, name) for name in CALCULATOR_INPUTS]
    for name, expected in library_outputs(*inputs).items():
        assert named_value(calculator, name) == pytest.approx(expected, rel=1e-12), name


@pytest.mark.parametrize(
    "inputs",
    [
        (55.5, 0.62, 0.015, 0.08, 410.0),
        (1200.0, 0.12, 0.35, 0.0, 95.0),
        (9.99, 0.95, 1.0, 0.25, 3.5),
    ],
)
def test_calculator_with_other_inputs_equals_the_library(
    built: dict[str, Path], tmp_path: Path, inputs: tuple[float, ...]
) -> None:
    values = dict(zip(CALCULATOR_INPUTS, inputs, strict=True))
    path = with_inputs(built[build.CALCULATOR], tmp_path / "calculator.xlsx", values)
    wb = recalculate(path, tmp_path / "out")
    assert error_cells(wb) == []
    assert named_value(wb, calculator_template.CHECKS_OK) == "OK"
    for name, expected in library_outputs(*inputs).items():
        assert named_value(wb, name) == pytest.approx(expected, rel=1e-12), name
    arpu = inputs[0]
    table = wb[calculator_template.SENSITIVITY]
    first = calculator_template.SENSITIVITY_FIRST_ROW
    margins = [cell.value for cell in table[first][1:] if cell.value is not None]
    for row in table.iter_rows(
        min_row=first + 1, max_row=first + len(calculator_template.SENSITIVITY_CHURN)
    ):
        churn = row[0].value
        for margin, cell in zip(margins, row[1:], strict=False):
            assert cell.value == pytest.approx(formulas.clv(arpu, margin, churn), rel=1e-12)


def test_checks_flag_bad_inputs(built: dict[str, Path], tmp_path: Path) -> None:
    path = with_inputs(
        built[build.CALCULATOR], tmp_path / "bad.xlsx", {"MonthlyChurn": 0, "GrossMargin": 1.5}
    )
    wb = recalculate(path, tmp_path / "out")
    assert named_value(wb, calculator_template.CHECKS_OK) == "CHECK INPUTS"
    model = wb[calculator_template.MODEL]
    failed = {row[0].value for row in model.iter_rows() if row[1].value is False and row[0].value}
    assert any(label.startswith("Churn per month") for label in failed)
    assert any(label.startswith("Gross margin") for label in failed)
    assert any(label.startswith("Customer lifetime value, undiscounted") for label in failed)


def calculator_formulas(path: Path) -> list[tuple[str, str]]:
    wb = openpyxl.load_workbook(path)
    return [
        (f"{ws.title}!{cell.coordinate}", cell.value)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and cell.value.startswith("=")
    ]


def test_calculator_formulas_hold_no_hard_coded_numbers(built: dict[str, Path]) -> None:
    found = calculator_formulas(built[build.CALCULATOR])
    assert len(found) > 50  # model, checks and the sensitivity table
    for where, text in found:
        numbers = [
            token.value
            for token in Tokenizer(text).items
            if token.type == "OPERAND" and token.subtype == "NUMBER"
        ]
        assert set(numbers) <= {"0", "1"}, f"{where}: {text}"


def test_calculator_inputs_are_styled_noted_and_validated(built: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(built[build.CALCULATOR])
    model = wb[calculator_template.MODEL]
    validated = {r.coord for dv in model.data_validations.dataValidation for r in dv.sqref.ranges}
    for name in (*CALCULATOR_INPUTS, "MonthsPerYear"):
        cell = named_cell(wb, name)
        assert font_and_fill(cell)[0].endswith(INPUT.font.color.rgb[-6:]), name
        assert cell.fill.fgColor.rgb.endswith(INPUT.fill.fgColor.rgb[-6:]), name
        assert cell.comment is not None and cell.comment.text.strip(), name
        assert cell.coordinate in validated, name
        label = model.cell(row=cell.row, column=1).value
        assert re.search(r"\(.+\)", label), f"no unit in the label {label!r}"
    for name in ("CustomerLifetime", "CLV", "DiscountedCLV", "LTV_CAC", "CACPaybackMonths"):
        cell = named_cell(wb, name)
        assert re.search(r"\(.+\)", model.cell(row=cell.row, column=1).value), name
        assert cell.row > max(named_cell(wb, n).row for n in CALCULATOR_INPUTS), name


def test_calculator_has_a_colour_scale_and_a_chart(built: dict[str, Path]) -> None:
    sheet = openpyxl.load_workbook(built[build.CALCULATOR])[calculator_template.SENSITIVITY]
    rules = [rule.type for cf in sheet.conditional_formatting for rule in cf.rules]
    assert "colorScale" in rules
    assert [type(chart).__name__ for chart in sheet._charts] == ["LineChart"]
    assert chart_axis_problems(built[build.CALCULATOR]) == []
    assert chart_axis_problems(COMMITTED / build.CALCULATOR) == []


def test_bound_conditions_mirror_the_library_bounds() -> None:
    assert excel_twins.bound_condition("X", formulas.CHURN) == "AND(ISNUMBER(X),X>0,X<=1)"
    assert excel_twins.bound_condition("X", formulas.ANY) == "AND(ISNUMBER(X))"


def test_an_excel_twin_rejects_unknown_arguments() -> None:
    with pytest.raises(TypeError, match="no arguments"):
        excel_twins.ExcelTwin(formulas.clv, "{revenue}*{markup}")
    with pytest.raises(TypeError, match="needs"):
        excel_twins.CLV.excel(revenue="A1", margin="B1")


# The orders template --------------------------------------------------------------------------
@pytest.mark.parametrize("name", [build.ORDERS_TEMPLATE, build.SAMPLE_ORDERS])
def test_orders_workbooks_recalculate_without_error_cells(
    built: dict[str, Path], tmp_path: Path, name: str
) -> None:
    assert error_cells(recalculate(built[name], tmp_path)) == []


def test_orders_table_has_the_expected_columns_and_validation(built: dict[str, Path]) -> None:
    ws = openpyxl.load_workbook(built[build.ORDERS_TEMPLATE])["Orders"]
    table = ws.tables["Orders"]
    assert [c.name for c in table.tableColumns] == [
        "Order ID",
        "Customer ID",
        "Order date",
        "Amount",
        "Cost",
        "Channel",
        "Country",
    ]
    rows = list(ws[table.ref])
    assert len(rows) > 2
    by_column = {str(dv.sqref).split(":")[0][0]: dv for dv in ws.data_validations.dataValidation}
    assert by_column["C"].type == "date"
    assert (by_column["D"].type, by_column["D"].formula1) == ("custom", "ISNUMBER(D2)")
    assert (by_column["E"].type, by_column["E"].operator, by_column["E"].formula1) == (
        "decimal",
        "greaterThanOrEqual",
        "0",
    )
    assert any(row[3].value < 0 for row in rows[1:]), "an example refund"
    assert all(isinstance(row[2].value, dt.datetime) for row in rows[1:])


def test_orders_settings_sheet_reads_back_as_the_defaults(built: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(built[build.ORDERS_TEMPLATE])
    rows = [list(row) for row in wb[settings.SHEET].iter_rows(values_only=True)]
    assert settings.settings_from_rows(rows) == (Params(), None)


def test_orders_settings_names_point_at_their_value_cells(built: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(built[build.ORDERS_TEMPLATE])
    for setting in settings.SETTINGS:
        cell = named_cell(wb, setting.name)
        assert cell.parent.title == settings.SHEET
        assert cell.column == settings.VALUE_COLUMN
        assert cell.parent.cell(row=cell.row, column=settings.LABEL_COLUMN).value == setting.label
        assert font_and_fill(cell)[0].endswith(INPUT.font.color.rgb[-6:])


def test_orders_settings_changed_in_the_workbook_are_read(built: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(built[build.ORDERS_TEMPLATE])
    named_cell(wb, "Margin").value = 0.42
    named_cell(wb, "AnalysisDate").value = dt.datetime(2024, 6, 30)
    named_cell(wb, "SegmentColumns").value = "Channel"
    rows = [list(row) for row in wb[settings.SHEET].iter_rows(values_only=True)]
    params, segments = settings.settings_from_rows(rows)
    assert (params.margin, params.as_of, segments) == (0.42, dt.date(2024, 6, 30), ("Channel",))


# The worksheet-function examples --------------------------------------------------------------
FORMULA = re.compile(r"^=([A-Z_]+)\(([A-Z0-9,$:]*)\)$")


@dataclass(frozen=True)
class Example:
    """One function's example on the sheet: the call, its cell, the library's values, the check."""

    name: str  # the Python name
    args: list[Any]  # a cell's value, or rows of values for a range
    result: Cell  # the formula (top left of an array formula)
    expected: list[list[Any]]  # what the library computed when the workbook was built
    check: Cell


def values_at(ws: Any, reference: str) -> Any:
    if ":" in reference:
        return [[cell.value for cell in row] for row in ws[reference]]
    return ws[reference].value


def through_the_add_in(func_name: str, args: list[Any]) -> list[list[Any]]:
    payload = {
        "func_name": func_name,
        "args": [value if isinstance(value, list) else [[value]] for value in args],
        "version": xw.__version__,
        "client": "Office.js",
        "runtime": "1.4",
    }
    return asyncio.run(server.custom_functions_call(payload, udfs))


def heading_below(ws: Any, cell: Cell, heading: str) -> int:
    """The row of the first ``heading`` below ``cell`` in its column."""
    row = cell.row + 1
    while ws.cell(row=row, column=cell.column).value != heading:
        row += 1
    return row


def function_examples(path: Path) -> list[Example]:
    """Every function's example: one cell beside its expected value and check, or a fit's array
    formula with the library's table and the check below it."""
    ws = openpyxl.load_workbook(path)[functions_workbook.FUNCTIONS_SHEET]
    found = []
    for row in ws.iter_rows():
        for cell in row:
            spill = cell.value if isinstance(cell.value, ArrayFormula) else None
            match = FORMULA.match(spill.text if spill else str(cell.value))
            if not match:
                continue
            name, references = match.groups()
            args = [values_at(ws, ref) for ref in references.split(",")]
            if spill is None:
                expected = [[ws.cell(row=cell.row, column=cell.column + 1).value]]
                check = ws.cell(row=cell.row, column=cell.column + 2)
            else:
                height, width = len(ws[spill.ref]), len(ws[spill.ref][0])
                top = heading_below(ws, cell, functions_workbook.EXPECTED) + 1
                expected = [
                    [ws.cell(row=top + i, column=cell.column + j).value for j in range(width)]
                    for i in range(height)
                ]
                check = ws.cell(
                    row=heading_below(ws, cell, functions_workbook.CHECK_HEADING) + 1,
                    column=cell.column,
                )
            found.append(Example(name.lower(), args, cell, expected, check))
    return found


def test_every_worksheet_function_has_an_example(built: dict[str, Path]) -> None:
    names = [example.name for example in function_examples(built[build.FUNCTIONS])]
    assert names == [f.__name__ for f in (*formulas.ALL, *model_formulas.ALL)]


def same_cell(got: Any, expected: Any) -> bool:
    if isinstance(got, float):
        return math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-12)
    return got == ("" if expected is None else expected)


def estimates_range(example: Example, top: int) -> str:
    """A fit table's estimates and std. errors (rows 2-3), with the table's first row at ``top``."""
    parameters = example.expected[0].index("log-likelihood") - 1
    first, last = example.result.column + 1, example.result.column + parameters
    return f"{get_column_letter(first)}{top + 1}:{get_column_letter(last)}{top + 2}"


def test_function_examples_through_the_add_in_equal_the_expected_values(
    built: dict[str, Path],
) -> None:
    for example in function_examples(built[build.FUNCTIONS]):
        got = through_the_add_in(example.name, example.args)
        shape = [len(row) for row in example.expected]
        assert [len(row) for row in got] == shape, f"{example.name} gave {got!r}"
        for got_row, expected_row in zip(got, example.expected, strict=True):
            for value, expected in zip(got_row, expected_row, strict=True):
                assert same_cell(value, expected), (example.name, value, expected)
        result = example.result.coordinate
        if shape == [1]:
            assert isinstance(got[0][0], float), example.name
            expected_cell = get_column_letter(example.result.column + 1) + str(example.result.row)
            assert example.check.value == f"=ABS({result}-{expected_cell})<1E-9"
        else:
            assert example.result.value.ref.startswith(f"{result}:")
            expected_top = example.check.row - 2 - len(example.expected)
            fitted = estimates_range(example, example.result.row)
            library = estimates_range(example, expected_top)
            assert example.check.value == (
                f"=SUMPRODUCT(ABS({fitted}-{library}))<={functions_workbook.FIT_TOLERANCE}"
                f"*SUMPRODUCT(ABS({library}))"
            )


@pytest.mark.parametrize(
    ("name", "args", "seed_value"),
    [
        ("clv", [200, 0.3, 0.06], 1000),  # seed 003
        ("customer_lifetime", [0.01], 100),  # seed 002
        ("monthly_revenue", [7, 60], 35),  # seed 003
        ("gross_margin", [60, 45], 0.25),  # seed 003
        ("markup", [60, 45], 1 / 3),  # seed 003
    ],
)
def test_function_examples_use_the_seed_articles(
    built: dict[str, Path], name: str, args: list[float], seed_value: float
) -> None:
    examples = {example.name: example for example in function_examples(built[build.FUNCTIONS])}
    assert examples[name].args == args
    assert examples[name].expected == [[pytest.approx(seed_value, rel=1e-12)]]


# Shared styles --------------------------------------------------------------------------------
def test_currency_formats() -> None:
    assert currency_format("€") == '"€"#,##0.00'
    assert currency_format("CHF", decimals=0) == '"CHF "#,##0'
    assert currency_symbol("eur") == "€"
    assert currency_symbol("SEK") == "SEK"
