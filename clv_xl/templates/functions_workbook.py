"""``clv_functions.xlsx``: every worksheet function with an example, its result through the
add-in and the value the Python library computes, and the model fits on simulated data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl.functions import formulas, model_formulas
from clv_xl.functions.arguments import Formula, WorksheetFormula
from clv_xl.functions.model_formulas import ModelFit
from clv_xl.models.simulate import simulate_bg_nbd, simulate_spend
from clv_xl.report.style import (
    CALCULATION,
    CHECK,
    INPUT,
    NOTE,
    OUTPUT,
    SECTION,
    add_note,
    write_about_sheet,
    write_header,
    write_heading,
)
from clv_xl.templates.shared import (
    version_rows,
)

FUNCTIONS_SHEET = "Functions"
#: One example per worksheet function, in argument order; seed-article examples where they exist.
FUNCTION_EXAMPLES: dict[str, tuple[Any, ...]] = {
    "clv": (200, 0.3, 0.06),
    "customer_lifetime": (0.01,),
    "customer_value": (60, 7),
    "clv_from_lifetime": (420, 4),
    "clv_discounted": (60, 0.8, 0.1, None, 100, 5, "begin"),
    "gross_margin": (60, 45),
    "markup": (60, 45),
    "monthly_revenue": (7, 60),
    "churn_rate": (1000, 60),
    "retention_rate": (1000, 60),
    "convert_rate": (0.05, 1, 12),
    "ltv_cac": (1000, 300),
    "cac_payback": (300, 200, 0.3),
    "breakeven_lifetime": (300, 60, 10),
    "nrr": (100_000, 15_000, 5_000, 8_000),
    "grr": (100_000, 5_000, 8_000),
    # The model predictions use published estimates: BG/NBD on CDNOW (Fader, Hardie & Lee
    # 2005: r 0.243, alpha 4.414, a 0.793, b 2.426) for its first customer (2 repeat
    # purchases, the last in week 30.43, first purchase 38.86 weeks ago: 1.226 purchases
    # expected in the next 39 weeks), Gamma-Gamma on CDNOW (Fader & Hardie 2013: p 6.25,
    # q 3.74, gamma 15.44) and sBG on the "regular" customers (Fader & Hardie 2007).
    "prob_alive": (2, 30.43, 38.86, 0.243, 4.414, 0.793, 2.426),
    "expected_purchases": (39, 2, 30.43, 38.86, 0.243, 4.414, 0.793, 2.426),
    "expected_spend": (2, 22.35, 6.25, 3.74, 15.44),
    "sbg_retention": (3, 0.704, 1.182),
    "sbg_survival": (3, 0.704, 1.182),
}
#: The fit examples' customers: simulated from these BG/NBD and Gamma-Gamma parameters, first
#: purchases 20 to 52 weeks ago, times rounded to hundredths of a week and spend to cents.
FIT_CUSTOMERS = 30
FIT_SEED = 3
FIT_WEEKS = (20.0, 52.0)
SIMULATED_BG_NBD = {"r": 0.8, "alpha": 4.0, "a": 0.8, "b": 2.5}
SIMULATED_SPEND = {"p": 6.0, "q": 4.0, "gamma": 15.0}
#: Fader & Hardie (2007), Table 1: "regular" customers still active after 0..7 years.
REGULAR_SURVIVORS = (1000, 631, 468, 382, 326, 289, 262, 241)


def fit_examples() -> dict[str, dict[str, list[float]]]:
    """The data columns of each fit example, by function and argument name."""
    rng = np.random.default_rng(FIT_SEED)
    age = np.round(rng.uniform(*FIT_WEEKS, FIT_CUSTOMERS), 2)
    history = simulate_bg_nbd(**SIMULATED_BG_NBD, T=age, seed=FIT_SEED)
    frequency = history["frequency"].to_numpy().astype(int)
    spend = simulate_spend(**SIMULATED_SPEND, frequency=frequency, seed=FIT_SEED)
    return {
        "bgnbd_fit": {
            "frequency": frequency.tolist(),
            "recency": np.round(history["recency"].to_numpy(), 2).tolist(),
            "T": age.tolist(),
        },
        "gg_fit": {"frequency": frequency.tolist(), "monetary_value": np.round(spend, 2).tolist()},
        "sbg_fit": {"survivors": list(REGULAR_SURVIVORS)},
    }


FUNCTIONS_FIRST_ROW = 5
RESULT, EXPECTED, CHECK_HEADING = "Result (add-in)", "Expected (Python library)", "Check"
#: Largest difference between the add-in's result and the library's value that still passes.
TOLERANCE = "1E-9"
#: Largest relative difference between a fit's estimates and the library's that still passes:
#: the standard errors come from a numerical Hessian, whose sixth digit differs from one
#: processor to another.
FIT_TOLERANCE = "1E-4"
MODELS_HEADING = "Buy-till-you-die models: fit to the data on the left, then predict"


def excel_name(formula: WorksheetFormula) -> str:
    """The name Excel shows a worksheet function under: the upper-case Python name."""
    return formula.__name__.upper()


def functions_workbook() -> Workbook:
    """Every worksheet function with an example: the add-in's result next to the library's."""
    wb = Workbook()
    ws = wb.active
    ws.title = FUNCTIONS_SHEET
    write_heading(
        ws,
        "The CLV worksheet functions, with examples",
        "Needs the clv_xl add-in (without it the Result column shows #NAME?). "
        "Check is TRUE when the add-in's result equals the value the Python library "
        "computed when this workbook was built. Change the blue inputs to try other values.",
    )
    row = FUNCTIONS_FIRST_ROW
    for formula in formulas.ALL:
        _write_function(ws, row, formula, FUNCTION_EXAMPLES[formula.__name__])
        row += 3
    SECTION.apply(ws.cell(row=row, column=1, value=MODELS_HEADING))
    row += 2
    fits = fit_examples()
    for function in model_formulas.ALL:
        if isinstance(function, ModelFit):
            row = _write_fit(ws, row, function, fits[function.__name__])
        else:
            _write_function(ws, row, function, FUNCTION_EXAMPLES[function.__name__])
            row += 3
    for column in range(1, ws.max_column + 1):
        ws.column_dimensions[get_column_letter(column)].width = 26
    write_about_sheet(
        wb,
        "CLV worksheet functions: examples",
        [
            *version_rows(),
            (
                "Needs",
                "The clv_xl add-in; each function is =NAME(...) with its Python name in capitals.",
            ),
            (
                "Layout",
                "Per function: a row of argument names (notes explain each), then the "
                "example inputs, the formula, the library's value, the check and a summary. "
                "The model fits take columns of data and spill a table (an array formula); "
                "below it the library's table and the check of the estimates.",
            ),
        ],
    )
    return wb


def _write_function(ws: Worksheet, row: int, formula: Formula, example: tuple[Any, ...]) -> None:
    """Two rows: the headings (argument names), then example, formula, value, check, summary."""
    names = list(formula.args)
    write_header(ws, row, [excel_name(formula), *names, RESULT, EXPECTED, CHECK_HEADING])
    for column, name in enumerate(names, start=2):
        add_note(ws.cell(row=row, column=column), formula.args[name].doc)
    values = row + 1
    cells = []
    for column, value in enumerate(example, start=2):
        cell = INPUT.apply(ws.cell(row=values, column=column, value=value))
        cells.append(cell.coordinate)
    result_column = 2 + len(names)
    result = ws.cell(row=values, column=result_column)
    expected = ws.cell(row=values, column=result_column + 1)
    check = ws.cell(row=values, column=result_column + 2)
    NOTE.apply(ws.cell(row=values, column=result_column + 3, value=formula.summary))
    OUTPUT.apply(result, "#,##0.000000").value = f"={excel_name(formula)}({','.join(cells)})"
    CALCULATION.apply(expected, "#,##0.000000").value = formula(*example)
    CHECK.apply(check).value = f"=ABS({result.coordinate}-{expected.coordinate})<{TOLERANCE}"


def _write_fit(ws: Worksheet, row: int, fit: ModelFit, columns: dict[str, list[float]]) -> int:
    """The data columns under their names; beside them the fit's table (an array formula),
    the library's table below it and the check of the estimates. Returns the next free row."""
    names = list(fit.args)
    write_header(ws, row, [excel_name(fit), *names])
    ranges = []
    for column, name in enumerate(names, start=2):
        add_note(ws.cell(row=row, column=column), fit.args[name].doc)
        for offset, value in enumerate(columns[name], start=1):
            INPUT.apply(ws.cell(row=row + offset, column=column, value=value))
        letter = get_column_letter(column)
        ranges.append(f"{letter}{row + 1}:{letter}{row + len(columns[name])}")
    table = fit(*columns.values()).rows
    left = len(names) + 3
    result_top, expected_top = row + 1, row + len(table) + 3
    check_row = expected_top + len(table) + 1
    write_header(ws, row, [RESULT], first_column=left)
    write_header(ws, expected_top - 1, [EXPECTED], first_column=left)
    write_header(ws, check_row, [CHECK_HEADING], first_column=left)
    for i, values in enumerate(table):
        for j, value in enumerate(values):
            number_format = "#,##0.000000" if isinstance(value, float) else None
            OUTPUT.apply(ws.cell(row=result_top + i, column=left + j), number_format)
            expected = ws.cell(
                row=expected_top + i, column=left + j, value=None if value == "" else value
            )
            CALCULATION.apply(expected, number_format)
    bottom_right = _coordinate(result_top + len(table) - 1, left + len(table[0]) - 1)
    spill = f"{_coordinate(result_top, left)}:{bottom_right}"
    ws.cell(row=result_top, column=left).value = ArrayFormula(
        spill, f"={excel_name(fit)}({','.join(ranges)})"
    )
    got, wanted = (_estimates(table, top, left) for top in (result_top, expected_top))
    CHECK.apply(
        ws.cell(row=check_row + 1, column=left)
    ).value = f"=SUMPRODUCT(ABS({got}-{wanted}))<={FIT_TOLERANCE}*SUMPRODUCT(ABS({wanted}))"
    NOTE.apply(ws.cell(row=check_row + 2, column=left, value=fit.summary))
    return max(row + len(next(iter(columns.values()))), check_row + 2) + 2


def _coordinate(row: int, column: int) -> str:
    return f"{get_column_letter(column)}{row}"


def _estimates(table: list[list[Any]], top: int, left: int) -> str:
    """The range of a fit table's estimates and standard errors, with the table at (top, left)."""
    parameters = table[0].index(model_formulas.LOG_LIKELIHOOD) - 1
    return f"{_coordinate(top + 1, left + 1)}:{_coordinate(top + 2, left + parameters)}"
