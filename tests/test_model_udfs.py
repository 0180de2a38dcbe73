"""The buy-till-you-die worksheet functions, through xlwings' Office.js machinery.

Fits are held to the estimates published for the CDNOW data and the sBG survival tables,
and to the models fitted directly; predictions to their closed forms written out here and
to the models' own predictions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import openpyxl
import pandas as pd
import pytest
from libreoffice import recalculate
from openpyxl.worksheet.formula import ArrayFormula
from scipy.special import betaln
from test_templates import function_examples, through_the_add_in
from test_udfs import call, error
from xlwings import server

import clv_xl.udfs as udfs
from clv_xl.errors import FormulaError
from clv_xl.functions import model_formulas
from clv_xl.models import BetaGeo, GammaGamma, ShiftedBetaGeo
from clv_xl.templates import build, functions_workbook

CDNOW = Path(__file__).parent / "data" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"
MODEL_NAMES = {
    "BGNBD_FIT", "GG_FIT", "SBG_FIT", "PROB_ALIVE", "EXPECTED_PURCHASES", "EXPECTED_SPEND",
    "SBG_RETENTION", "SBG_SURVIVAL",
}  # fmt: skip
#: Published estimates: Fader, Hardie & Lee (2005) BG/NBD and Fader & Hardie (2013)
#: Gamma-Gamma on CDNOW; Fader & Hardie (2007) sBG on the "regular" customers.
BG_NBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
SBG = {"alpha": 0.704, "beta": 1.182}
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
VALUE, NUM, DIV0 = error("Value"), error("Num"), error("Div0")


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(CDNOW)


def column(values: Any) -> list[list[Any]]:
    """A one-column range as Office.js sends it."""
    return [[value] for value in values]


def numbers(grid: list[list[Any]]) -> np.ndarray:
    return np.array([row[0] for row in grid], dtype=float)


class TestMeta:
    by_name: ClassVar[dict] = {
        fn["name"]: fn for fn in server.custom_functions_meta(udfs)["functions"]
    }

    def test_the_model_functions_are_listed(self):
        assert set(self.by_name) >= MODEL_NAMES
        assert [f.__name__.upper() for f in model_formulas.ALL] == [
            "BGNBD_FIT", "PROB_ALIVE", "EXPECTED_PURCHASES", "GG_FIT", "EXPECTED_SPEND",
            "SBG_FIT", "SBG_RETENTION", "SBG_SURVIVAL",
        ]  # fmt: skip

    def test_every_function_and_argument_is_described(self):
        for name in MODEL_NAMES:
            fn = self.by_name[name]
            assert fn["description"].strip() and "\n" not in fn["description"], name
            declared = getattr(model_formulas, name.lower()).args
            assert [p["name"] for p in fn["parameters"]] == list(declared), name
            for param in fn["parameters"]:
                assert param["description"] == declared[param["name"]].doc, (name, param)
                assert param["dimensionality"] == "matrix", (name, param)


class TestFits:
    def test_bgnbd_fit_spills_the_published_cdnow_estimates(self, cdnow):
        grid = call("bgnbd_fit", column(cdnow["x"]), column(cdnow["t_x"]), column(cdnow["T"]))
        model = BetaGeo().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
        header, estimate, errors = grid
        assert header == [
            "BG/NBD", "r", "alpha", "a", "b", "log-likelihood", "customers", "converged", "notes"
        ]  # fmt: skip
        assert estimate[0] == "estimate" and errors[0] == "std. error"
        for j, name in enumerate(BG_NBD, start=1):
            assert estimate[j] == pytest.approx(BG_NBD[name], abs=5e-4), name
            assert estimate[j] == pytest.approx(model.params[name], rel=1e-12), name
            assert errors[j] == pytest.approx(model.standard_errors[name], rel=1e-12), name
        assert round(estimate[5], 1) == -9582.4  # FHL (2005), section 7
        assert estimate[6:] == [2357, True, ""]
        assert errors[5:] == ["", "", "", ""]

    def test_gg_fit_leaves_out_and_counts_the_customers_without_repeats(self, cdnow):
        grid = call("gg_fit", column(cdnow["x"]), column(cdnow["zbar"]))
        header, estimate, errors = grid
        assert header[1:4] == ["p", "q", "gamma"]
        assert estimate[1:4] == [pytest.approx(v, abs=0.01) for v in GAMMA_GAMMA.values()]
        assert estimate[4] == pytest.approx(-4055.92, abs=0.01)  # note 025 / CLVTools
        repeaters = int((cdnow["x"] > 0).sum())
        assert dict(zip(header[5:], estimate[5:], strict=True)) == {
            "customers": repeaters,
            "left out (no repeats)": len(cdnow) - repeaters,
            "converged": True,
            "notes": "",
        }
        model = GammaGamma().fit(cdnow["x"], cdnow["zbar"])
        assert errors[1:4] == [pytest.approx(model.standard_errors[n]) for n in GAMMA_GAMMA]

    @pytest.mark.parametrize("shape", ["column", "row"])
    def test_sbg_fit_reproduces_fader_hardie_2007(self, shape):
        survivors = column(REGULAR) if shape == "column" else [REGULAR]
        header, estimate, _ = call("sbg_fit", survivors)
        assert header == ["sBG", "alpha", "beta", "log-likelihood", "periods", "converged", "notes"]
        assert estimate[1:3] == [pytest.approx(v, abs=5e-4) for v in SBG.values()]
        # The log-likelihood written out: churn in each period, survivors after the last.
        alpha, beta = estimate[1:3]
        t = np.arange(1, len(REGULAR))
        lost = -np.diff(REGULAR)
        log_churn = betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta)
        log_survival = betaln(alpha, beta + t[-1]) - betaln(alpha, beta)
        assert estimate[3] == pytest.approx(lost @ log_churn + REGULAR[-1] * log_survival)
        assert estimate[4:] == [len(REGULAR) - 1, True, ""]

    def test_blank_rows_at_the_end_of_the_ranges_are_not_data(self, cdnow):
        head = cdnow.head(300)
        tail = [[None], [""], [None]]
        filled = call("bgnbd_fit", column(head["x"]), column(head["t_x"]), column(head["T"]))
        selected = call(
            "bgnbd_fit",
            column(head["x"]) + tail,
            column(head["t_x"]) + tail[::-1],
            column(head["T"]) + tail,
        )
        assert selected == filled
        assert filled[1][6] == 300

    def test_a_flat_likelihood_gives_num_for_the_standard_errors(self):
        """No customer ever came back: the drop-out parameters are not determined."""
        _, estimate, errors = call("bgnbd_fit", column([0] * 6), column([0] * 6), column(range(6)))
        assert errors[1:5] == [NUM] * 4
        assert "standard errors are not available" in estimate[-1]

    @pytest.mark.parametrize(
        ("frequency", "recency", "T", "expected"),
        [
            ([[1], [-1]], [[1], [0]], [[2], [5]], NUM),  # negative
            ([[1], [1.5]], [[1], [1]], [[2], [5]], NUM),  # not a whole number
            ([[1], [2]], [[1], ["n/a"]], [[2], [5]], VALUE),  # text
            ([[1], [2]], [[3], [1]], [[2], [5]], NUM),  # recency > T
            ([[1], [0]], [[1], [1]], [[2], [5]], NUM),  # recency without repeats
            ([[1], [None], [2]], [[1], [None], [1]], [[2], [None], [5]], VALUE),  # blank row inside
            ([[1], [None]], [[1], [None]], [[2], [5]], VALUE),  # a partly filled last row
            ([[1], [2]], [[1], [1]], [[2]], VALUE),  # columns of different lengths
            ([[1], [{"type": "Error", "basicValue": "#N/A"}]], [[1], [1]], [[2], [5]], VALUE),
            ([[None]], [[""]], [[None]], VALUE),  # nothing at all
        ],
    )
    def test_bad_data_gives_one_error_cell(self, frequency, recency, T, expected):  # noqa: N803
        assert call("bgnbd_fit", frequency, recency, T) == [[expected]]

    @pytest.mark.parametrize(
        ("name", "columns"),
        [
            ("gg_fit", ([[0], [0]], [[0], [0]])),  # nobody came back: nothing to fit
            ("gg_fit", ([[2], [1]], [[10.0], [0.0]])),  # repeat purchases worth nothing
            ("sbg_fit", ([[100], [120]],)),  # more survivors than customers
            ("sbg_fit", ([[100]],)),  # no period after the cohort
            ("sbg_fit", ([[0], [0]],)),  # no cohort
        ],
    )
    def test_data_the_model_cannot_use_gives_num(self, name, columns):
        assert call(name, *columns) == [[NUM]]

    def test_the_library_call_returns_the_model_and_raises_a_sentence(self, cdnow):
        table = model_formulas.sbg_fit(REGULAR)
        assert table.model.params == ShiftedBetaGeo().fit(REGULAR).params
        assert table.rows[1][1] == table.model.params["alpha"]
        with pytest.raises(FormulaError, match="recency cannot be more than T") as raised:
            model_formulas.bgnbd_fit([1, 2], [1, 3], [2, 2])
        assert raised.value.excel_error == "#NUM!"


class TestPredictions:
    def test_prob_alive_over_ranges(self, cdnow):
        x, t_x, age = (cdnow[c].to_numpy() for c in ("x", "t_x", "T"))
        got = numbers(call("prob_alive", column(x), column(t_x), column(age), *BG_NBD.values()))
        r, alpha, a, b = BG_NBD.values()
        odds_dead = a / (b + np.maximum(x, 1) - 1) * ((alpha + age) / (alpha + t_x)) ** (r + x)
        assert got == pytest.approx(np.where(x > 0, 1 / (1 + odds_dead), 1.0), rel=1e-12)
        model = BetaGeo.from_params(**BG_NBD)
        assert got == pytest.approx(model.probability_alive(x, t_x, age), rel=1e-15)

    def test_expected_purchases_of_the_published_example(self, cdnow):
        """FHL (2005), section 6: x = 2, t_x = 30.43, T = 38.86 expects 1.226 in 39 weeks."""
        ((got,),) = call("expected_purchases", 39, 2, 30.43, 38.86, *BG_NBD.values())
        assert round(got, 3) == 1.226
        x, t_x, age = (cdnow[c].to_numpy() for c in ("x", "t_x", "T"))
        grid = call("expected_purchases", 52, column(x), column(t_x), column(age), *BG_NBD.values())
        expected = BetaGeo.from_params(**BG_NBD).expected_purchases(52, x, t_x, age)
        assert numbers(grid) == pytest.approx(expected, rel=1e-15)

    def test_expected_spend_shrinks_towards_the_population_mean(self, cdnow):
        x, m = cdnow["x"].to_numpy(), cdnow["zbar"].to_numpy()
        got = numbers(call("expected_spend", column(x), column(m), *GAMMA_GAMMA.values()))
        p, q, gamma = GAMMA_GAMMA.values()
        assert got == pytest.approx(p * (gamma + x * m) / (p * x + q - 1), rel=1e-12)
        assert got[x == 0] == pytest.approx(p * gamma / (q - 1))

    def test_sbg_retention_and_survival_over_a_row_of_periods(self):
        alpha, beta = SBG.values()
        t = np.arange(1, 8)
        ((*retention,),) = call("sbg_retention", [t.tolist()], alpha, beta)
        assert retention == pytest.approx((beta + t - 1) / (alpha + beta + t - 1), rel=1e-12)
        ((*survival,),) = call("sbg_survival", [[0, *t.tolist()]], alpha, beta)
        assert survival == pytest.approx(np.cumprod([1.0, *retention]), rel=1e-12)

    def test_parameters_per_row_predict_with_each_rows_model(self):
        alpha = [[0.5], [0.7], [0.5], [2.0]]
        beta = [[1.0], [1.2], [1.0], [0.3]]
        got = numbers(call("sbg_survival", column([3, 3, 5, 1]), alpha, beta))
        expected = [
            ShiftedBetaGeo.from_params(alpha=a, beta=b).survival(t)
            for t, [a], [b] in zip([3, 3, 5, 1], alpha, beta, strict=True)
        ]
        assert got == pytest.approx(expected, rel=1e-15)

    def test_a_bad_cell_gets_its_error_and_the_others_still_compute(self):
        frequency = [[2], [-1], [1.5], ["n/a"], [0], [3], [2]]
        recency = [[30.43], [0], [1], [1], [4], [40], [30.43]]
        grid = call("prob_alive", frequency, recency, 38.86, *BG_NBD.values())
        good = BetaGeo.from_params(**BG_NBD).probability_alive(2, 30.43, 38.86)
        assert grid == [
            [pytest.approx(good)], [NUM], [NUM], [VALUE], [NUM], [NUM], [pytest.approx(good)]
        ]  # fmt: skip

    @pytest.mark.parametrize(
        ("name", "args", "expected"),
        [
            ("prob_alive", (2, 30.43, 38.86, 0.243, 0, 0.793, 2.426), NUM),  # alpha 0
            ("expected_purchases", (-1, 2, 30.43, 38.86, *BG_NBD.values()), NUM),  # t < 0
            ("expected_spend", (2, 22.35, 6.25, 1.0, 15.44), NUM),  # q at most 1
            ("expected_spend", (2, 0, 6.25, 3.74, 15.44), NUM),  # repeats worth nothing
            ("sbg_retention", (0, 0.704, 1.182), NUM),  # periods start at 1
            ("sbg_survival", (2.5, 0.704, 1.182), NUM),  # a whole period
            ("sbg_survival", (2, 0.704, "n/a"), VALUE),
        ],
    )
    def test_impossible_arguments_get_their_error(self, name, args, expected):
        assert call(name, *args) == [[expected]]

    def test_expected_purchases_stay_finite_at_a_1(self):
        """a = 1 divides by zero in the closed form; the expectation is finite (the
        integral over p), and continuous in a."""
        ((at_one,),) = call("expected_purchases", 39, 2, 30.43, 38.86, 0.243, 4.414, 1, 2.426)
        ((below,),) = call("expected_purchases", 39, 2, 30.43, 38.86, 0.243, 4.414, 1 - 1e-6, 2.426)
        ((above,),) = call("expected_purchases", 39, 2, 30.43, 38.86, 0.243, 4.414, 1 + 1e-6, 2.426)
        assert isinstance(at_one, float) and below > at_one > above > 0
        assert at_one == pytest.approx(below, rel=1e-4)

    def test_the_library_call_raises_naming_the_argument(self):
        assert model_formulas.sbg_survival(0, 0.704, 1.182) == 1.0
        with pytest.raises(FormulaError, match="q must be above 1"):
            model_formulas.expected_spend(2, 22.35, 6.25, 0.5, 15.44)
        with pytest.raises(FormulaError, match="t must be a whole number"):
            model_formulas.sbg_retention(1.5, 0.704, 1.182)


@pytest.fixture(scope="module")
def functions_sheet() -> Any:
    return functions_workbook.functions_workbook()[functions_workbook.FUNCTIONS_SHEET]


def fit_on_the_sheet(sheet: Any, name: str) -> tuple[list[np.ndarray], list[list[Any]]]:
    """The data columns a fit's array formula reads, and the library's table below it."""
    (cell,) = [
        c
        for row in sheet.iter_rows()
        for c in row
        if isinstance(c.value, ArrayFormula) and c.value.text.startswith(f"={name}(")
    ]
    refs = cell.value.text[len(name) + 2 : -1].split(",")
    data = [np.array([[v.value for v in r] for r in sheet[ref]], float).ravel() for ref in refs]
    spill = sheet[cell.value.ref]
    top = cell.row + 1
    while sheet.cell(row=top - 1, column=cell.column).value != functions_workbook.EXPECTED:
        top += 1
    table = [
        [sheet.cell(row=top + i, column=cell.column + j).value for j in range(len(spill[0]))]
        for i in range(len(spill))
    ]
    return data, table


class TestFunctionsWorkbook:
    """The examples in clv_functions.xlsx hold the published numbers and the models' fits."""

    @pytest.mark.parametrize(
        ("name", "model_class"), [("BGNBD_FIT", BetaGeo), ("GG_FIT", GammaGamma)]
    )
    def test_fit_examples_equal_the_models_fitted_on_the_sheets_data(
        self, functions_sheet, name, model_class
    ):
        data, (header, estimate, errors) = fit_on_the_sheet(functions_sheet, name)
        assert len(data[0]) == functions_workbook.FIT_CUSTOMERS
        model = model_class().fit(*data)
        names = model_class.parameter_names
        assert header[1 : 1 + len(names)] == list(names)
        assert estimate[1 : 1 + len(names)] == [pytest.approx(model.params[n]) for n in names]
        assert errors[1 : 1 + len(names)] == [
            pytest.approx(model.standard_errors[n]) for n in names
        ]
        assert estimate[1 + len(names)] == pytest.approx(model.log_likelihood)
        assert model.convergence.converged and not model.convergence.warnings

    def test_sbg_fit_example_is_the_published_table(self, functions_sheet):
        (survivors,), (_, estimate, _) = fit_on_the_sheet(functions_sheet, "SBG_FIT")
        assert survivors.tolist() == REGULAR
        assert estimate[1:3] == [pytest.approx(v, abs=5e-4) for v in SBG.values()]

    def test_expected_purchases_example_is_the_published_one(self, functions_sheet):
        (value,) = [
            functions_sheet.cell(row=c.row, column=c.column + 1).value
            for row in functions_sheet.iter_rows()
            for c in row
            if str(c.value).startswith("=EXPECTED_PURCHASES(")
        ]
        assert round(value, 3) == 1.226

    def test_every_check_is_true_with_the_add_ins_results(self, tmp_path):
        """Each formula replaced by what the add-in returns: a spreadsheet (LibreOffice)
        computes every Check, the fits' SUMPRODUCT ones included, as TRUE."""
        path = tmp_path / build.FUNCTIONS
        functions_workbook.functions_workbook().save(path)
        examples = function_examples(path)
        wb = openpyxl.load_workbook(path)
        sheet = wb[functions_workbook.FUNCTIONS_SHEET]
        for example in examples:
            for i, row in enumerate(through_the_add_in(example.name, example.args)):
                for j, value in enumerate(row):
                    cell = sheet.cell(row=example.result.row + i, column=example.result.column + j)
                    cell.value = None if value == "" else value
        wb.save(path)
        checks = recalculate(path, tmp_path / "out")[functions_workbook.FUNCTIONS_SHEET]
        assert {e.name: checks[e.check.coordinate].value for e in examples} == {
            e.name: True for e in examples
        }
