"""Reading orders: recognition, types, row accounting and every bad-input message."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import re
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clv_xl.errors import InputError
from clv_xl.orders.load import BLANK_SEGMENT, ColumnMap, Orders, load_orders, orders_from_grid
from clv_xl.templates.sample import sample_orders, write_orders

AS_OF = dt.date(2024, 12, 31)
FORMULA_TEXT = '=HYPERLINK("http://x","y")'


def excel_serial(day: dt.date) -> float:
    """Excel's 1900-system serial number of a day, computed from its definition."""
    return float((day - dt.date(1899, 12, 30)).days)


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]], origin: str = "A1") -> Path:
    """A workbook with one sheet per item; text starting with '=' is stored as text."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    first_row, first_column = openpyxl.utils.cell.coordinate_to_tuple(origin)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                cell = sheet.cell(first_row + r, first_column + c, value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"
    workbook.save(path)
    return path


def write_csv(
    path: Path, rows: list[list[object]], separator: str = ";", encoding: str = "utf-8-sig"
) -> Path:
    with path.open("w", newline="", encoding=encoding) as file:
        csv.writer(file, delimiter=separator).writerows(rows)
    return path


def load(rows: list[list[object]], headers: list[str], **kwargs: object) -> Orders:
    kwargs.setdefault("as_of", AS_OF)
    return load_orders(pd.DataFrame(rows, columns=headers), **kwargs)


def reasons(orders: Orders) -> dict[str, tuple[int, tuple[int, ...]]]:
    return {e.reason: (e.count, e.examples) for e in orders.exclusions}


# ----------------------------------------------------------------------------------------------
# Header recognition


@pytest.mark.parametrize(
    "headers",
    [
        ["Customer ID", "Order date", "Amount"],
        ["customer_id", "order_date", "revenue"],
        ["CLIENT", "Date", "Total"],
        ["Klantnummer", "Orderdatum", "Bedrag"],
        ["klant-id", "BESTELDATUM", "Omzet (EUR)"],
        ["Klant", "Datum", "Bedrag incl. BTW"],
        ["  Klant ID ", "datum", "Totaal bedrag"],
        ["Debiteurnummer", "Factuurdatum", "Waarde"],
    ],
)
def test_recognises_english_and_dutch_headers(headers: list[str]) -> None:
    orders = load([["C1", "2024-01-31", 10.0]], headers)
    assert orders.columns == dict(zip(("customer", "date", "amount"), headers, strict=True))
    assert orders.lines["customer"].tolist() == ["C1"]


def test_recognises_optional_columns_in_any_order() -> None:
    headers = ["Aantal", "Kanaal", "Kostprijs", "Bedrag", "Ordernummer", "Datum", "Klant"]
    orders = load([[2, "Web", 4.0, 10.0, "A1", "2024-01-31", "C1"]], headers)
    assert orders.columns == {
        "customer": "Klant",
        "date": "Datum",
        "amount": "Bedrag",
        "order_id": "Ordernummer",
        "cost": "Kostprijs",
        "quantity": "Aantal",
    }
    assert orders.segments == ("Kanaal",)
    assert orders.lines[["quantity", "margin_amount"]].values.tolist() == [[2.0, 10.0 - 4.0]]
    assert list(orders.lines.columns) == [
        "customer",
        "date",
        "amount",
        "order_id",
        "margin_amount",
        "quantity",
        "row",
        "Kanaal",
    ]


def test_column_map_overrides_the_guess() -> None:
    headers = ["Naam", "Wanneer", "Hoeveel", "Amount"]
    orders = load(
        [["Ann", "2024-01-31", 7.0, 99.0]],
        headers,
        columns=ColumnMap(customer="Naam", date="wanneer", amount="HOEVEEL"),
    )
    assert orders.columns == {"customer": "Naam", "date": "Wanneer", "amount": "Hoeveel"}
    assert orders.lines["amount"].tolist() == [7.0]
    assert "Amount" in orders.ignored_columns


def test_a_named_column_that_does_not_exist_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"no column 'Klantcode'.*'Customer', 'Date', 'Amount'"):
        load(
            [["C1", "2024-01-31", 1.0]],
            ["Customer", "Date", "Amount"],
            columns=ColumnMap(customer="Klantcode"),
        )


def test_a_missing_required_column_names_what_was_looked_for_and_what_was_found() -> None:
    with pytest.raises(InputError) as raised:
        load([["C1", 1.0]], ["Customer", "Price"])
    message = str(raised.value)
    assert "order date or amount column" in message
    assert "'Order date'" in message and "'Bedrag'" in message
    assert "'Customer', 'Price'" in message


# ----------------------------------------------------------------------------------------------
# Every row accounted for


def test_each_exclusion_reason_with_counts_and_sheet_rows() -> None:
    # (customer, date, amount, order id) and the reason each row must get (None = used)
    table = [
        (["C1", "2024-01-31", 10.0, "A"], None),
        ([None, None, None, None], "empty row"),
        (["  ", "2024-01-31", 10.0, "B"], "missing customer"),
        (["C2", None, 10.0, "C"], "missing date"),
        (["C2", "31-02-2024", 10.0, "D"], "unreadable date"),
        (["C2", "someday", 10.0, "E"], "unreadable date"),
        (["C2", "2025-01-01", 10.0, "F"], "future date"),
        (["C2", "2024-01-31", None, "G"], "missing amount"),
        (["C2", "2024-01-31", "ten", "H"], "non-numeric amount"),
        (["C2", "2024-01-31", math.inf, "I"], "non-finite amount"),
        (["C1", "2024-01-31", 10.0, "A"], "duplicate order id"),  # a double export
        (["C3", "2024-01-31", 5.0, "A"], "duplicate order id"),  # another customer's order
        (["C1", "2024-02-01", 5.0, "A"], "duplicate order id"),  # another date
        (["C1", "2024-01-31", 5.0, "A"], None),  # a second line of order A
        (["C4", "2024-12-31", 0.0, None], None),  # zero is an order; as_of itself is not future
        (["C4", "2024-06-01", -3.5, "J"], None),  # a refund
    ]
    orders = load([row for row, _ in table], ["Customer", "Date", "Amount", "Order"])
    expected: dict[str, list[int]] = {}
    for position, (_, reason) in enumerate(table):
        if reason is not None:
            expected.setdefault(reason, []).append(position + 2)
    assert reasons(orders) == {r: (len(rows), tuple(rows[:5])) for r, rows in expected.items()}
    used_rows = [position + 2 for position, (_, reason) in enumerate(table) if reason is None]
    assert orders.lines["row"].tolist() == used_rows
    assert orders.lines["amount"].tolist() == [10.0, 5.0, 0.0, -3.5]
    assert orders.rows_read == len(table)
    assert orders.rows_used + orders.rows_excluded == orders.rows_read


def test_examples_are_the_first_five_rows() -> None:
    rows = [["C1", "2024-01-31", 1.0]] + [[None, "2024-01-31", 1.0]] * 8
    orders = load(rows, ["Customer", "Date", "Amount"])
    assert reasons(orders) == {"missing customer": (8, (3, 4, 5, 6, 7))}


def test_future_dates_default_to_after_today() -> None:
    today = dt.date.today()
    rows = [["C1", today, 1.0], ["C1", today + dt.timedelta(days=1), 2.0]]
    orders = load_orders(pd.DataFrame(rows, columns=["Customer", "Date", "Amount"]))
    assert reasons(orders) == {"future date": (1, (3,))}


CUSTOMERS = st.sampled_from(["C1", "C2", " ", None, FORMULA_TEXT])
DATES = st.sampled_from(
    ["2024-01-31", "31-01-2024", "2099-01-01", "not a date", None, dt.date(2024, 2, 1), 45322.0]
)
AMOUNTS = st.sampled_from(["12,50", 10.0, 0.0, -5.0, "abc", math.inf, None])
ORDER_IDS = st.sampled_from(["A", "B", None])
PARSED_DATES = {"2024-01-31": "2024-01-31", "31-01-2024": "2024-01-31", 45322.0: "2024-01-31"}


def expected_reason(row: list[object], earlier: list[list[object]], owners: dict) -> str | None:
    """The reason a row is excluded, decided one row at a time (the loader decides per column)."""
    customer, date, amount, order = row
    blank = [v is None or (isinstance(v, str) and not v.strip()) for v in row]
    parsed_date = PARSED_DATES.get(date, "2024-02-01" if isinstance(date, dt.date) else None)
    checks = [
        (all(blank), "empty row"),
        (blank[0], "missing customer"),
        (blank[1], "missing date"),
        (date == "not a date", "unreadable date"),
        (date == "2099-01-01", "future date"),
        (blank[2], "missing amount"),
        (amount == "abc", "non-numeric amount"),
        (amount == math.inf, "non-finite amount"),
        (row in earlier, "duplicate order id"),
        (order in owners and owners[order] != (customer, parsed_date)
         # a refund may carry its order's id on a later date, not another customer's
         and (amount != -5.0 or owners[order][0] != customer), "duplicate order id"),
    ]  # fmt: skip
    return next((reason for failed, reason in checks if failed), None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(CUSTOMERS, DATES, AMOUNTS, ORDER_IDS).map(list), min_size=1))
def test_every_row_is_used_or_excluded_with_its_reason(rows: list[list[object]]) -> None:
    expected: list[str | None] = []
    used: list[list[object]] = []
    owners: dict[object, tuple[object, object]] = {}
    for row in rows:
        reason = expected_reason(row, used, owners)
        expected.append(reason)
        if reason is None:
            used.append(row)
            if row[3] is not None:
                owners.setdefault(row[3], (row[0], PARSED_DATES.get(row[1], "2024-02-01")))
    frame = pd.DataFrame(rows, columns=["Customer", "Date", "Amount", "Order"])
    if all(reason is not None for reason in expected):
        with pytest.raises(InputError, match=f"None of the {len(rows)} data rows"):
            load_orders(frame, as_of=AS_OF)
        return
    orders = load_orders(frame, as_of=AS_OF)
    counts = Counter(reason for reason in expected if reason is not None)
    assert {e.reason: e.count for e in orders.exclusions} == dict(counts)
    for exclusion in orders.exclusions:
        rows_with_reason = [
            i + 2 for i, reason in enumerate(expected) if reason == exclusion.reason
        ]
        assert exclusion.examples == tuple(rows_with_reason[:5])
    assert orders.lines["row"].tolist() == [i + 2 for i, r in enumerate(expected) if r is None]
    assert orders.rows_used + orders.rows_excluded == orders.rows_read == len(rows)
    amounts = {"12,50": 12.5, 10.0: 10.0, 0.0: 0.0, -5.0: -5.0}
    assert orders.lines["amount"].tolist() == [amounts[row[2]] for row in used]
    assert orders.lines["customer"].tolist() == [row[0] for row in used]


def test_lines_of_one_order_are_all_used() -> None:
    rows = [
        ["SO-1", "C1", "2024-01-31", 10.0, "Shoes"],
        ["SO-1", "C1", "2024-01-31", 5.0, "Socks"],
        ["SO-1", "C1", "2024-01-31", 5.0, "Socks"],  # an exact repeat: a double export
        ["SO-2", "C1", "2024-01-31", 5.0, "Socks"],
    ]
    orders = load(rows, ["Order ID", "Customer", "Date", "Amount", "Product"])
    assert orders.lines["order_id"].cat.codes.tolist() == [0, 0, 1]  # SO-1, SO-1, SO-2
    assert reasons(orders) == {"duplicate order id": (1, (4,))}


def test_order_ids_are_kept_as_codes_in_sorted_order() -> None:
    """Millions of distinct order ids cost integer codes, not a text category each: lines of
    one order share a code, the ids numbered in sorted order (blank ids have none)."""
    rows = [
        ["B-7", "C1", "2024-01-31", 1.0],
        [None, "C2", "2024-01-31", 2.0],
        ["A-1", "C2", "2024-02-01", 3.0],
        ["B-7", "C1", "2024-01-31", 4.0],
    ]
    lines = load(rows, ["Order ID", "Customer", "Date", "Amount"]).lines
    assert lines["order_id"].cat.codes.tolist() == [1, -1, 0, 1]  # A-1 before B-7
    assert lines["order_id"].cat.categories.tolist() == [0, 1]


def test_order_ids_of_a_csv_file_are_coded_alike(tmp_path: Path) -> None:
    """Text read by pyarrow stays in Arrow's buffers; its order ids are coded by sorting."""
    rows = [["Order ID", "Customer", "Date", "Amount"], ["B-7", "C1", "31-01-2024", "1"]]
    rows += [["", "C2", "31-01-2024", "2"], [" A-1", "C2", "01-02-2024", "3"]]
    rows += [["B-7 ", "C1", "31-01-2024", "4"], ["A-1", "C2", "01-02-2024", "5"]]
    orders = load_orders(write_csv(tmp_path / "ids.csv", rows), as_of=AS_OF)
    assert orders.lines["order_id"].cat.codes.tolist() == [1, -1, 0, 1, 0]
    assert orders.lines["amount"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize(
    "ids",
    [
        ["A-1", "A-2", "B-1"],  # ascending, each once: one comparison of neighbours
        ["A-1", "A-1", "A-2", "A-2", "A-2", "B-1"],  # ascending, lines of an order together
        ["A-1", "", "A-1", "A-2", "", "B-1"],  # ascending around blank ids
        ["A-2", "A-1", "A-2", "B-1"],  # not in order: sorted
        ["A-1", "A-2", "A-2", "A-1"],  # in order until the last line
        ["A-1"],
    ],
)
def test_order_ids_are_numbered_in_sorted_order_in_any_input_order(
    tmp_path: Path, ids: list[str]
) -> None:
    """The codes rank each line's id among the distinct ids, whatever their input order."""
    rows = [["Order ID", "Customer", "Date", "Amount"]]
    rows += [[order, "C1", "31-01-2024", str(k + 1)] for k, order in enumerate(ids)]
    orders = load_orders(write_csv(tmp_path / "ids.csv", rows), as_of=AS_OF)
    distinct = sorted({order for order in ids if order})
    expected = [distinct.index(order) if order else -1 for order in ids]
    assert orders.lines["order_id"].cat.codes.tolist() == expected
    assert orders.rows_used == len(ids)


def test_without_order_ids_identical_rows_are_separate_orders() -> None:
    rows = [["C1", "2024-01-31", 5.0]] * 2
    orders = load(rows, ["Customer", "Date", "Amount"])
    assert orders.rows_used == 2
    assert "order_id" not in orders.lines.columns


def test_every_row_excluded_is_an_input_error_that_says_why() -> None:
    rows = [[None, "2024-01-31", 1.0], ["C1", "2024-13-45", 1.0]]
    with pytest.raises(InputError) as raised:
        load(rows, ["Customer", "Date", "Amount"])
    assert str(raised.value) == (
        "None of the 2 data rows in the orders table can be used: "
        "missing customer in 1 row (row 2); unreadable date in 1 row (row 3)."
    )


# ----------------------------------------------------------------------------------------------
# Types: dates, numbers, text


def test_dates_in_every_form() -> None:
    day = dt.date(2024, 1, 31)
    forms = [
        day,
        dt.datetime(2024, 1, 31, 13, 45),
        pd.Timestamp("2024-01-31 23:59"),
        excel_serial(day),
        excel_serial(day) + 0.75,
        "2024-01-31",
        "2024-01-31 13:45",
        "2024-01-31T13:45:00.000Z",
        "31-01-2024",
        "31/01/2024",
        "31.01.2024",
        "31-1-24",
        "31 jan 2024",
        "31 januari 2024",
        str(int(excel_serial(day))),
    ]
    orders = load([["C1", form, 1.0] for form in forms], ["Customer", "Date", "Amount"])
    assert orders.lines["date"].tolist() == [pd.Timestamp(day)] * len(forms)
    assert orders.lines["date"].dtype == "datetime64[ns]"


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["03/04/2024", "05/06/2024"], [dt.date(2024, 4, 3), dt.date(2024, 6, 5)]),
        (["03/04/2024", "12/31/2024"], [dt.date(2024, 3, 4), dt.date(2024, 12, 31)]),
        (["03/04/2024", "31/12/2024"], [dt.date(2024, 4, 3), dt.date(2024, 12, 31)]),
    ],
)
def test_ambiguous_dates_are_day_first_unless_the_column_says_otherwise(
    texts: list[str], expected: list[dt.date]
) -> None:
    orders = load([["C1", text, 1.0] for text in texts], ["Customer", "Date", "Amount"])
    assert orders.lines["date"].dt.date.tolist() == expected


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["€ 1.234,56", "12,5", "-7"], [1234.56, 12.5, -7.0]),
        (["1,234.56", "12.5", "(7.25)"], [1234.56, 12.5, -7.25]),
        (["1.234", "12,50"], [1234.0, 12.5]),  # a comma column: the point groups thousands
        (["1.234", "12.50"], [1.234, 12.5]),
        (["EUR 10", "1 000,00"], [10.0, 1000.0]),
    ],
)
def test_amounts_written_as_text(texts: list[str], expected: list[float]) -> None:
    orders = load([["C1", "2024-01-31", text] for text in texts], ["Customer", "Date", "Amount"])
    assert orders.lines["amount"].tolist() == pytest.approx(expected)


def test_text_that_does_not_fit_the_columns_decimal_style_is_not_a_number() -> None:
    rows = [["C1", "2024-01-31", text] for text in ["1,5", "2,5", "3.25"]]
    orders = load(rows, ["Customer", "Date", "Amount"])
    assert orders.lines["amount"].tolist() == [1.5, 2.5]
    assert reasons(orders) == {"non-numeric amount": (1, (4,))}


def test_text_is_data_and_whole_number_ids_lose_their_decimal_point() -> None:
    rows = [
        [FORMULA_TEXT, "2024-01-31", 1.0],
        [1001.0, "2024-01-31", 1.0],
        [" C7 ", dt.date(2024, 1, 1), 1],
    ]
    orders = load(rows, ["Customer", "Date", "Amount"])
    assert orders.lines["customer"].tolist() == [FORMULA_TEXT, "1001", "C7"]
    assert orders.lines["customer"].dtype == "category"
    assert str(orders.lines["customer"].cat.categories.dtype) == "str"


def test_integer_customer_numbers_become_text() -> None:
    frame = pd.DataFrame({"Klant": [17, 4], "Datum": ["2024-01-31"] * 2, "Omzet": [1, 2]})
    orders = load_orders(frame, as_of=AS_OF)
    assert orders.lines["customer"].tolist() == ["17", "4"]
    assert orders.lines["amount"].dtype == "float64"


# ----------------------------------------------------------------------------------------------
# Margins


def test_margin_from_cost() -> None:
    rows = [
        ["C1", "2024-01-31", 100.0, 60.0],
        ["C1", "2024-02-01", -50.0, -30.0],
        ["C1", "2024-02-02", 80.0, None],
    ]
    orders = load(rows, ["Customer", "Date", "Amount", "Cost"])
    margins = orders.lines["margin_amount"].tolist()
    assert margins[:2] == [100.0 - 60.0, -50.0 + 30.0] and math.isnan(margins[2])
    assert orders.rows_without_margin == 1


@pytest.mark.parametrize(
    ("margins", "expected"),
    [
        ([0.3, -0.1, None], [0.3 * 100.0, -0.1 * 50.0, None]),  # fractions of the amount
        (["30%", "-10%", None], [0.3 * 100.0, -0.1 * 50.0, None]),
        ([30.0, 0.5, None], [30.0, 0.5, None]),  # one value above 1: currency amounts
    ],
)
def test_margin_column_as_fraction_or_currency(margins: list, expected: list) -> None:
    rows = [
        ["C1", "2024-01-31", amount, m]
        for amount, m in zip([100.0, 50.0, 10.0], margins, strict=True)
    ]
    orders = load(rows, ["Customer", "Date", "Amount", "Marge"])
    got = [None if math.isnan(v) else v for v in orders.lines["margin_amount"]]
    assert got == pytest.approx(expected)
    assert orders.columns["margin"] == "Marge"
    assert orders.rows_without_margin == 1


def test_cost_wins_over_margin_and_unreadable_costs_are_reported() -> None:
    rows = [["C1", "2024-01-31", 100.0, 70.0, 0.5], ["C1", "2024-02-01", 10.0, "n/a", 0.5]]
    orders = load(rows, ["Customer", "Date", "Amount", "COGS", "Gross margin"])
    assert "margin" not in orders.columns and orders.columns["cost"] == "COGS"
    assert orders.lines["margin_amount"].iloc[0] == 30.0
    assert [(e.reason, e.count, e.examples) for e in orders.unreadable_cells] == [
        ("non-numeric cost", 1, (3,))
    ]
    assert orders.rows_without_margin == 1


def test_without_cost_or_margin_every_margin_is_missing() -> None:
    orders = load([["C1", "2024-01-31", 1.0]] * 3, ["Customer", "Date", "Amount"])
    assert orders.rows_without_margin == 3


# ----------------------------------------------------------------------------------------------
# Segments


def test_text_columns_become_segments_and_other_columns_are_ignored() -> None:
    rows = [
        ["C1", "2024-01-31", 1.0, "Web", None, 3.5, "2024-02-01", "e1@x.nl"],
        ["C2", "2024-01-31", 1.0, "Shop", "NL", 4.5, "2024-02-02", "e2@x.nl"],
    ]
    headers = ["Customer", "Date", "Amount", "Kanaal", "Land", "Korting", "Verzenddatum", "Email"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("clv_xl.orders.load.MAX_SEGMENT_VALUES", 1)
        capped = load(rows, headers)
    assert capped.segments == ("Land",)
    assert capped.ignored_columns == ("Kanaal", "Korting", "Verzenddatum", "Email")
    orders = load(rows, headers)
    assert orders.segments == ("Kanaal", "Land", "Email")
    assert orders.ignored_columns == ("Korting", "Verzenddatum")
    assert orders.lines["Land"].tolist() == ["(blank)", "NL"]


def test_explicit_segments() -> None:
    rows = [["C1", "2024-01-31", 1.0, "Web", 3]]
    headers = ["Customer", "Date", "Amount", "Kanaal", "Regio"]
    orders = load(rows, headers, columns=ColumnMap(segments=("regio",)))
    assert orders.segments == ("Regio",)
    assert orders.lines["Regio"].tolist() == ["3"]
    assert load(rows, headers, columns=ColumnMap(segments=())).segments == ()
    with pytest.raises(InputError, match="no column 'Product' \\(given as a segment column\\)"):
        load(rows, headers, columns=ColumnMap(segments=("Product",)))


# ----------------------------------------------------------------------------------------------
# Files: CSV


def test_european_csv(tmp_path: Path) -> None:
    rows = [
        ["Klantnummer", "Orderdatum", "Bedrag", "Kanaal"],
        ["1001", "31-01-2024", "1.234,56", "Webwinkel"],
        ["1002", "01-02-2024", "-12,50", "Café"],
        ["", "", "", ""],
        ["1001", "29-02-2024", "0,00", "Webwinkel"],
    ]
    path = write_csv(tmp_path / "orders.csv", rows)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    orders = load_orders(path, as_of=AS_OF)
    assert orders.lines["customer"].tolist() == ["1001", "1002", "1001"]
    assert orders.lines["date"].dt.date.tolist() == [
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 1),
        dt.date(2024, 2, 29),
    ]
    assert orders.lines["amount"].tolist() == [1234.56, -12.5, 0.0]
    assert orders.lines["Kanaal"].tolist() == ["Webwinkel", "Café", "Webwinkel"]
    assert orders.lines["row"].tolist() == [2, 3, 5]
    assert reasons(orders) == {"empty row": (1, (4,))}
    assert orders.source.path == str(path) and orders.source.sheet is None
    assert orders.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_workbooks_sha256_is_the_files_whether_or_not_work_runs_meanwhile(
    tmp_path: Path,
) -> None:
    """The digest is computed while fastexcel parses the sheet (the pipeline's imports run
    then too): the same as hashlib's of the file's bytes."""
    from clv_xl.orders.headers import GUESS
    from clv_xl.orders.source import workbook_sheet

    path = tmp_path / "orders.xlsx"
    frame = pd.DataFrame(
        {"Customer": ["A", "B"], "Date": pd.to_datetime(["2024-01-02", "2024-02-03"]),
         "Amount": [10.0, 20.0]}
    )  # fmt: skip
    frame.to_excel(path, index=False)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_orders(path).source.sha256 == expected
    called: list[int] = []
    sheet = workbook_sheet(path, None, GUESS, meanwhile=lambda: called.append(1))
    assert called == [1] and sheet.source.sha256 == expected and sheet.source.path == str(path)


def test_windows_1252_csv_with_excel_separator_line(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes("sep=;\r\nKlant;Datum;Bedrag\r\nRenée;31/01/2024;12\r\n".encode("cp1252"))
    orders = load_orders(path, as_of=AS_OF)
    assert orders.lines["customer"].tolist() == ["Renée"]
    assert orders.lines["row"].tolist() == [3]


def test_windows_1252_far_into_a_csv_is_read_as_such(tmp_path: Path) -> None:
    """Only the 5,000th line has a byte that is no UTF-8 (beyond the first 64 KB looked at
    for the separator): the whole file is Windows-1252."""
    lines = ["Klant;Datum;Bedrag"] + [f"Klant {i:05d};31-01-2024;{i}" for i in range(4999)]
    lines.append("Renée;01-02-2024;7")
    path = tmp_path / "orders.csv"
    path.write_bytes("\r\n".join(lines).encode("cp1252"))
    orders = load_orders(path, as_of=AS_OF)
    assert orders.rows_used == 5000
    assert orders.lines["customer"].iloc[-1] == "Renée" and orders.lines["row"].iloc[-1] == 5001


@pytest.mark.parametrize("separator", [",", "\t", "|"])
def test_csv_with_other_separators_and_decimal_points(tmp_path: Path, separator: str) -> None:
    rows = [
        ["customer", "date", "amount"],
        ["A", "2024-01-31", "1,234.50"],
        ["B", "2024-02-01", "3"],
    ]
    orders = load_orders(write_csv(tmp_path / "o.csv", rows, separator), as_of=AS_OF)
    assert orders.lines["amount"].tolist() == [1234.5, 3.0]


def test_formula_text_in_csv_stays_text(tmp_path: Path) -> None:
    rows = [["Customer", "Date", "Amount"], [FORMULA_TEXT, "2024-01-31", "1"]]
    orders = load_orders(write_csv(tmp_path / "o.csv", rows), as_of=AS_OF)
    assert orders.lines["customer"].tolist() == [FORMULA_TEXT]


# ----------------------------------------------------------------------------------------------
# Files: workbooks


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
def test_workbook_with_real_dates_serial_dates_and_text(tmp_path: Path, suffix: str) -> None:
    rows = [
        ["Order ID", "Customer ID", "Order date", "Amount", "Cost", "Channel"],
        ["SO-1", FORMULA_TEXT, dt.date(2024, 1, 31), 100.0, 60.0, "Web"],
        ["SO-2", 1001, excel_serial(dt.date(2024, 3, 1)), 20, None, None],
        ["SO-3", "C3", "15-06-2024", "12,50", 10, "Shop"],
    ]
    path = write_xlsx(tmp_path / f"orders{suffix}", {"Orders": rows})
    orders = load_orders(path, as_of=AS_OF)
    lines = orders.lines
    assert lines["customer"].tolist() == [FORMULA_TEXT, "1001", "C3"]
    assert lines["date"].dt.date.tolist() == [
        dt.date(2024, 1, 31),
        dt.date(2024, 3, 1),
        dt.date(2024, 6, 15),
    ]
    assert lines["amount"].tolist() == [100.0, 20.0, 12.5]
    assert lines["margin_amount"].tolist()[0] == 40.0 and lines["margin_amount"].tolist()[2] == 2.5
    assert lines["Channel"].tolist() == ["Web", "(blank)", "Shop"]
    assert orders.source.sheet == "Orders"


def test_texts_that_differ_only_in_spaces_are_one_customer_and_one_segment(
    tmp_path: Path,
) -> None:
    rows = [
        ["Customer", "Date", "Amount", "Channel"],
        [" C1", dt.date(2024, 1, 31), 10.0, "Web "],
        ["C1 ", dt.date(2024, 2, 1), 20.0, "Web"],
        ["C1", dt.date(2024, 2, 2), 30.0, "   "],
        ["C2", dt.date(2024, 2, 3), 40.0, " Shop"],
    ]
    orders = load_orders(write_xlsx(tmp_path / "orders.xlsx", {"Orders": rows}), as_of=AS_OF)
    lines = orders.lines
    assert lines["customer"].tolist() == ["C1", "C1", "C1", "C2"]
    assert sorted(lines["customer"].cat.categories) == ["C1", "C2"]
    assert lines["Channel"].tolist() == ["Web", "Web", "(blank)", "Shop"]
    assert sorted(lines["Channel"].cat.categories) == ["(blank)", "Shop", "Web"]


def test_a_sheet_parsed_first_gives_the_same_orders(tmp_path: Path) -> None:
    """The pipeline parses a workbook's sheet before it imports pandas and the reading."""
    from clv_xl.orders.headers import GUESS
    from clv_xl.orders.source import workbook_sheet

    rows = [
        ["Customer", "Order date", "Amount", "Channel"],
        ["C1", dt.date(2024, 1, 31), 10.0, "Web"],
        ["C2", "15-06-2024", "12,50", None],
        [None, dt.date(2024, 2, 1), 5.0, "Shop"],
    ]
    path = write_xlsx(tmp_path / "orders.xlsx", {"Notes": [["x"]], "Orders": rows})
    parsed = load_orders(workbook_sheet(path, None, GUESS), as_of=AS_OF)
    direct = load_orders(path, as_of=AS_OF)
    pd.testing.assert_frame_equal(parsed.lines, direct.lines)
    assert parsed.source == direct.source and parsed.source.sheet == "Orders"
    assert parsed.exclusions == direct.exclusions


def test_rows_are_sheet_rows_when_the_table_starts_lower(tmp_path: Path) -> None:
    rows = [
        ["Sales export, January"],
        [],
        ["Customer", "Date", "Amount"],
        ["C1", dt.date(2024, 1, 2), 5.0],
        [None, dt.date(2024, 1, 3), 5.0],
    ]
    path = write_xlsx(tmp_path / "orders.xlsx", {"Data": rows}, origin="B3")
    orders = load_orders(path, as_of=AS_OF)
    assert orders.lines["row"].tolist() == [6]
    assert reasons(orders) == {"missing customer": (1, (7,))}
    assert orders.rows_read == 2


def test_the_sheet_with_orders_is_found(tmp_path: Path) -> None:
    orders_rows = [["Klant", "Datum", "Omzet"], ["C1", dt.date(2024, 1, 2), 5.0]]
    path = write_xlsx(
        tmp_path / "book.xlsx",
        {"Notes": [["Read me"], ["nothing here"]], "Verkopen": orders_rows, "Other": [[1, 2]]},
    )
    assert load_orders(path, as_of=AS_OF).source.sheet == "Verkopen"
    assert load_orders(path, sheet="verkopen", as_of=AS_OF).source.sheet == "Verkopen"
    with pytest.raises(InputError, match="no sheet 'Orders'; its sheets are 'Notes', 'Verkopen'"):
        load_orders(path, sheet="Orders")
    with pytest.raises(InputError, match="Found no customer or order date or amount column"):
        load_orders(path, sheet="Notes")


def test_hidden_sheets_do_not_count(tmp_path: Path) -> None:
    old_copy = [["Klant", "Datum", "Omzet"], ["OLD", "2020-01-02", 1]]
    sales = [["Klant", "Datum", "Omzet"], ["C1", "2024-01-02", 5]]
    path = write_xlsx(tmp_path / "book.xlsx", {"Old": old_copy, "Sales": sales})
    assert load_orders(path, as_of=AS_OF).source.sheet == "Old"  # the first recognisable
    workbook = openpyxl.load_workbook(path)
    workbook["Old"].sheet_state = "hidden"
    workbook.save(path)
    assert load_orders(path, as_of=AS_OF).source.sheet == "Sales"  # the only visible sheet


def test_no_recognisable_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", {"A": [["x", "y"]], "B": [["z"], [1]]})
    with pytest.raises(
        InputError, match=r"No sheet of book.xlsx has a header row .* its sheets are 'A', 'B'"
    ):
        load_orders(path)


def test_the_sample_round_trips_through_a_workbook(tmp_path: Path) -> None:
    sample = sample_orders(customers=150, seed=3)
    path = write_orders(sample, tmp_path / "sample.xlsx")
    orders = load_orders(path)
    assert orders.rows_read == orders.rows_used == len(sample)
    lines = orders.lines
    assert lines["customer"].tolist() == sample["Customer ID"].tolist()
    ids = pd.factorize(sample["Order ID"], sort=True)[0]
    assert lines["order_id"].cat.codes.tolist() == ids.tolist()
    assert (lines["date"] == sample["Order date"]).all()
    assert lines["amount"].tolist() == sample["Amount"].tolist()
    assert lines["margin_amount"].to_numpy() == pytest.approx(
        (sample["Amount"] - sample["Cost"]).to_numpy()
    )
    assert orders.segments == ("Channel", "Country")


# ----------------------------------------------------------------------------------------------
# A sheet read by fastexcel gives what its cells give


def read_grid(grid: list[list[object]]) -> Orders | str:
    """The orders of an xlwings-style grid whose first row is sheet row 1, or the error."""
    try:
        return orders_from_grid(grid, workbook="b.xlsx", sheet="S", first_row=1, as_of=AS_OF)
    except InputError as error:
        return str(error)


def read_saved(grid: list[list[object]], path: Path) -> Orders | str:
    """The orders of the same grid saved as sheet S of b.xlsx and read from the file."""
    write_xlsx(path / "b.xlsx", {"S": grid})
    try:
        return load_orders(path / "b.xlsx", as_of=AS_OF)
    except InputError as error:
        return str(error)


def assert_same_orders(first: Orders | str, second: Orders | str) -> None:
    assert type(first) is type(second)
    if isinstance(first, str):
        assert first == second
        return
    assert isinstance(second, Orders)
    pd.testing.assert_frame_equal(first.lines, second.lines, check_exact=True)
    for field in ("columns", "segments", "rows_read", "exclusions", "ignored_columns"):
        assert getattr(first, field) == getattr(second, field)
    assert first.unreadable_cells == second.unreadable_cells


ODD_CELLS = st.sampled_from(
    [None, "", "  ", " C1 ", "Web", 1.0, 1001, dt.date(2024, 1, 31), "2024-01-31",
     "12.50", "abc", FORMULA_TEXT]
)  # fmt: skip
# Not "12,50": a column of numbers and text reaches the reading as text from fastexcel, and its
# numbers then vote in the column's decimal style (see `orders._number_strings`).
COLUMN_CELLS = [
    st.floats(-1e4, 1e4, allow_nan=False).map(lambda x: round(x, 2) + 0.0),  # no -0.0
    st.sampled_from(["C1", " C2 ", "Web", "", "  "]),
    st.dates(dt.date(2023, 1, 1), dt.date(2024, 12, 31)),
    ODD_CELLS,
]


@st.composite
def grids(draw: st.DrawFn) -> list[list[object]]:
    """A title, blank rows, a header and columns of one kind of cell with the odd other cell."""
    headers = ["Customer", "Date", "Amount", "Channel", None][: draw(st.integers(3, 5))]
    cells = [
        st.one_of(draw(st.sampled_from(COLUMN_CELLS)), ODD_CELLS) if draw(st.booleans()) else kind
        for kind in (draw(st.sampled_from(COLUMN_CELLS)) for _ in headers)
    ]
    above = [["Export"]] * draw(st.integers(0, 1)) + [[None] * len(headers)] * draw(
        st.integers(0, 3)
    )
    body = draw(st.lists(st.tuples(*cells).map(list), min_size=1, max_size=14))
    return [*above, headers, *body]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(grid=grids())
def test_a_saved_sheet_gives_the_orders_of_its_cells(
    grid: list[list[object]], tmp_path: Path
) -> None:
    assert_same_orders(read_saved(grid, tmp_path), read_grid(grid))


def test_sheet_rows_types_and_column_letters_of_a_table_lower_right(tmp_path: Path) -> None:
    rows = [
        ["Customer", "Date", "Amount", None],
        *[[f" C{i} ", dt.date(2024, 1, i), float(i), None] for i in range(1, 6)],
        ["C6", "06-01-2024", "6,50", "late note"],  # text among floats and dates
        [None, None, None, None],
        ["  ", dt.date(2024, 1, 8), 8.0, None],
    ]
    path = write_xlsx(tmp_path / "orders.xlsx", {"Orders": rows}, origin="C5")
    orders = load_orders(path, as_of=AS_OF)
    assert orders.lines["customer"].tolist() == [f"C{i}" for i in range(1, 7)]
    assert orders.lines["date"].dt.day.tolist() == list(range(1, 7))
    assert orders.lines["amount"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.5]
    assert orders.lines["row"].tolist() == list(range(6, 12))  # header on sheet row 5
    assert reasons(orders) == {"empty row": (1, (12,)), "missing customer": (1, (13,))}
    assert orders.segments == ("Column F",)  # the fourth column of a table from column C
    assert orders.lines["Column F"].tolist() == ["(blank)"] * 5 + ["late note"]


# ----------------------------------------------------------------------------------------------
# Bad input


def test_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_orders(tmp_path / "missing.xlsx")


@pytest.mark.parametrize("name", ["orders.pdf", "orders"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("x")
    with pytest.raises(InputError, match=f"{name} is not a file clv_xl can read orders from"):
        load_orders(tmp_path / name)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Customer;Date;Amount\n", "is not an Excel workbook"),
        (b"PK\x03\x04 not really a zip", "cannot be read as an Excel workbook"),
        (bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504), "cannot be read as an Excel workbook"),
    ],
)
def test_files_that_are_not_workbooks(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_bytes(content)
    with pytest.raises(InputError, match=re.escape(f"orders.xlsx {message}")):
        load_orders(path)


def test_a_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(InputError, match=r"orders.xlsx cannot be read as an Excel workbook"):
        load_orders(path)


def test_password_protected_workbook(tmp_path: Path) -> None:
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    plain = write_xlsx(tmp_path / "plain.xlsx", {"Orders": [["Customer"], ["C1"]]})
    locked = tmp_path / "locked.xlsx"
    with plain.open("rb") as source, locked.open("wb") as target:
        ooxml.OOXMLFile(source).encrypt("secret", target)
    with pytest.raises(InputError, match=r"locked.xlsx is password-protected"):
        load_orders(locked)


def test_empty_sheet_and_sheet_without_data_rows(tmp_path: Path) -> None:
    empty = write_xlsx(tmp_path / "empty.xlsx", {"Orders": []})
    with pytest.raises(InputError, match=r"There is nothing in sheet 'Orders' of empty.xlsx"):
        load_orders(empty)
    headers_only = write_xlsx(tmp_path / "h.xlsx", {"Orders": [["Customer", "Date", "Amount"]]})
    with pytest.raises(InputError, match=r"no data rows below the header row \(row 1\)"):
        load_orders(headers_only)


def test_bad_csv_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty.csv is empty"):
        load_orders(empty)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("Customer;Date;Amount\nC1;2024-01-01;1\nC2;2024-01-01;1;extra;more\n")
    with pytest.raises(InputError, match=r"ragged.csv cannot be read as a CSV file .*line 3"):
        load_orders(ragged)


@pytest.mark.parametrize(
    "text",
    [
        "Customer,Date,Amount\n" + "C" * 3_000_000 + ",2024-01-01,10\n",  # one long value
        ",".join(f"c{i}" for i in range(300_000)) + "\n1,2,3\n",  # a header of 300,000 fields
    ],
    ids=["long value", "long header"],
)
def test_a_line_longer_than_a_block_is_one_plain_sentence(tmp_path: Path, text: str) -> None:
    """Not pyarrow's words ("straddling object", "Empty CSV file or block")."""
    long = tmp_path / "long.csv"
    long.write_text(text)
    with pytest.raises(InputError) as refused:
        load_orders(long)
    assert (
        str(refused.value)
        == "long.csv cannot be read as a CSV file: a line of it is longer than 1 MB."
    )


def test_a_directory_is_not_an_orders_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        load_orders(tmp_path)


@pytest.mark.parametrize("regions", [3, 127, 200])
def test_customers_and_segments_are_the_used_texts_in_sorted_order(regions: int) -> None:
    """Up to 200 segment values and the blank among them (more than int8 category codes
    hold), and customers of excluded rows not among the categories."""
    rng = np.random.default_rng(regions)
    rows = [
        [f"C{rng.integers(500):03d}", dt.date(2024, 1, 1), 10.0, f"R{i % regions:03d}"]
        for i in range(600)
    ]
    for i in range(0, 600, 7):
        rows[i][3] = None if i % 2 else "  "
    rows += [["Z-only-excluded", "not a date", 5.0, "R-excluded"]]
    orders = load(rows, ["Customer", "Date", "Amount", "Region"])
    used = rows[:-1]
    region = orders.lines["Region"]
    expected = [BLANK_SEGMENT if r is None or not r.strip() else r for *_, r in used]
    assert region.astype(str).tolist() == expected
    assert region.cat.categories.tolist() == sorted(set(expected))
    customers = orders.lines["customer"]
    assert customers.astype(str).tolist() == [c for c, *_ in used]
    assert customers.cat.categories.tolist() == sorted({c for c, *_ in used})


def test_nullable_and_categorical_dataframe_columns() -> None:
    frame = pd.DataFrame(
        {
            "Customer": pd.Series(["C1", None], dtype="string"),
            "Date": pd.to_datetime(["2024-01-31", "2024-02-01"]).tz_localize("Europe/Amsterdam"),
            "Amount": pd.Series([5, None], dtype="Int64"),
            "Channel": pd.Categorical(["Web", "Shop"]),
        }
    )
    orders = load_orders(frame, as_of=AS_OF)
    assert orders.lines["date"].tolist() == [pd.Timestamp("2024-01-31")]
    assert orders.lines["amount"].tolist() == [5.0]
    assert orders.lines["Channel"].tolist() == ["Web"]
    assert reasons(orders) == {"missing customer": (1, (3,))}
    assert orders.source.path is None
    assert np.issubdtype(orders.lines["row"].dtype, np.int64)


def test_a_date_in_a_text_column_of_a_workbook_reads_as_iso_text(tmp_path: Path) -> None:
    """fastexcel writes a date among texts as '2024-01-31 00:00:00'; the customer is the day,
    whether the text column arrives as categories or as Arrow-backed text."""
    rows = [["Customer", "Date", "Amount"], ["C1", dt.date(2024, 2, 1), 5.0]]
    rows.append([dt.datetime(2024, 1, 31), dt.date(2024, 2, 2), 7.0])
    path = write_xlsx(tmp_path / "mixed.xlsx", {"Orders": rows})
    orders = load_orders(path, as_of=AS_OF)
    assert orders.lines["customer"].tolist() == ["C1", "2024-01-31"]
