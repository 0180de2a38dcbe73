"""The Model sheet of a written report says which purchase model was chosen and why, with
the other family's figures beside it (read back from the workbook)."""

from __future__ import annotations

import itertools
import math
import re
import zipfile
from itertools import pairwise

import openpyxl
import pandas as pd
import pytest

from clv_xl.analysis.analyze import analyze
from clv_xl.orders.load import load_orders
from clv_xl.report.model import (
    CHOICE_ROWS,
    FIRST_TABLE_ROW,
    FIRST_WIDTH,
    SIDE_BY_SIDE,
    SPLIT_SERIES,
    WIDTH,
)
from clv_xl.report.style import (
    BOLD_WIDTH,
    CATEGORY_LABELS,
    DECIMAL,
    INTEGER,
    LINE_HEIGHT,
    text_lines,
)
from clv_xl.report.workbook import write_report
from clv_xl.templates.sample import sample_orders


@pytest.fixture(scope="module")
def written_path(tmp_path_factory):
    analysis = analyze(load_orders(sample_orders(customers=400, seed=5)))
    path = write_report(analysis, tmp_path_factory.mktemp("model") / "report.xlsx")
    return analysis.prediction, path


@pytest.fixture(scope="module")
def written(written_path):
    prediction, path = written_path
    return prediction, openpyxl.load_workbook(path)["Model"]


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


def test_counts_read_as_whole_numbers_and_every_number_has_a_format(written) -> None:
    """Customers, iterations, weeks and purchases counted are whole numbers with thousands
    separators ("1,852", not "1852" or "8,827.00"); forecasts keep two decimals; no number
    is left in Excel's General format; yes and no stand centred, apart from the figures."""
    prediction, ws = written
    numbers = [c for row in ws.iter_rows() for c in row if isinstance(c.value, int | float)]
    assert numbers and all(c.number_format != "General" for c in numbers)
    heading_row = {c.value: c.row for c in ws["A"] if isinstance(c.value, str)}

    def formats_below(title: str, heading: str) -> set[str]:
        row = heading_row[title] + 1
        (column,) = [c.column for c in ws[row] if c.value == heading]
        cells = [ws.cell(r, column) for r in range(row + 1, ws.max_row + 1)]
        taken = itertools.takewhile(lambda c: c.value is not None, cells)
        return {c.number_format for c in taken}

    holdout = next(t for t in heading_row if t.startswith("Holdout check"))
    tracking = "Cumulative repeat purchases, actual vs model"
    fits = heading_row["Fits"] + 2
    answers = [c for r in ws.iter_rows(min_row=fits, max_row=fits + 3) for c in r]
    answers = [c for c in answers if c.value in ("yes", "no")]
    assert answers and {c.alignment.horizontal for c in answers} == {"center"}
    assert formats_below("Fits", "Customers") == {INTEGER}
    assert formats_below("Fits", "Iterations") == {INTEGER}
    assert formats_below(holdout, "Customers") == formats_below(holdout, "Actual") == {INTEGER}
    assert formats_below(holdout, "Predicted") == {DECIMAL}
    assert formats_below(tracking, "Week") == formats_below(tracking, "Actual") == {INTEGER}
    assert formats_below(tracking, "Predicted") == {DECIMAL}
    assert (prediction.holdout["actual"] == prediction.holdout["actual"].round()).all()
    actual, forecast = (
        heading_row[CHOICE_ROWS[key]] for key in ("holdout_actual", "holdout_predicted")
    )
    assert {ws.cell(actual, c).number_format for c in (2, 3)} == {INTEGER}
    assert {ws.cell(forecast, c).number_format for c in (2, 3)} == {DECIMAL}


def test_the_tracking_chart_reads_on_paper(written_path) -> None:
    """Its value axis in whole purchases with separators, and at most CATEGORY_LABELS week labels
    on its axis (156 weeks side by side overprint one another)."""
    prediction, path = written_path
    weeks = len(prediction.tracking)
    assert weeks > CATEGORY_LABELS
    with zipfile.ZipFile(path) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if "charts/chart" in n]
    (chart,) = [c for c in charts if "Cumulative repeat purchases" in c]
    value_axis = re.search(r"<(?:c:)?valAx>.*?</(?:c:)?valAx>", chart, re.S)
    assert value_axis and f'formatCode="{INTEGER}"' in value_axis.group(0)
    skip = re.search(r'<(?:c:)?tickLblSkip val="(\d+)"', chart)
    assert skip and math.ceil(weeks / int(skip.group(1))) <= CATEGORY_LABELS < weeks
    series_title = r"<(?:c:)?tx><(?:c:)?strRef><(?:c:)?f>'?Model'?!\$?([A-Z]+)\$?(\d+)<"
    legend = re.findall(series_title, chart)
    ws = openpyxl.load_workbook(path)["Model"]
    assert [ws[f"{column}{row}"].value for column, row in legend][1:] == list(SPLIT_SERIES)


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


def test_a_heading_at_a_tables_right_edge_wraps_within_its_fill(written) -> None:
    """Run on into the empty cell to its right, a heading's white text is white on white:
    "Predicted per customer", the holdout table's last heading, wraps in its own cell."""
    _, ws = written
    (cell,) = [c for row in ws.iter_rows() for c in row if c.value == "Predicted per customer"]
    assert ws.cell(cell.row, cell.column + 1).value is None
    assert cell.fill.fill_type == "solid" and cell.alignment.wrap_text
    width = ws.column_dimensions[cell.column_letter].width
    assert ws.row_dimensions[cell.row].height >= text_lines(cell, width) * LINE_HEIGHT > 15


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
    assert [cell.value for cell in header] == ["Model", "Customers", "Log likelihood",
        "Converged", "At boundary", "Iterations", "Warnings"]  # fmt: skip
    long = [cell for cell in header if len(cell.value or "") * BOLD_WIDTH > WIDTH]
    assert all(cell.alignment.wrap_text for cell in long[:-1])


@pytest.mark.parametrize(
    ("text", "bold", "width", "lines"),
    [
        # 15 bold characters a line: "Expected" | "revenue per" | "customer, next" |
        # "36 months" | "(model," | "discounted)": words are not split to fill a line
        ("Expected revenue per customer, next 36 months (model, discounted)", True, 16, 6),
        ("Expected revenue per customer, next 36 months (model, discounted)", True, 20, 4),
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
