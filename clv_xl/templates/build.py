"""The template workbooks for finance teams, built reproducibly into ``templates/``.

* ``clv_calculator.xlsx``: a CLV model for one customer segment in native Excel
  formulas (no add-in needed). Its formulas are the library's, written once as
  :class:`ExcelTwin` expressions next to the :mod:`clv_xl.functions.formulas` they mirror;
  its input checks come from the same :class:`~clv_xl.functions.arguments.Bound` declarations.
* ``orders_template.xlsx``: an ``Orders`` table to paste orders into, and the
  Settings sheet from :mod:`clv_xl.excel.settings`.
* ``clv_functions.xlsx``: every worksheet function with an example, its result
  through the add-in and the value the Python library computes.

``clv-xl templates build`` calls :func:`build_templates`. Every build of one
version gives the same bytes: the document dates are :data:`RELEASE_DATE`.

"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook

from clv_xl.report.style import (
    align_table_headings,
    fit_width_on_print,
    save_reproducibly,
)
from clv_xl.templates.calculator import calculator_workbook
from clv_xl.templates.functions_workbook import functions_workbook
from clv_xl.templates.orders_template import orders_workbook
from clv_xl.templates.shared import RELEASE_DATE

DEFAULT_OUT_DIR = Path(__file__).resolve().parents[2] / "templates"
CALCULATOR = "clv_calculator.xlsx"
ORDERS_TEMPLATE = "orders_template.xlsx"
FUNCTIONS = "clv_functions.xlsx"
SAMPLE_ORDERS = "sample_orders.xlsx"


def build_templates(out_dir: Path = DEFAULT_OUT_DIR) -> list[Path]:
    """Write every template workbook into ``out_dir``; returns their paths."""
    builders: dict[str, Callable[[], Workbook]] = {
        CALCULATOR: calculator_workbook,
        ORDERS_TEMPLATE: orders_workbook,
        FUNCTIONS: functions_workbook,
    }
    paths = [_save(build(), out_dir / name) for name, build in builders.items()]
    from clv_xl.templates.sample import (
        write_sample_orders,  # lazy: the demo data is only needed here
    )

    write_sample_orders(out_dir / SAMPLE_ORDERS)
    return [*paths, out_dir / SAMPLE_ORDERS]


def _save(wb: Workbook, path: Path) -> Path:
    for ws in wb.worksheets:  # as the report prints
        align_table_headings(ws)
        fit_width_on_print(ws)
    return save_reproducibly(wb, path, RELEASE_DATE)
