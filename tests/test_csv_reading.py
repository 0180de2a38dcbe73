"""A CSV file read as pyarrow reads it (on every core, text dictionary-encoded once) gives
what its cells give as a grid, and its refusals name the line as before."""

from __future__ import annotations

import csv
import datetime as dt
import threading
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_orders import assert_same_orders

from clv_xl.alongside import ONE_THREAD_SETTING
from clv_xl.errors import InputError
from clv_xl.orders.cells import TWO_THREADS_FROM_ROWS, _arrow_cells, cleaned, typed_columns
from clv_xl.orders.headers import GUESS
from clv_xl.orders.load import Orders, load_orders, orders_from_grid
from clv_xl.orders.raw_table import CSV_BLOCK_BYTES, csv_table
from clv_xl.orders.source import orders_file_source

AS_OF = dt.date(2024, 12, 31)


def write_csv(path: Path, rows: list[list[str]], separator: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as file:
        csv.writer(file, delimiter=separator).writerows(rows)
    return path


def sorted_codes(ids: list[str]) -> list[int]:
    """Each id's number among the distinct stripped ids in sorted order; -1 for a blank (the
    promise of `Orders.lines['order_id']`)."""
    number = {text: k for k, text in enumerate(sorted({i.strip() for i in ids} - {""}))}
    return [number.get(i.strip(), -1) for i in ids]


# ----------------------------------------------------------------------------------------------
# Refusals on the parallel reader


def test_a_ragged_line_beyond_the_first_blocks_is_named_by_its_line(tmp_path: Path) -> None:
    """pyarrow's parallel reader numbers no line it refuses; the sentence still names it."""
    lines = ["Customer;Date;Amount"] + [f"C{i};2024-01-01;{i}" for i in range(200_000)]
    lines[150_000] += ";extra"
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 3 * CSV_BLOCK_BYTES
    with pytest.raises(InputError) as refused:
        load_orders(path)
    assert str(refused.value) == (
        "ragged.csv cannot be read as a CSV file (line 150001 has 4 fields, not 3)."
    )


def test_a_ragged_utf16_file_is_read_again_whole(tmp_path: Path) -> None:
    """The serial second reading of UTF-16 text gets all of it, not what the first left."""
    path = tmp_path / "unicode.csv"
    path.write_bytes(
        "Customer\tDate\tAmount\r\nC1\t2024-01-01\t1\r\nC2\t1\t2\t3\r\n".encode("utf-16")
    )
    with pytest.raises(InputError) as refused:
        load_orders(path)
    assert (
        str(refused.value)
        == "unicode.csv cannot be read as a CSV file (line 3 has 4 fields, not 3)."
    )


# ----------------------------------------------------------------------------------------------
# Order ids: sorted, or in ascending order already


@pytest.mark.parametrize(
    "ids",
    [
        ["A-1", "A-1", "", "A-2", " A-3", "A-3 ", "A-4"],  # ascending already: no sort
        ["B-7", "", " A-1", "B-7 ", "A-1", "C-2", "A-1"],  # sorted
        ["", "", "A"],
        ["A-1\u00a0", "\tA-1", "A-2", "A-2\x1c", "é ", "é"],  # white space beyond the ASCII space
        ["X", "X", "X"],
    ],
)
def test_order_ids_of_a_csv_are_numbered_in_sorted_order(tmp_path: Path, ids: list[str]) -> None:
    rows = [["Order ID", "Customer", "Date", "Amount"]]
    rows += [[order, "C1", "2024-01-31", str(i + 1)] for i, order in enumerate(ids)]
    orders = load_orders(write_csv(tmp_path / "ids.csv", rows), as_of=AS_OF)
    assert orders.lines["order_id"].cat.codes.tolist() == sorted_codes(ids)
    assert orders.lines["order_id"].cat.categories.tolist() == list(
        range(max(sorted_codes(ids)) + 1)
    )


# ----------------------------------------------------------------------------------------------
# A CSV file gives the orders of its cells


def as_grid_cell(text: str) -> object:
    return text if text.strip() else None


def read_both(rows: list[list[str]], path: Path) -> tuple[Orders | str, Orders | str]:
    """The orders of ``rows`` written as a CSV file, and of the same texts as a grid."""
    results: list[Orders | str] = []
    readers = [
        lambda: load_orders(write_csv(path / "o.csv", rows), as_of=AS_OF),
        lambda: orders_from_grid(
            [[as_grid_cell(text) for text in row] for row in rows],
            workbook="o.csv",
            sheet="S",
            as_of=AS_OF,
        ),
    ]
    for read in readers:
        try:
            results.append(read())
        except InputError as error:
            results.append(str(error).replace("sheet 'S' of o.csv", "o.csv"))
    return results[0], results[1]


TEXTS = {
    "Order ID": ["SO-1", "SO-2", " SO-1", "SO-3 ", "", "  ", "2024-01-31 00:00:00"],
    "Customer": ["C1", " C1", "c1", "C2 ", "", " ", "1001", "=1+1", "Renée"],
    "Date": ["2024-01-31", "31-01-2024", " 01/02/2024", "45322", "x", "", "2099-01-01"],
    "Amount": ["12.50", "1,234.50", "€ 3", "3 USD", "(2)", "50%", "", "x", " 7 ", "-0"],
    "Channel": ["Web", " Web", "web", "", " ", "Shop", "1", "(blank)"],
}


@st.composite
def csv_rows(draw: st.DrawFn) -> list[list[str]]:
    """A title, blank rows, a header and rows of odd texts (padded, as Excel saves a CSV)."""
    headers = [h for h in TEXTS if h in ("Customer", "Date", "Amount") or draw(st.booleans())]
    width = len(headers)
    above = [["Export"] + [""] * (width - 1)] * draw(st.integers(0, 1))
    above += [[""] * width] * draw(st.integers(0, 2))
    row = st.tuples(*(st.sampled_from(TEXTS[h]) for h in headers)).map(list)
    return [*above, headers, *draw(st.lists(row, min_size=1, max_size=12))]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=csv_rows())
def test_a_csv_file_gives_the_orders_of_its_cells(rows: list[list[str]], tmp_path: Path) -> None:
    assert_same_orders(*read_both(rows, tmp_path))


def test_a_csv_files_text_is_encoded_once_at_reading_but_its_order_ids(tmp_path: Path) -> None:
    """Customers, dates, amounts and segments repeat: categories of their stripped texts, in
    order of first appearance. Order ids, compared only, stay text."""
    rows = [["Order ID", "Klant", "Datum", "Bedrag", "Kanaal"]]
    rows += [["SO-2", " K2", "31-01-2024", "1,50", "Web"], ["SO-1", "K1", "31-01-2024", "2", ""]]
    rows += [["SO-3", "K2 ", "01-02-2024", "1,50", " Web "]]
    path = write_csv(tmp_path / "orders.csv", rows, ";")
    cells = csv_table(path, orders_file_source(path), GUESS).cells
    assert cells["Order ID"].dtype == "str"
    for header in ("Klant", "Datum", "Bedrag", "Kanaal"):
        assert isinstance(cells[header].dtype, pd.CategoricalDtype)
    assert cells["Klant"].cat.categories.tolist() == ["K2", "K1"]
    assert cells["Klant"].cat.codes.tolist() == [0, 1, 0]
    assert cells["Kanaal"].cat.categories.tolist() == ["Web"]
    assert cells["Kanaal"].cat.codes.tolist() == [0, -1, 0]


# ----------------------------------------------------------------------------------------------
# Columns typed two at a time


def many_rows_of_every_kind(rows: int) -> list[list[str]]:
    """A header and ``rows`` rows: order ids in an odd column (typed in the second thread),
    customers, dates, amounts with a decimal point, a count, a channel with spaces, a note
    mostly blank."""
    header = ["Customer", "Order ID", "Date", "Amount", "Cost", "Channel", "Note"]
    return [header] + [
        [f"C{i % 700}", f"SO-{i}", f"2024-0{1 + i % 9}-1{i % 10}", f"{10 + i % 97}.5",
         str(i % 5), ["Web", "Store", " Web "][i % 3], ["", "gift", "x"][i % 7 // 3]]
        for i in range(rows)
    ]  # fmt: skip


@pytest.mark.usefixtures("two_cores")
def test_columns_typed_in_two_threads_are_those_typed_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enough rows for two threads: the same orders as with every call in this thread, and
    as the rows themselves give them (customers, channels stripped, orders per id)."""
    rows = TWO_THREADS_FROM_ROWS + 1
    path = write_csv(tmp_path / "orders.csv", many_rows_of_every_kind(rows))
    two = load_orders(path, as_of=AS_OF)
    monkeypatch.setenv(ONE_THREAD_SETTING, "1")
    assert_same_orders(two, load_orders(path, as_of=AS_OF))
    assert two.rows_used == rows
    assert two.lines["customer"].cat.categories.tolist() == sorted(f"C{i}" for i in range(700))
    assert two.lines["Channel"].cat.categories.tolist() == ["Store", "Web"]
    ids = [row[1] for row in many_rows_of_every_kind(rows)[1:]]
    assert two.lines["order_id"].cat.codes.tolist() == sorted_codes(ids)


@pytest.mark.parametrize(
    ("texts", "categories", "codes"),
    [
        (["Web", "Shop", "Web"], ["Web", "Shop"], [0, 1, 0]),  # nothing to strip: as read
        (["Web\u00a0", "\u3000Web", "Shop", "\u2003"], ["Web", "Shop"], [0, 0, 1, -1]),
        (["Café ", "Café", " ", "é"], ["Café", "é"], [0, 0, -1, 1]),
    ],
)
def test_text_categories_are_stripped_beyond_the_ascii_space(
    texts: list[str], categories: list[str], codes: list[int]
) -> None:
    """White space of any kind at either end goes, blank text is missing, and a column
    whose texts need no stripping keeps its texts as read (the same as `cleaned` gives)."""
    typed = _arrow_cells(pa.array(texts))
    assert typed.cat.categories.tolist() == categories
    assert typed.cat.codes.tolist() == codes
    pd.testing.assert_series_equal(typed, cleaned(pd.Series(texts, dtype="str")))


@pytest.mark.usefixtures("two_cores")
def test_typed_columns_types_each_column_as_alone_and_lets_it_go() -> None:
    """Columns typed in two threads against each typed by itself; every entry let go of."""
    rows = TWO_THREADS_FROM_ROWS
    arrays = [
        pa.array([f"c{i % 9}" for i in range(rows)]),
        pa.array([f"SO-{i}" for i in range(rows)]),  # the order ids, in the second thread
        pa.chunked_array([[1.5] * (rows - 1), [2.0]]),
        pa.array(["x", None] * (rows // 2)),
    ]
    alone = [_arrow_cells(a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a, i != 1)
             for i, a in enumerate(arrays)]  # fmt: skip
    columns: list[pa.Array | pa.ChunkedArray | None] = list(arrays)
    typed = typed_columns(columns, ids=1)
    assert columns == [None] * 4
    for ours, expected in zip(typed, alone, strict=True):
        pd.testing.assert_series_equal(pd.Series(ours), pd.Series(expected))
    assert pd.Series(typed[1]).dtype == "str" and isinstance(typed[0].dtype, pd.CategoricalDtype)


@pytest.mark.usefixtures("two_cores")
def test_an_error_typing_a_column_in_the_second_thread_reaches_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import clv_xl.orders.cells as cells

    def failing(array: pa.Array, repeats: bool = True) -> pd.Series:
        if threading.current_thread() is not threading.main_thread():
            raise MemoryError("no memory for this column")
        return pd.Series(array.to_pylist())

    monkeypatch.setattr(cells, "_arrow_cells", failing)
    columns: list[pa.Array | pa.ChunkedArray | None] = [pa.array([1.0] * TWO_THREADS_FROM_ROWS)] * 2
    with pytest.raises(MemoryError, match="no memory"):
        typed_columns(columns, ids=None)
