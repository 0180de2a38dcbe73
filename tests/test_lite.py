"""clv_xl in xlwings Lite: the wheel, the entry points without native packages, the
worksheet functions through main.py, and the report script through xlwings' remote Book."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import openpyxl
import pytest
import python_calamine
import xlwings as xw
from xlwings import server

from clv_xl import lite, udfs
from clv_xl.cli import main as cli
from clv_xl.excel import book_report

ROOT = Path(__file__).parents[1]
SAMPLE = ROOT / "templates" / "sample_orders.xlsx"
MAIN_PY = ROOT / "templates" / "lite" / "main.py"
REPORT_SHEETS = [
    "CLV Summary", "CLV Sensitivity", "CLV Segments", "CLV CAC", "CLV Cohorts",
    "CLV Customers", "CLV Charts", "CLV Model", "CLV Data quality", "CLV About",
]  # fmt: skip
#: Requirements Pyodide provides (built or pure Python; pyarrow has a recipe in
#: pyodide/pyodide-recipes); xlwings Lite brings its own xlwings.
IN_PYODIDE = {"xlwings", "openpyxl", "pandas", "numpy", "scipy", "pyarrow"}
NOT_IN_LITE = "sys_platform != 'emscripten'"


def js(value: Any) -> Any:
    """A cell value as Office.js sends it: dates as ISO strings."""
    if isinstance(value, dt.datetime | dt.date):
        return f"{value:%Y-%m-%d}T00:00:00.000Z"
    return value


def sheet(name: str, values: list[list[Any]]) -> dict[str, Any]:
    return {"name": name, "values": [[js(v) for v in row] for row in values], "pictures": [],
            "tables": [], "charts": []}  # fmt: skip


def book(*sheets: dict[str, Any], names: list[dict[str, Any]] | None = None) -> xw.Book:
    return xw.Book(
        json={
            "client": "Office.js",
            "version": xw.__version__,
            "book": {"name": "Sales.xlsx", "active_sheet_index": 0, "selection": "A1"},
            "names": names or [],
            "sheets": list(sheets),
        }
    )


def book_name(name: str, refers_to: str) -> dict[str, Any]:
    """A workbook-scoped defined name as Office.js sends it."""
    return {"name": name, "refers_to": refers_to, "book_scope": True, "sheet_index": None,
            "address": None, "scope_sheet_name": None, "scope_sheet_index": None}  # fmt: skip


def run(remote: xw.Book) -> list[dict[str, Any]]:
    """Click the task-pane button; the actions it sends to Excel."""
    asyncio.run(
        server.custom_scripts_call(lite, "clv_report_sheets", typehint_to_value={xw.Book: remote})
    )
    return remote.json()["actions"]


def written(actions: list[dict[str, Any]]) -> dict[str, list[list[Any]]]:
    """The values each added sheet received, as Excel shows them (text prefix dropped)."""
    added = [a["args"][1] for a in actions if a["func"] == "addSheet"]
    first = min(a["args"][0] for a in actions if a["func"] == "addSheet")
    grids = {}
    for action in actions:
        if action["func"] == "setValues" and action["sheet_position"] >= first:
            grids[added[action["sheet_position"] - first]] = [
                [shown(v) for v in row] for row in action["values"]
            ]
    return grids


def shown(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(book_report.TEXT_PREFIX):
        return value[1:]
    return None if value == "" else value


@pytest.fixture(scope="module")
def sample_values() -> list[list[Any]]:
    workbook = python_calamine.CalamineWorkbook.from_path(SAMPLE)
    return workbook.get_sheet_by_name("Orders").to_python()


@pytest.fixture(scope="module")
def file_report(tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("report") / "report.xlsx"
    assert cli(["report", str(SAMPLE), "-o", str(path), "-q"]) == 0
    return openpyxl.load_workbook(path)


@pytest.fixture(scope="module")
def first_run(sample_values: list[list[Any]]) -> list[dict[str, Any]]:
    return run(book(sheet("Orders", sample_values), sheet("Notes", [["Plan"]])))


# --- the wheel and the entry points ------------------------------------------------------------


def test_the_wheel_is_pure_python_and_marks_native_dependencies(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("clv_xl-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert not [n for n in names if n.endswith((".so", ".pyd", ".dylib"))]
    requirements = [
        line.removeprefix("Requires-Dist: ")
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist: ") and "extra ==" not in line
    ]
    assert 'python-calamine>=0.2; sys_platform != "emscripten"' in requirements
    assert 'fastexcel>=0.21; sys_platform != "emscripten"' in requirements
    for requirement in requirements:
        name = requirement.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip()
        marked = NOT_IN_LITE.replace("'", '"') in requirement
        assert name in IN_PYODIDE or marked, f"{requirement} has no Pyodide build: mark it"


def test_the_lite_entry_points_need_no_native_package_and_start_no_thread() -> None:
    """In a fresh interpreter with python-calamine and fastexcel unimportable and threads
    unable to start (as in Pyodide), main.py imports and the button writes the report."""
    program = f"""
import asyncio, json, os, sys, threading
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"
for native in ("python_calamine", "fastexcel"):
    sys.modules[native] = None  # import raises ImportError
def no_thread(self):
    raise RuntimeError("can't start new thread")
threading.Thread.start = no_thread
import types
import xlwings as xw
from xlwings import server
main = types.ModuleType("main")
exec(compile(open({str(MAIN_PY)!r}).read(), "main.py", "exec"), main.__dict__)
orders = [["Customer", "Order date", "Amount", "Channel"]] + [
    [f"C{{i % 40}}", f"2024-{{1 + i % 12:02d}}-{{1 + i % 28:02d}}T00:00:00.000Z", 10 + i, "Web"]
    for i in range(400)
]
remote = xw.Book(json={{"client": "Office.js", "version": xw.__version__,
    "book": {{"name": "x.xlsx", "active_sheet_index": 0, "selection": "A1"}}, "names": [],
    "sheets": [{{"name": "Orders", "values": orders, "pictures": [], "tables": []}}]}})
click = server.custom_scripts_call(main, "clv_report_sheets", typehint_to_value={{xw.Book: remote}})
asyncio.run(click)
print(json.dumps([a["args"] for a in remote.json()["actions"] if a["func"] == "alert"]))
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT
    )
    alerts = json.loads(done.stdout.splitlines()[-1])
    assert alerts[0][0] == "The CLV report is in the sheets CLV Summary to CLV About."


# --- the worksheet functions -------------------------------------------------------------------


def main_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lite_main", MAIN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_main_py_registers_every_worksheet_function_with_its_help() -> None:
    assert server.custom_functions_meta(main_py()) == server.custom_functions_meta(udfs)
    names = {f["name"] for f in server.custom_functions_meta(main_py())["functions"]}
    assert {"CLV", "BGNBD_FIT", "SBG_SURVIVAL"} <= names


def test_main_py_registers_the_report_button() -> None:
    scripts = server.custom_scripts_meta(main_py())
    assert [s["function_name"] for s in scripts] == ["clv_report_sheets"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([[[200]], [[0.3]], [[0.06]]], [[pytest.approx(1000.0)]]),
        ([[[200]], [[0.3]], [[0]]], [[{"type": "Error", "errorType": "Div0"}]]),
        ([[[200]], [[0.3]], [[6]]], [[{"type": "Error", "errorType": "Num"}]]),
    ],
)
def test_main_py_functions_answer_with_real_error_values(args: list, expected: list) -> None:
    payload = {"func_name": "clv", "args": args, "version": xw.__version__,
               "client": "Office.js", "runtime": "1.4"}  # fmt: skip
    assert asyncio.run(server.custom_functions_call(payload, main_py())) == expected


# --- the report script -------------------------------------------------------------------------


def test_the_script_adds_the_report_sheets_after_the_others(first_run: list) -> None:
    assert [a["args"][1] for a in first_run if a["func"] == "addSheet"] == REPORT_SHEETS
    assert [a["args"][0] for a in first_run if a["func"] == "addSheet"] == list(
        range(2, 2 + len(REPORT_SHEETS))
    )
    alerts = [a["args"][0] for a in first_run if a["func"] == "alert"]
    assert alerts == ["The CLV report is in the sheets CLV Summary to CLV About."]


def test_the_orders_and_other_sheets_are_not_touched(first_run: list) -> None:
    positions = {a["sheet_position"] for a in first_run} - {None}
    assert positions and min(positions) == 2  # Orders is 0, Notes 1
    assert not [a for a in first_run if a["func"] in ("sheetDelete", "nameDelete")]


@pytest.mark.parametrize("name", ["Summary", "Segments", "Cohorts", "Customers", "Data quality"])
def test_the_sheets_show_the_command_line_reports_figures(
    first_run: list, file_report: openpyxl.Workbook, name: str
) -> None:
    grid = written(first_run)[book_report.report_sheet(name)]
    expected = [list(row) for row in file_report[name].iter_rows(values_only=True)]
    assert len(grid) == len(expected)
    for got_row, want_row in zip(grid, expected, strict=True):
        assert [as_compared(v) for v in got_row] == [as_compared(v) for v in want_row], name


def as_compared(value: Any) -> Any:
    """The file's and the Book's cell values on one footing: dates as ISO text, numbers
    with a tolerance."""
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time(0) else value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-12, abs=1e-12)
    return value


def test_the_defined_names_point_at_the_report_sheets(
    first_run: list, file_report: openpyxl.Workbook
) -> None:
    added = {a["args"][0]: a["args"][1] for a in first_run if a["func"] == "namesAdd"}
    for name, defined in file_report.defined_names.items():
        sheet_name, ref = next(iter(defined.destinations))
        assert added[name] == f"='{book_report.report_sheet(sheet_name)}'!{ref}"
    summary = written(first_run)["CLV Summary"]
    margin_row = int(added["Margin"].split("$")[-1])
    assert summary[margin_row - 1][0] == "Gross margin (% of revenue)"
    clv_row = int(added["CLV"].split("$")[-1])
    assert summary[clv_row - 1][1] == '=IF(ISNUMBER(ChurnRate),ARPU*Margin/ChurnRate,"")'


def test_segments_customers_and_cohorts_are_excel_tables(
    first_run: list, file_report: openpyxl.Workbook
) -> None:
    tables = {
        a["args"][3]: a["args"][0].replace("$", "") for a in first_run if a["func"] == "addTable"
    }
    expected = {t: ws.tables[t].ref for ws in file_report.worksheets for t in ws.tables}
    assert {name: tables[name] for name in expected} == expected
    cohorts = file_report["Cohorts"]
    months = [c.value for c in cohorts["A"] if isinstance(c.value, str) and c.value[:2] == "20"]
    for name in ("Cohorts_1", "Cohorts_2"):  # acquisition month x months since first order
        top_left, bottom_right = tables[name].split(":")
        top = int(top_left[1:])
        assert cohorts[top_left].value == "Acquisition month"
        assert int(bottom_right.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - top == len(months) // 2
        last_column = bottom_right.rstrip("0123456789")
        assert cohorts[f"{last_column}{top}"].value == f"Month {cohorts.max_column - 3}"
    assert len(tables) == len(expected) + 2


def test_the_heat_maps_are_colour_scales(first_run: list, file_report: openpyxl.Workbook) -> None:
    scales = [a for a in first_run if a["func"] == "addConditionalFormat"]
    expected = [
        str(address)
        for ws in file_report.worksheets
        for formatting in ws.conditional_formatting
        for address in formatting.sqref.ranges
    ]
    assert len(scales) == len(expected) == 9  # a CLV column per segment table, two cohorts
    targets = [(a["sheet_position"], a["start_row"], a["start_column"]) for a in scales]
    assert len(set(targets)) == len(targets)


def test_charts_are_native(first_run: list, file_report: openpyxl.Workbook) -> None:
    charts = [a for a in first_run if a["func"] == "addChart"]
    assert len(charts) == 8  # a bar chart per dimension, shares, two curves, the model check
    channel = next(a for a in first_run if a["func"] == "setChartTitle"
                   and a["args"][1].startswith("CLV of a new customer by channel"))  # fmt: skip
    chart = charts[channel["args"][0]]
    sheet_name, address = chart["args"][2], chart["args"][3]
    grids = written(first_run)
    top_left = address.split(":")[0].replace("$", "")
    row = int("".join(c for c in top_left if c.isdigit()))
    column = openpyxl.utils.column_index_from_string(top_left.rstrip("0123456789")) - 1
    header_link = grids[sheet_name][row - 1][column]
    segments = grids["CLV Segments"]

    def target(link: str) -> Any:
        ref = link.split("!")[1].replace("$", "")
        cell_row = int("".join(c for c in ref if c.isdigit()))
        cell_column = openpyxl.utils.column_index_from_string(ref.rstrip("0123456789"))
        return segments[cell_row - 1][cell_column - 1]

    assert target(header_link) == "CLV of a new customer"
    bottom = int("".join(c for c in address.split(":")[1] if c.isdigit()))
    categories = [target(r[column - 1]) for r in grids[sheet_name][row:bottom]]
    channels = {r[0] for r in file_report["Segments"].iter_rows(values_only=True)}
    assert categories and set(categories) <= channels


#: A cell's look, as a set of (property, value): the properties the Book API sets.
Look = frozenset[tuple[str, Any]]


def book_looks(actions: list[dict[str, Any]]) -> dict[str, dict[tuple[int, int], Look]]:
    """Each added sheet's cells (row, column from 1) as the format actions leave them."""
    added = [a["args"][1] for a in actions if a["func"] == "addSheet"]
    first = min(a["args"][0] for a in actions if a["func"] == "addSheet")
    looks: dict[str, dict[tuple[int, int], dict[str, Any]]] = {}
    for action in actions:
        change = _format_change(action["func"], action["args"])
        if change is None or action["sheet_position"] < first:
            continue
        cells = looks.setdefault(added[action["sheet_position"] - first], {})
        top, left = action["start_row"] + 1, action["start_column"] + 1
        for row in range(top, top + action["row_count"]):
            for column in range(left, left + action["column_count"]):
                look = cells.setdefault((row, column), {})
                name, value = change
                look[name] = look.get(name, 0) + value if name == "indent" else value
    return {
        name: {place: frozenset(look.items()) for place, look in cells.items()}
        for name, cells in looks.items()
    }


def _format_change(func: str, args: list[Any]) -> tuple[str, Any] | None:
    if func == "setNumberFormat":
        return "number_format", args[0]
    if func == "setRangeColor":
        return "fill", args[0].upper()
    if func == "setFontProperty":
        return args[0], args[1].upper() if args[0] == "color" else args[1]
    if func == "setHorizontalAlignment":
        return "horizontal", args[0].lower()
    if func == "setVerticalAlignment":
        return "vertical", args[0].lower()
    if func == "rangeAdjustIndent":
        return "indent", args[0]
    if func == "setWrapText":
        return "wrap", args[0]
    return None


def file_looks(ws: Any) -> dict[tuple[int, int], Look]:
    """The file report's cells as the same properties (the font's name aside), where they
    differ from Excel's defaults (a theme's colour is the default's)."""
    looks = {}
    for row in ws.iter_rows():
        for cell in row:
            font, alignment = cell.font, cell.alignment
            look = {
                "number_format": cell.number_format if cell.number_format != "General" else None,
                "fill": "#" + cell.fill.fgColor.rgb[-6:].upper()
                if cell.fill.fill_type == "solid" else None,
                "bold": True if font.b else None,
                "italic": True if font.i else None,
                "size": float(font.sz) if font.sz and float(font.sz) != 11 else None,
                "color": "#" + font.color.rgb[-6:].upper()
                if font.color is not None and isinstance(font.color.rgb, str) else None,
                "horizontal": alignment.horizontal
                if alignment.horizontal not in (None, "general") else None,
                "vertical": alignment.vertical
                if alignment.vertical not in (None, "bottom") else None,
                "indent": int(alignment.indent) if alignment.indent else None,
                "wrap": True if alignment.wrap_text else None,
            }  # fmt: skip
            if found := frozenset((k, v) for k, v in look.items() if v is not None):
                looks[(cell.row, cell.column)] = found
    return looks


@pytest.fixture(scope="module")
def first_run_looks(first_run: list) -> dict[str, dict[tuple[int, int], Look]]:
    return book_looks(first_run)


@pytest.mark.parametrize("name", [name.removeprefix(book_report.PREFIX) for name in REPORT_SHEETS])
def test_every_cell_looks_as_in_the_file_report(
    first_run_looks: dict[str, dict[tuple[int, int], Look]],
    file_report: openpyxl.Workbook,
    name: str,
) -> None:
    """Number formats, fills, fonts and alignment (horizontal, vertical, indent, wrapping),
    cell by cell; the charts' data copied beside a sheet's cells are left aside."""
    ws = file_report[name]
    book = first_run_looks.get(book_report.report_sheet(name), {})
    expected = file_looks(ws)
    assert expected, name
    rows, columns = ws.max_row, ws.max_column  # openpyxl counts them on each call
    places = set(expected) | {place for place in book if place[0] <= rows and place[1] <= columns}
    differing = sorted(place for place in places if book.get(place) != expected.get(place))
    shown = [(place, book.get(place), expected.get(place)) for place in differing[:3]]
    assert not differing, f"{name}: {len(differing)} cells differ, such as {shown}"


def test_text_from_the_data_is_never_a_formula(sample_values: list[list[Any]]) -> None:
    orders = [list(row) for row in sample_values[:400]]
    orders[1][orders[0].index("Customer ID")] = '=HYPERLINK("http://example.com","x")'
    orders[2][orders[0].index("Channel")] = "+31 shop"
    actions = run(book(sheet("Orders", orders)))
    values = [v for a in actions if a["func"] == "setValues" for row in a["values"] for v in row]
    assert "'" + orders[1][1] in values and "'+31 shop" in values
    formulas = {v for v in values if isinstance(v, str) and v.startswith(("=", "+", "-"))}
    assert all(not f.startswith(("=HYPERLINK", "+")) for f in formulas)


def test_a_second_run_replaces_only_the_report_sheets_and_names(first_run: list) -> None:
    names = [book_name(a["args"][0], a["args"][1]) for a in first_run if a["func"] == "namesAdd"]
    names.append(book_name("Budget", "='Notes'!$A$1"))
    orders = [["Customer", "Order date", "Amount"]] + [
        [f"C{i % 30}", dt.datetime(2024, 1 + i % 12, 1 + i % 28), 5.0 + i] for i in range(300)
    ]
    stale = [sheet(name, [["old"]]) for name in REPORT_SHEETS]
    remote = book(sheet("Orders", orders), sheet("Notes", [["Plan"]]), *stale, names=names)
    actions = run(remote)
    deleted = [a["args"][0] for a in actions if a["func"] == "nameDelete"]
    assert sorted(deleted) == sorted(n["name"] for n in names if n["name"] != "Budget")
    assert [a["sheet_position"] for a in actions if a["func"] == "sheetDelete"] == [2] * len(
        REPORT_SHEETS
    )
    assert [s.name for s in remote.sheets] == ["Orders", "Notes", *REPORT_SHEETS]
    assert "Budget" in [n.name for n in remote.names]
    touched = {a["sheet_position"] for a in actions if a["func"] != "sheetDelete"} - {None}
    assert min(touched) == 2


def test_a_book_without_orders_gets_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    actions = run(book(sheet("Budget", [["Month", "Cost"], ["Jan", 10]])))
    assert [a["func"] for a in actions] == ["alert"]
    message = actions[0]["args"][0]
    assert message.startswith("No orders found in Sales.xlsx") and message.count(". ") <= 1
    assert capsys.readouterr().out.strip() == message  # the task pane


def test_bad_settings_name_the_cell_and_change_nothing(sample_values: list[list[Any]]) -> None:
    settings = sheet("Settings", [["Setting", "Value"], ["Gross margin", 7]])
    actions = run(book(sheet("Orders", sample_values[:100]), settings))
    assert [a["func"] for a in actions] == ["alert"]
    assert "Settings!B2" in actions[0]["args"][0]


def test_a_name_of_the_users_own_is_not_replaced(sample_values: list[list[Any]]) -> None:
    remote = book(
        sheet("Orders", sample_values[:100]), sheet("Notes", [[1]]),
        names=[book_name("Revenue", "='Notes'!$A$1")],
    )  # fmt: skip
    actions = run(remote)
    assert [a["func"] for a in actions] == ["alert"]
    assert "already has a defined name 'Revenue'" in actions[0]["args"][0]


def test_a_failure_half_way_sends_nothing(
    sample_values: list[list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def failing(sheet: xw.Sheet, planned: book_report.SheetCopy) -> None:
        calls.append(planned.name)
        if len(calls) == 3:
            raise OSError("disk full")
        sheet.range("A1").value = planned.cells

    monkeypatch.setattr(book_report, "_write_sheet", failing)
    actions = run(book(sheet("Orders", sample_values[:100])))
    assert len(calls) == 3
    assert [a["func"] for a in actions] == ["alert"]
    assert "failed unexpectedly (OSError: disk full)" in actions[0]["args"][0]


def test_blocks_cover_exactly_the_marked_cells() -> None:
    marks = {(r, c): "0%" for r in range(2, 6) for c in (1, 2)} | {(3, 3): "0%", (9, 1): "0.0"}
    found = book_report.blocks(marks)
    covered = {
        (r, c): b.value
        for b in found
        for r in range(b.top, b.bottom + 1)
        for c in range(b.left, b.right + 1)
    }
    assert covered == marks
    assert len(found) == 4  # A2:B2, A3:C3, A4:B5, A9
    assert "A4:B5" in [b.address for b in found]


def test_the_settings_sheet_sets_the_parameters(sample_values: list[list[Any]]) -> None:
    settings = [["Setting", "Value"], ["Gross margin", 0.5], ["Segment columns", "Channel"]]
    actions = run(book(sheet("Orders", sample_values[:300]), sheet("Settings", settings)))
    margin = next(
        a["args"][1] for a in actions if a["func"] == "namesAdd" and a["args"][0] == "Margin"
    )
    summary = written(actions)["CLV Summary"]
    assert summary[int(margin.split("$")[-1]) - 1][1] == 0.5
    sections = [
        row[0] for row in written(actions)["CLV Segments"] if row[0] in ("Channel", "Country")
    ]
    assert sections == ["Channel"]


def test_orders_on_a_sheet_named_like_the_reports_are_never_replaced(
    sample_values: list[list[Any]],
) -> None:
    actions = run(book(sheet("CLV Customers", sample_values[:100])))
    assert [a["func"] for a in actions] == ["alert"]
    assert "rename the orders sheet" in actions[0]["args"][0]
