"""The Excel worksheet functions: thin xlwings shells over :mod:`clv_xl.formulas`.

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

from . import formulas
from .arguments import Formula
from .errors import FormulaError


def worksheet_function(formula: Formula) -> Callable[..., list[list[Any]]]:
    """Wrap a formula as an xlwings worksheet function with the same name and arguments."""

    def function(*args: Any) -> list[list[Any]]:
        try:
            return formula.evaluate(*args).cells()
        except FormulaError as problem:
            return [[problem.excel_error]]

    function.__name__ = function.__qualname__ = formula.__name__
    function.__doc__ = formula.summary
    function.__module__ = __name__
    function.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [p.replace(annotation=inspect.Parameter.empty) for p in formula.signature.parameters.values()]
    )
    function = xw.func(function)
    for name, spec in formula.args.items():
        # ndim=2 keeps a column a column; err_to_str passes error cells in as "#N/A" etc.
        function = xw.arg(name, ndim=2, err_to_str=True, doc=spec.doc)(function)
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
