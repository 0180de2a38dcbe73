"""The Excel worksheet functions: thin xlwings shells over :mod:`clv_xl.functions.formulas`.

Excel sees each under the upper-case Python name (``=CLV(...)``). Every
argument takes a cell or a range; ranges broadcast like Excel arrays and spill
a result of the same shape. A bad cell (blank, text, error, out of range) gets
its own Excel error value and the other cells still compute; nothing raises
into Excel.

Classic xlwings on Windows: set ``UDF Modules`` to ``clv_xl.udfs`` and click
*Import Functions*. Office.js add-ins (xlwings Server / Lite) read the same
decorators.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import xlwings as xw
from xlwings.conversion import Accessor, Pipeline
from xlwings.conversion.standard import (
    CleanDataForWriteStage,
    CleanDataFromReadStage,
    Ensure2DStage,
    ReadValueFromRangeStage,
)

from clv_xl.collector import collector_paused
from clv_xl.errors import FormulaError
from clv_xl.functions import formulas, model_formulas
from clv_xl.functions.arguments import Grid, WorksheetFormula


class Cells(Accessor):
    """xlwings converter for numeric ranges that is fast in Office.js runtimes.

    xlwings' default converter visits every cell in Python, and in Office.js it
    attempts a failed ``pyodide`` import per cell (about 90 µs): 3 arguments of
    1,000,000 cells took minutes. The formulas read raw cells themselves (an error
    cell arrives as ``{"type": "Error", "basicValue": "#N/A"}``), and a result
    needs only its error cells (``Grid.error_cells``) turned into Office.js errors. Classic xlwings
    (COM) keeps xlwings' own cleaning.
    """

    @staticmethod
    def reader(options: dict[str, Any]) -> Pipeline:
        clean = CleanDataFromReadStage(options)

        def clean_unless_officejs(context: Any) -> None:
            if context.engine.impl.name != "officejs":
                clean(context)

        return (
            Pipeline()
            .append_stage(ReadValueFromRangeStage(options))
            .append_stage(clean_unless_officejs)
        )

    @staticmethod
    def writer(options: dict[str, Any]) -> Pipeline:
        clean = CleanDataForWriteStage(options)

        def errors_to_officejs(context: Any) -> None:
            if context.engine.impl.name != "officejs":
                clean(context)
                return
            grid, engine = context.value, context.engine.impl
            for i, j in grid.error_cells:
                grid[i][j] = engine.prepare_xl_data_element(grid[i][j], options)

        return Pipeline().prepend_stage(errors_to_officejs).prepend_stage(Ensure2DStage())


#: The worksheet functions' names, each added as it is made (what xlwings Lite imports).
__all__: list[str] = []


def worksheet_function(formula: WorksheetFormula) -> Callable[..., Grid]:
    """Wrap a formula as an xlwings worksheet function with the same name and arguments."""
    __all__.append(formula.__name__)

    def function(*args: Any) -> Grid:
        try:
            with collector_paused():  # a million result lists would set off full collections
                return formula.evaluate(*args).cells()
        except FormulaError as problem:
            return Grid.of_error(problem.excel_error)

    function.__name__ = function.__qualname__ = formula.__name__
    function.__doc__ = formula.summary
    function.__module__ = __name__
    function.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            p.replace(annotation=inspect.Parameter.empty)
            for p in formula.signature.parameters.values()
        ]
    )
    function = xw.ret(Cells)(xw.func(function))
    for name, spec in formula.args.items():
        # ndim=2 keeps a column a column; err_to_str passes error cells in as "#N/A" etc.
        function = xw.arg(name, Cells, ndim=2, err_to_str=True, doc=spec.doc)(function)
    return function


clv = worksheet_function(formulas.clv)
customer_lifetime = worksheet_function(formulas.customer_lifetime)
customer_value = worksheet_function(formulas.customer_value)
clv_from_lifetime = worksheet_function(formulas.clv_from_lifetime)
clv_discounted = worksheet_function(formulas.clv_discounted)
gross_margin = worksheet_function(formulas.gross_margin)
markup = worksheet_function(formulas.markup)
monthly_revenue = worksheet_function(formulas.monthly_revenue)
churn_rate = worksheet_function(formulas.churn_rate)
retention_rate = worksheet_function(formulas.retention_rate)
convert_rate = worksheet_function(formulas.convert_rate)
ltv_cac = worksheet_function(formulas.ltv_cac)
cac_payback = worksheet_function(formulas.cac_payback)
breakeven_lifetime = worksheet_function(formulas.breakeven_lifetime)
nrr = worksheet_function(formulas.nrr)
grr = worksheet_function(formulas.grr)

# The buy-till-you-die models: FIT functions spill a labelled table of estimates.
bgnbd_fit = worksheet_function(model_formulas.bgnbd_fit)
gg_fit = worksheet_function(model_formulas.gg_fit)
sbg_fit = worksheet_function(model_formulas.sbg_fit)
prob_alive = worksheet_function(model_formulas.prob_alive)
expected_purchases = worksheet_function(model_formulas.expected_purchases)
expected_spend = worksheet_function(model_formulas.expected_spend)
sbg_retention = worksheet_function(model_formulas.sbg_retention)
sbg_survival = worksheet_function(model_formulas.sbg_survival)
