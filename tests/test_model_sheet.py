"""The Model sheet of a written report says which purchase model was chosen and why, with
the other family's figures beside it (read back from the workbook)."""

from __future__ import annotations

from itertools import pairwise

import openpyxl
import pandas as pd
import pytest

from clv_xl.analysis.analyze import analyze
from clv_xl.orders.load import load_orders
from clv_xl.report.model import CHOICE_ROWS, FIRST_TABLE_ROW, FIRST_WIDTH, SIDE_BY_SIDE, WIDTH
from clv_xl.report.style import BOLD_WIDTH, LINE_HEIGHT, text_lines
from clv_xl.report.workbook import write_report
from clv_xl.templates.sample import sample_orders


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    analysis = analyze(load_orders(sample_orders(customers=400, seed=5)))
    path = write_report(analysis, tmp_path_factory.mktemp("model") / "report.xlsx")
    return analysis.prediction, openpyxl.load_workbook(path)["Model"]


def test_the_sheet_names_the_chosen_model_and_why(written) -> None:
    prediction, ws = written
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert f"Purchase model: {prediction.purchase_model}" in texts
    choice = prediction.model_choice.set_index("family")
    chosen = choice.index[choice["chosen"]][0]
    assert prediction.family == chosen
    (why,) = [t for t in texts if t.startswith(f"{chosen} was chosen") or "equally well" in t]
    other = next(name for name in choice.index if name != chosen)
    assert f"for {other}" in why


def test_both_families_stand_side_by_side(written) -> None:
    prediction, ws = written
    (title,) = [c.row for c in ws["A"] if c.value == SIDE_BY_SIDE]
    header = [ws.cell(title + 1, column).value for column in (1, 2, 3)]
    assert header == ["Figure", "BG/NBD", "Pareto/NBD"]
    rows = {ws.cell(row, 1).value: row for row in range(title + 2, title + 2 + len(CHOICE_ROWS))}
    assert set(rows) == set(CHOICE_ROWS.values())
    for column, (_, family) in enumerate(prediction.model_choice.iterrows(), start=2):
        for name, label in CHOICE_ROWS.items():
            value = ws.cell(rows[label], column).value
            if isinstance(family[name], float):
                assert value == pytest.approx(family[name])
            elif name == "chosen":
                assert value == ("yes" if family[name] else "no")
            else:
                assert value == family[name]
        parameters = prediction.parameters[
            prediction.parameters["model"].str.startswith(family["family"] + " (calibration")
        ]
        for _, parameter in parameters.iterrows():  # the text holds each estimate, rounded
            assert f"{parameter['parameter']} {parameter['estimate']:.3g}" in family["parameters"]


def test_money_parameters_are_in_the_reports_currency(written) -> None:
    """Gamma-Gamma's gamma is an amount: its unit reads EUR, not "currency"."""
    _, ws = written
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    (gamma,) = [row for row in rows if row[0] == "Gamma-Gamma" and row[1] == "gamma"]
    assert "EUR" in gamma and "currency" not in gamma


def test_the_holdout_errors_read_as_percentages(written) -> None:
    """The sentence above says "off by 4.6%": the table shows the same share as 4.6%."""
    _, ws = written
    (row,) = [c.row for c in ws["A"] if c.value == CHOICE_ROWS["holdout_error"]]
    assert [ws.cell(row, column).number_format for column in (2, 3)] == ["0.0%", "0.0%"]


def test_texts_cut_off_on_paper_wrap_in_rows_tall_enough(written) -> None:
    """A table's text longer than its column, with a value to its right (which would cut it
    off in print), wraps, and its row holds its lines at the sheet's widths."""
    _, ws = written
    checked = 0
    for row in ws.iter_rows(min_row=FIRST_TABLE_ROW):
        for cell, right in pairwise(row):
            if not isinstance(cell.value, str) or right.value is None:
                continue
            width = ws.column_dimensions[cell.column_letter].width
            if len(cell.value) > width:
                lines = -(-len(cell.value) // width)
                assert cell.alignment.wrap_text, cell.value
                assert ws.row_dimensions[cell.row].height >= lines * LINE_HEIGHT, cell.value
                checked += 1
    assert checked >= 3  # the parameters, the holdout error's label, per-customer headers


def test_without_a_holdout_check_the_sheet_is_laid_out_alike(tmp_path) -> None:
    """Two weeks of orders: too short to hold out whole weeks, the models fitted without the
    check. The sheet keeps its widths, and its long texts wrap as with the check."""
    rows = [
        (f"C{c:03d}", pd.Timestamp("2024-03-01") + pd.Timedelta(days=(c * 7 + k * 5) % 14), 20.0)
        for c in range(120)
        for k in range(1 + c % 3)
    ]
    orders = pd.DataFrame(rows, columns=["customer", "date", "amount"])
    analysis = analyze(load_orders(orders))
    assert analysis.prediction.fitted and analysis.prediction.validation_reason
    ws = openpyxl.load_workbook(write_report(analysis, tmp_path / "report.xlsx"))["Model"]
    assert ws.column_dimensions["A"].width == FIRST_WIDTH
    assert ws.column_dimensions["B"].width == WIDTH
    (row,) = [c.row for c in ws["A"] if c.value == "Fits"]
    header = [ws.cell(row + 1, column) for column in range(1, 8)]
    long = [cell for cell in header if len(cell.value or "") * BOLD_WIDTH > WIDTH]
    assert long and all(cell.alignment.wrap_text for cell in long[:-1])


@pytest.mark.parametrize(
    ("text", "bold", "width", "lines"),
    [
        # 13 bold characters a line: "Expected" | "revenue per" | "customer," | "next 36" |
        # "months" | "(model," | "discounted)": words are not split to fill a line
        ("Expected revenue per customer, next 36 months (model, discounted)", True, 16, 7),
        ("Expected revenue per customer, next 36 months (model, discounted)", True, 20, 5),
        ("aaaaa bbbbb", False, 5, 2),  # two words of a line each (not 11 / 5 characters)
        ("a very long word: Kundenlebenszeitwert", False, 8, 6),  # split only when too long
        ("one\ntwo lines", False, 40, 2),  # each line of its own
        ("", False, 10, 1),
    ],
)
def test_a_texts_lines_are_counted_as_it_wraps_at_words(text, bold, width, lines) -> None:
    cell = openpyxl.Workbook().active.cell(1, 1, text)
    cell.font = openpyxl.styles.Font(bold=bold)
    assert text_lines(cell, width) == lines
