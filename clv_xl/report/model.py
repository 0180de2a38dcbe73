"""The Model sheet: the buy-till-you-die fits behind the predicted CLVs, and their check."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
from openpyxl.chart import LineChart, Reference
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl.analysis.analyze import Analysis
from clv_xl.analysis.holdout_check import HOLDOUT_PERIOD
from clv_xl.report import style
from clv_xl.report.cells import capitalised, lay_out, paragraph, put

SHEET = "Model"
EXPLANATION = (
    "Predicted CLV comes from two models fitted by maximum likelihood on every customer's history:",
    "BG/NBD or Pareto/NBD, whichever forecast the holdout better, for how often each customer "
    "buys and when they stop; Gamma-Gamma for what they spend.",
    "Where the data show no drop-out or spends that hardly vary, the models' limits are used "
    "(NBD or Poisson: customers stay; each customer's own mean spend, or the mean of all when "
    "customers spend alike), as said below.",
    "Time is in weeks; a month is 365.25/12 days. Predicted CLV = margin x expected spend x "
    "expected purchases per month, discounted monthly, over 12 and 36 months.",
    "The check fits both purchase models without the last third of the history and compares "
    "their forecasts of that holdout with what happened; the better one is used.",
)
FIRST_TABLE_ROW = 3 + len(EXPLANATION)
#: Column A's width and the others' (characters).
FIRST_WIDTH, WIDTH = 32, 16  # (A: "Pareto/NBD (calibration period)" on one line)
#: The sentences run across columns A to H (left of the chart), about this many characters a
#: line in the sheet's widths.
TEXT_COLUMNS, TEXT_LINE = 8, 125
SIDE_BY_SIDE = "The purchase models side by side (fitted before the holdout, then checked on it)"
#: The rows of the side-by-side table: a column of the choice table and its label.
CHOICE_ROWS = {
    "model": "Model kept",
    "parameters": "Parameters",
    "log_likelihood": "Log-likelihood",
    "holdout_actual": "Holdout repeat purchases, actual",
    "holdout_predicted": "Holdout repeat purchases, forecast",
    "holdout_error": "Holdout error (share of the actual, by group)",
    "chosen": "Chosen",
}
#: The side-by-side rows shown as percentages, and as whole numbers (counts).
PERCENT_ROWS = {CHOICE_ROWS["holdout_error"]}
WHOLE_ROWS = {CHOICE_ROWS["holdout_actual"]}
#: The model's line in two series, so that the chart marks the split.
SPLIT_SERIES = ("Model, calibration", "Model, holdout")


def write(wb: Workbook, analysis: Analysis, fmt: dict[str, str]) -> Worksheet:
    ws = wb.create_sheet(SHEET)
    _fill(ws, analysis, fmt)
    lay_out(ws, {1: FIRST_WIDTH}, WIDTH)
    style.wrap_cut_off_texts(ws, FIRST_TABLE_ROW)
    return ws


def _fill(ws: Worksheet, analysis: Analysis, fmt: dict[str, str]) -> None:
    """The sheet's text, tables and chart, as far as the prediction goes."""
    p = analysis.prediction
    style.TITLE.apply(put(ws, 1, 1, "Model: predicted purchases, spend and CLV"))
    for row, sentence in enumerate(EXPLANATION, start=2):
        paragraph(ws, row, sentence, TEXT_COLUMNS, TEXT_LINE, style.NOTE)
    if not p.fitted:
        style.OUTPUT.apply(put(ws, FIRST_TABLE_ROW, 1, f"No model fitted: {p.reason}"))
        put(ws, FIRST_TABLE_ROW + 1, 1, "The report keeps the simple CLV (ARPU x margin / churn).")
        return
    style.SECTION.apply(put(ws, FIRST_TABLE_ROW, 1, f"Purchase model: {p.purchase_model}"))
    if p.family and p.family != p.purchase_model:
        put(ws, FIRST_TABLE_ROW, 4, f"(the no-drop-out limit of {p.family})")
    put(ws, FIRST_TABLE_ROW + 1, 1, f"Spend model: {p.spend_model}")
    for offset, note in enumerate(p.notes, start=FIRST_TABLE_ROW + 2):
        paragraph(ws, offset, note, TEXT_COLUMNS, TEXT_LINE, style.NOTE)
    row = FIRST_TABLE_ROW + 3 + len(p.notes)
    # amounts in the report's currency, not the word "currency"
    currency = analysis.params.currency
    parameters = p.parameters.assign(unit=p.parameters["unit"].replace("currency", currency))
    row = _frame(ws, row, "Fitted parameters (with standard errors)", parameters, fmt)
    row = _frame(ws, row + 2, "Fits", p.fit_summary, fmt)
    if not p.model_choice.empty:
        table = side_by_side(p.model_choice)
        row = _frame(ws, row + 2, SIDE_BY_SIDE, table, fmt, PERCENT_ROWS, WHOLE_ROWS)
    if p.validation_reason:
        style.NOTE.apply(put(ws, row + 2, 1, f"No holdout check: {p.validation_reason}"))
        return
    caption = (
        f"Holdout check: repeat purchases in the last {p.holdout_weeks} weeks "
        f"(after {p.calibration_end:%Y-%m-%d}), by repeat purchases before"
    )
    row = _frame(ws, row + 2, caption, p.holdout, fmt)
    top = row + 2
    _frame(ws, top, "Cumulative repeat purchases, actual vs model", p.tracking, fmt)
    split = len(p.tracking.columns) + 2
    style.write_header(ws, top + 1, list(SPLIT_SERIES), split)
    for offset, (_, week) in enumerate(p.tracking.iterrows(), start=top + 2):
        column = split + (week["period"] == HOLDOUT_PERIOD)
        put(ws, offset, column, week["predicted"], style.DECIMAL)
    first_holdout = int(p.tracking.loc[p.tracking["period"] == HOLDOUT_PERIOD, "week"].min())
    chart = style.show_axes(LineChart())
    chart.title = (
        f"Cumulative repeat purchases: actual vs model (holdout from week {first_holdout})"
    )
    chart.x_axis.title = "Week"
    chart.y_axis.title = "Repeat purchases"
    chart.y_axis.number_format = style.INTEGER
    style.thin_category_labels(chart, len(p.tracking))
    chart.width, chart.height = 22.0, 10.0
    rows = {"min_row": top + 1, "max_row": top + 1 + len(p.tracking)}
    actual = list(p.tracking.columns).index("actual") + 1
    chart.add_data(Reference(ws, min_col=actual, **rows), titles_from_data=True)
    chart.add_data(Reference(ws, min_col=split, max_col=split + 1, **rows), titles_from_data=True)
    for series in chart.series:
        series.smooth = False
    chart.set_categories(
        Reference(ws, min_col=1, min_row=top + 2, max_row=top + 1 + len(p.tracking))
    )
    ws.add_chart(chart, "J4")


def side_by_side(choice: pd.DataFrame) -> pd.DataFrame:
    """The choice table turned on its side: one column per family, one row per figure."""
    table = choice.set_index("family")[list(CHOICE_ROWS)].T
    table.insert(0, "figure", [CHOICE_ROWS[name] for name in table.index])
    table.columns.name = None
    return table.reset_index(drop=True)


def _frame(
    ws: Worksheet,
    row: int,
    title: str,
    frame: pd.DataFrame,
    fmt: dict[str, str],
    percent_rows: Collection[str] = (),
    whole_rows: Collection[str] = (),
) -> int:
    """A titled table of a frame's columns (headers as they are named, "std_error" as "Std
    error"; yes/no answers centred); its numbers with two decimals, but counts (a column of
    whole numbers, or a row whose first cell is in ``whole_rows``) without, and the rows
    whose first cell is in ``percent_rows`` as percentages; return its last row."""
    style.SECTION.apply(put(ws, row, 1, title))
    style.write_header(ws, row + 1, [capitalised(c.replace("_", " ")) for c in frame.columns])
    counts = [_whole_numbers(frame[name]) for name in frame.columns]
    for offset, values in enumerate(frame.itertuples(index=False), start=row + 2):
        for column, value in enumerate(values, start=1):
            answer = isinstance(value, bool | np.bool_)
            if answer:
                value = "yes" if value else "no"
            number_format = None
            if isinstance(value, int | float | np.number):
                number_format = (
                    style.PERCENT if values[0] in percent_rows
                    else style.INTEGER if counts[column - 1] or values[0] in whole_rows
                    else style.DECIMAL
                )  # fmt: skip
            cell = put(ws, offset, column, value, number_format)
            if answer:
                cell.alignment = style.ANSWER
    return row + 1 + len(frame)


def _whole_numbers(column: pd.Series) -> bool:
    """Whether a column holds numbers (not yes/no), all of them whole: counts."""
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return False
    numbers = column.to_numpy(dtype=float, na_value=np.nan)
    finite = numbers[np.isfinite(numbers)]
    return bool(len(finite)) and bool((finite == np.round(finite)).all())
