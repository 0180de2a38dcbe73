"""The README's worksheet-function table: every function listed, every example true."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from clv_xl.functions import formulas, model_formulas

README = (Path(__file__).parents[1] / "README.md").read_text()
EXAMPLES = re.findall(r"`=([A-Z_]+)\(([^`]*)\)` = ([\d.]+)", README)
ROWS = set(re.findall(r"^\| `([A-Z_]+)` \|", README, flags=re.M))
FUNCTIONS = {f.__name__.upper(): f for f in (*formulas.ALL, *model_formulas.ALL)}


def test_the_first_lines_give_the_two_commands():
    head = README.splitlines()[:8]
    assert any(line.startswith("make demo") for line in head)
    assert any(line.startswith("make test") for line in head)


def test_every_function_has_a_row():
    assert set(FUNCTIONS) == ROWS
    assert {name for name, _, _ in EXAMPLES} == {f.__name__.upper() for f in formulas.ALL} | {
        "PROB_ALIVE", "EXPECTED_PURCHASES", "EXPECTED_SPEND", "SBG_RETENTION", "SBG_SURVIVAL"
    }  # fmt: skip


@pytest.mark.parametrize(("name", "args", "shown"), EXAMPLES)
def test_the_example_gives_the_value_shown(name, args, shown):
    values = ast.literal_eval(f"({args},)")
    got = FUNCTIONS[name](*values)
    if hasattr(got, "ravel"):
        got = float(got.ravel()[0])
    assert got == pytest.approx(float(shown), abs=0.5 * 10 ** -len(shown.partition(".")[2]))
