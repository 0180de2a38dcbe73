"""Money as a finance user means it: one currency at a time, margins in percent, totals that
fit in a number (issue 11, item 5)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest

from clv_xl.cli import main
from clv_xl.errors import InputError
from clv_xl.orders.load import ColumnMap, load_orders

AS_OF = dt.date(2024, 12, 31)
MIXED = [
    ["C1", "2024-01-31", "€ 100.00"],
    ["C2", "2024-02-01", "EUR 50.00"],
    ["C1", "2024-02-02", "$ 80.00"],
    ["C3", "2024-02-03", "20.00 USD"],
    ["C4", "2024-02-04", "£ 10.00"],
    ["C5", "2024-02-05", "7"],  # no currency shown
]


def frame(rows: list[list[object]], headers: tuple[str, ...] = ("Customer", "Date", "Amount")):
    return pd.DataFrame(rows, columns=list(headers))


def test_amounts_in_several_currencies_are_refused_naming_them_and_rows() -> None:
    with pytest.raises(InputError) as raised:
        load_orders(frame(MIXED), as_of=AS_OF)
    message = str(raised.value)
    assert message.startswith("The amounts in the orders table are in 3 currencies, ")
    assert "EUR (rows 2, 3), GBP (rows 6) and USD (rows 4, 5)" in message
    assert "--currency" in message and message.count(".") <= 2


def test_a_currency_filter_keeps_its_rows_and_excludes_the_others_with_their_reason() -> None:
    orders = load_orders(frame(MIXED), as_of=AS_OF, columns=ColumnMap(only_currency="usd"))
    assert orders.lines["amount"].tolist() == [80.0, 20.0, 7.0]  # and the row without one
    assert orders.lines["row"].tolist() == [4, 5, 7]
    assert [(e.reason, e.count, e.examples) for e in orders.exclusions] == [
        ("other currency", 3, (2, 3, 6))
    ]
    euro = load_orders(frame(MIXED), as_of=AS_OF, columns=ColumnMap(only_currency="€"))
    assert euro.lines["amount"].tolist() == [100.0, 50.0, 7.0]


def test_a_currency_column_is_read() -> None:
    rows = [["C1", "2024-01-31", 10.0, "EUR"], ["C2", "2024-02-01", 20.0, "usd"]]
    headers = ("Klant", "Datum", "Bedrag", "Valuta")
    with pytest.raises(InputError, match=r"in 2 currencies, EUR \(rows 2\) and USD \(rows 3\)"):
        load_orders(frame(rows, headers), as_of=AS_OF)
    orders = load_orders(frame(rows, headers), as_of=AS_OF, columns=ColumnMap(only_currency="EUR"))
    assert orders.lines["amount"].tolist() == [10.0]
    assert orders.columns["currency"] == "Valuta" and orders.segments == ()


def test_one_currency_or_none_is_read_as_before() -> None:
    one = [["C1", "2024-01-31", "€ 1.234,50"], ["C2", "2024-02-01", "€ 2,00"]]
    assert load_orders(frame(one), as_of=AS_OF).lines["amount"].tolist() == [1234.5, 2.0]
    plain = load_orders(frame([["C1", "2024-01-31", 3.0]]), columns=ColumnMap(only_currency="EUR"))
    assert plain.lines["amount"].tolist() == [3.0]


def test_the_command_refuses_several_currencies_and_reads_one_with_currency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "orders.csv"
    frame(MIXED * 10).to_csv(path, sep=";", index=False)
    out = tmp_path / "report.xlsx"
    assert main(["report", str(path), "-o", str(out), "--as-of", "2024-12-31"]) == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message.startswith("clv-xl: The amounts in orders.csv are in 3 currencies")
    assert not out.exists()
    args = ["report", str(path), "-o", str(out), "--as-of", "2024-12-31", "--currency", "GBP"]
    assert main(args) == 0
    assert out.exists()


@pytest.mark.parametrize(
    ("header", "margins", "expected"),
    [
        ("Marge %", [20.0, 30.0, 40.0], [20.0, 15.0, 4.0]),  # the header says percent
        ("Marge", [20.0, 30.0, 0.0], [20.0, 15.0, 0.0]),  # 0 or 1 to 100: percent
        ("Margin percent", [0.5, 2.0, 150.0], [0.5, 1.0, 15.0]),
        ("Margin", [0.2, 0.3, 0.4], [20.0, 15.0, 4.0]),  # fractions
        ("Gross profit", [20.0, 30.0, 40.0], [20.0, 30.0, 40.0]),  # money, whatever its size
        ("Marge", [30.0, 0.5, 250.0], [30.0, 0.5, 250.0]),  # beyond 100: money
    ],
)
def test_a_margin_column_in_percent_is_read_as_percent(
    header: str, margins: list[float], expected: list[float]
) -> None:
    """A 'Marge %' column of 20, 30, 40 was read as money per order."""
    rows = [
        ["C1", "2024-01-31", amount, margin]
        for amount, margin in zip([100.0, 50.0, 10.0], margins, strict=True)
    ]
    orders = load_orders(frame(rows, ("Customer", "Date", "Amount", header)), as_of=AS_OF)
    assert orders.lines["margin_amount"].tolist() == pytest.approx(expected)


def test_a_total_that_overflows_is_refused_naming_the_rows() -> None:
    """Two amounts of 1e308 made the revenue a blank cell without a word."""
    rows = [["C1", "2024-01-31", 5.0], ["C1", "2024-02-01", 1e308], ["C2", "2024-02-02", 1e308]]
    assert math.isinf(sum(row[2] for row in rows))
    with pytest.raises(InputError, match=r"The amounts in the orders table add up beyond .*rows"):
        load_orders(frame(rows), as_of=AS_OF)
    with pytest.raises(InputError) as raised:
        load_orders(frame(rows), as_of=AS_OF)
    assert str(raised.value).endswith("check rows 3, 4.")


def test_margins_that_overflow_are_refused() -> None:
    rows = [["C1", "2024-01-31", 1e308, -1e308], ["C2", "2024-02-01", 1.0, 0.5]]
    headers = ("Customer", "Date", "Amount", "Cost")
    with pytest.raises(InputError, match=r"The margins in the orders table add up beyond"):
        load_orders(frame(rows, headers), as_of=AS_OF)
