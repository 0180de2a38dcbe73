"""The worksheet functions through xlwings' own Office.js machinery (xlwings.server)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from typing import ClassVar

import pytest
import xlwings as xw
from xlwings import server

import clv_xl.udfs as udfs
from clv_xl.functions import formulas, model_formulas

EXCEL_NAMES = {
    "CLV", "CUSTOMER_LIFETIME", "CUSTOMER_VALUE", "CLV_FROM_LIFETIME", "CLV_DISCOUNTED",
    "GROSS_MARGIN", "MARKUP", "MONTHLY_REVENUE", "CHURN_RATE", "RETENTION_RATE", "CONVERT_RATE",
    "LTV_CAC", "CAC_PAYBACK", "BREAKEVEN_LIFETIME", "NRR", "GRR",
}  # fmt: skip
MODEL_NAMES = {f.__name__.upper() for f in model_formulas.ALL}


def error(kind: str) -> dict[str, str]:
    return {"type": "Error", "errorType": kind}


def call(func_name: str, *args, runtime: str = "1.4"):
    """Call a worksheet function as the Office.js add-in does: each argument a 2-D range."""
    payload = {
        "func_name": func_name,
        "args": [a if isinstance(a, list) else [[a]] for a in args],
        "version": xw.__version__,
        "client": "Office.js",
        "runtime": runtime,
        "culture_info_name": "nl-NL",
    }
    return asyncio.run(server.custom_functions_call(payload, udfs))


def test_the_decorators_are_xlwings_office_js_ones():
    assert os.environ["XLWINGS_ON_SERVER"] == "true"
    assert hasattr(udfs.clv, "__xlfunc__")


class TestMeta:
    meta: ClassVar[dict] = server.custom_functions_meta(udfs)
    by_name: ClassVar[dict] = {fn["name"]: fn for fn in meta["functions"]}

    def test_exactly_the_listed_names(self):
        assert set(self.by_name) == EXCEL_NAMES | MODEL_NAMES
        assert len(MODEL_NAMES) == 8

    def test_every_function_and_argument_is_described(self):
        for name, fn in self.by_name.items():
            assert fn["description"].strip(), name
            assert "\n" not in fn["description"], name
            library = formulas if name in EXCEL_NAMES else model_formulas
            formula = getattr(library, name.lower())
            assert [p["name"] for p in fn["parameters"]] == list(formula.args)
            for param in fn["parameters"]:
                assert not param["description"].startswith("Positional argument"), (name, param)

    def test_optional_arguments_are_optional(self):
        params = {p["name"]: p for p in self.by_name["CLV_DISCOUNTED"]["parameters"]}
        assert {n for n, p in params.items() if p.get("optional")} == {
            "periods", "acquisition_cost", "retention_cost", "timing"
        }  # fmt: skip


class TestCalls:
    def test_seed_example(self):
        assert call("clv", 200, 0.3, 0.06) == [[pytest.approx(1000)]]

    def test_every_function_matches_the_library(self):
        examples = {
            "clv": (200, 0.3, 0.06),
            "customer_lifetime": (0.01,),
            "customer_value": (60, 7),
            "clv_from_lifetime": (420, 3),
            "clv_discounted": (100, 0.8, 0.1, 10, 50, 5, "begin"),
            "gross_margin": (60, 45),
            "markup": (60, 45),
            "monthly_revenue": (7, 60),
            "churn_rate": (200, 12),
            "retention_rate": (200, 12),
            "convert_rate": (0.05, 1, 12),
            "ltv_cac": (1000, 250),
            "cac_payback": (300, 200, 0.3),
            "breakeven_lifetime": (300, 60, 10),
            "nrr": (1000, 150, 50, 100),
            "grr": (1000, 50, 100),
        }
        assert set(examples) == {name.lower() for name in EXCEL_NAMES}
        for name, args in examples.items():
            expected = getattr(formulas, name)(*args)
            assert call(name, *args) == [[pytest.approx(expected)]], name

    def test_a_column_range_spills_a_column_of_the_same_shape(self):
        revenue = [[100.0], [200.0], [300.0]]
        assert call("clv", revenue, 0.3, 0.06) == [
            [pytest.approx(500)],
            [pytest.approx(1000)],
            [pytest.approx(1500)],
        ]

    def test_row_and_column_broadcast_to_a_table(self):
        result = call("clv", 100, [[0.2, 0.4]], [[0.05], [0.1]])
        assert result == [
            [pytest.approx(400), pytest.approx(800)],
            [pytest.approx(200), pytest.approx(400)],
        ]

    def test_a_bad_cell_gets_its_error_and_the_others_still_compute(self):
        revenue = [[200], ["n/a"], [None], [""], [{"type": "Error", "basicValue": "#N/A"}], [-5]]
        churn = [[0.06], [0.06], [0.06], [0.06], [0.06], [0.06]]
        result = call("clv", revenue, 0.3, churn)
        assert result == [
            [pytest.approx(1000)], [error("Value")], [error("Value")], [error("Value")],
            [error("NotAvailable")], [error("Num")],
        ]  # fmt: skip

    def test_numbers_mixed_with_text_stay_numbers(self):
        assert call("clv", [[200], ["n/a"]], 0.3, 0.06) == [[pytest.approx(1000)], [error("Value")]]

    def test_zero_churn_is_div0_and_impossible_rates_are_num(self):
        assert call("clv", 200, 0.3, [[0.0], [1.5]]) == [[error("Div0")], [error("Num")]]

    def test_blank_optional_arguments_take_their_defaults(self):
        got = call("clv_discounted", 100, 0.8, 0.1, [[None]], [[None]], [[None]], [[None]])
        assert got == [[pytest.approx(100 * 1.1 / (1.1 - 0.8))]]  # timing "begin"

    def test_ranges_that_do_not_fit_give_one_value_error(self):
        assert call("clv", [[1], [2], [3]], [[0.3], [0.3]], 0.06) == [[error("Value")]]

    def test_an_unknown_timing_word_is_a_value_error(self):
        assert call("clv_discounted", 100, 0.8, 0.1, 12, 0, 0, "soon") == [[error("Value")]]

    def test_older_runtimes_get_the_error_text(self):
        assert call("clv", 200, 0.3, 0, runtime="1.2") == [["#DIV/0!"]]


def test_without_xlwings_server_the_functions_stay_plain_python():
    """Classic xlwings off Windows: the decorators are no-ops and the functions still work."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLWINGS_")}
    code = textwrap.dedent(
        """
        import clv_xl.udfs as u
        print(u.clv([[200], [100]], 0.3, [[0.06], [0]]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[[1000.0], ['#DIV/0!']]"


def test_inputs_python_can_hold_but_a_cell_cannot_are_value_errors():
    assert call("clv", [[10**400]], 0.3, 0.06) == [[error("Value")]]
    assert call("clv_discounted", 100, 0.8, 0.1, 12, 0, 0, [[]]) == [[error("Value")]]
