"""Reading the Settings sheet (as an xlwings Book gives its used range) into Params."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from clv_xl.analysis.params import Params
from clv_xl.errors import InputError
from clv_xl.excel.settings import SETTINGS, settings_from_rows, settings_table


def sheet(*settings_rows: list[Any]) -> list[list[Any]]:
    """A Settings sheet's used range from A1: title, note, blank row, headings, then the rows."""
    return [
        ["Settings for the segment report", None, None, None],
        ["Change the blue values.", None, None, None],
        [None, None, None, None],
        ["Setting", "Value", "Unit", "Notes"],
        *settings_rows,
    ]


def test_the_sheet_as_written_reads_back_as_the_defaults() -> None:
    rows = [[None], *settings_table()]
    assert settings_from_rows(rows) == (Params(), None)


def test_an_empty_sheet_gives_the_defaults() -> None:
    assert settings_from_rows([]) == (Params(), None)


def test_every_setting_is_read_by_its_label_in_any_case() -> None:
    rows = sheet(
        ["  GROSS MARGIN ", 0.42, "fraction", None],
        ["annual discount rate", 0.08],
        ["Churn window", 180.0],
        ["Analysis Date", dt.datetime(2024, 6, 30, 0, 0)],
        ["Segment columns", " Channel ,Country"],
        ["Minimum segment size", 5],
        ["Currency", " USD "],
    )
    params, segments = settings_from_rows(rows)
    assert params == Params(
        as_of=dt.date(2024, 6, 30),
        churn_window_days=180,
        margin=0.42,
        annual_discount_rate=0.08,
        min_segment_customers=5,
        currency="USD",
    )
    assert isinstance(params.churn_window_days, int)
    assert segments == ("Channel", "Country")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (45322, dt.date(2024, 1, 31)),  # Excel's serial number for 2024-01-31
        (45322.75, dt.date(2024, 1, 31)),  # a date with a time of day
        (61, dt.date(1900, 3, 1)),
        (dt.date(2023, 12, 31), dt.date(2023, 12, 31)),
        (dt.datetime(2023, 12, 31, 18, 30), dt.date(2023, 12, 31)),
        ("2024-02-29", dt.date(2024, 2, 29)),
    ],
)
def test_analysis_dates_in_every_shape_xlwings_gives_them(value: Any, expected: dt.date) -> None:
    params, _ = settings_from_rows(sheet(["Analysis date", value]))
    assert params.as_of == expected


def test_unknown_labels_blank_values_and_short_rows_leave_the_defaults() -> None:
    rows = sheet(
        ["Colour of the report", "blue"],
        ["Gross margin", None],
        ["Currency", "   "],
        ["Churn window"],
        [],
        [12, 0.5],
    )
    assert settings_from_rows(rows) == (Params(), None)


BAD_VALUES = [
    ("Gross margin", "thirty", "must be a number"),
    ("Gross margin", 30, "between -1 and 1"),
    ("Gross margin", True, "must be a number"),
    ("Annual discount rate", 1.5, "from 0 to 1"),
    ("Annual discount rate", float("nan"), "must be a number"),
    ("Churn window", 10.5, "whole number"),
    ("Churn window", 0, "1 to 3660 days"),
    ("Churn window", "a year", "must be a number"),
    ("Analysis date", "yesterday", "must be a date"),
    ("Analysis date", -3, "must be a date"),
    ("Analysis date", 60, "must be a date"),  # Excel's 1900-02-29, a day that never was
    ("Segment columns", "Channel,,Country", "separated by single commas"),
    ("Segment columns", 7, "must be text"),
    ("Minimum segment size", 0, "at least 1 customer"),
    ("Currency", 978, "must be text"),
]


@pytest.mark.parametrize(("label", "value", "problem"), BAD_VALUES)
def test_a_bad_value_names_its_cell_and_the_problem(label: str, value: Any, problem: str) -> None:
    rows = sheet(["Colour", "blue"], [label, value])  # the bad value is in row 6
    with pytest.raises(InputError) as raised:
        settings_from_rows(rows)
    message = str(raised.value)
    assert message.startswith(f"Settings!B6 ({label})")
    assert problem in message
    assert "\n" not in message


def test_a_setting_given_twice_names_both_rows() -> None:
    rows = sheet(["Gross margin", 0.3], ["Currency", "EUR"], ["gross margin", 0.4])
    with pytest.raises(InputError, match=r"Settings!A7 repeats .*Gross margin.* Settings!A5"):
        settings_from_rows(rows)


def test_every_setting_has_a_unique_label_and_name_and_a_note() -> None:
    assert len({s.label.casefold() for s in SETTINGS}) == len(SETTINGS)
    assert len({s.name for s in SETTINGS}) == len(SETTINGS)
    assert all(s.unit and s.note for s in SETTINGS)


def test_defaults_come_from_params() -> None:
    defaults = {s.field: s.default for s in SETTINGS}
    assert defaults["annual_discount_rate"] == Params().annual_discount_rate
    assert defaults["churn_window_days"] == Params().churn_window_days
    assert defaults["currency"] == Params().currency
    assert defaults["margin"] is None and defaults["as_of"] is None
