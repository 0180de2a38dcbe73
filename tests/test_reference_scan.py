"""A piece of sheet XML's cells and the reach of their references, read with numpy at fixed
offsets: against the references read one by one, and the shapes that are not Excel's."""

from __future__ import annotations

import numpy as np
import pytest
from openpyxl.utils.cell import column_index_from_string, get_column_letter

from clv_xl.orders.reference_scan import BEYOND_ROWS, scan_cells


def cells_xml(references: list[tuple[int, int]]) -> bytes:
    """Rows of cells at these (row, 1-based column) places, in the order given, as Excel
    writes them (with the elements around them that are not cells, and attributes whose
    names end in r)."""
    cells = "".join(
        f'<row r="{row}" spans="1:9"><c r="{get_column_letter(column)}{row}" s="1" t="s">'
        f'<v>{row % 97}</v></c><c r="{get_column_letter(column)}{row}" s="2"/></row>'
        for row, column in references
    )
    return (
        '<cols><col min="1" max="3" width="9"/></cols><sheetData>' + cells + "</sheetData>"
        '<conditionalFormatting sqref="A1"><cfRule type="cellIs" operator="equal"/>'
        '</conditionalFormatting><pageMargins left="0.7" header="0.3" footer="0.3"/>'
    ).encode()


@pytest.mark.parametrize(
    ("rows", "columns"),
    [(9, 26), (99_999, 3), (999_999, 26), (1_048_576, 1), (2_000, 702), (1_048_576, 16_384)],
)
def test_the_reach_of_standard_references(rows: int, columns: int) -> None:
    """Columns exact, rows exact once of seven digits (else 10**digits - 1), the leftmost
    single-letter column: as openpyxl reads each reference."""
    generator = np.random.default_rng(rows + columns)
    places = list(
        zip(
            generator.integers(1, rows + 1, 400).tolist(),
            generator.integers(1, columns + 1, 400).tolist(),
            strict=True,
        )
    )
    found = scan_cells(cells_xml(places))
    highest_row = max(row for row, _ in places)
    one_letter = [column - 1 for _, column in places if column <= 26]
    assert found.standard and found.cells == 2 * len(places)
    assert found.last_column == max(column for _, column in places) - 1
    if highest_row > 999_999:
        assert found.last_row == highest_row
    else:
        assert found.last_row == 10 ** len(str(highest_row)) - 1
    assert found.first_column == min(one_letter, default=26)


def test_references_beyond_excels_grid_are_beyond() -> None:
    assert scan_cells(b'<c r="A12345678"><v>1</v></c>').last_row >= BEYOND_ROWS
    four = scan_cells(b'<c r="AAAA1"><v>1</v></c>')
    assert four.standard and four.last_column == 26 + 26**2 + 26**3  # after A to ZZZ
    assert not scan_cells(b'<c r="AAAAA1"><v>1</v></c>').standard  # read in turn
    far = scan_cells(b'<c r="XFE1"><v>1</v></c>')
    assert far.last_column == column_index_from_string("XFE") - 1


def test_a_prefixed_cell_with_its_reference_first_is_read() -> None:
    found = scan_cells(b'<x:row r="5"><x:c r="AB5" t="n"><x:v>1</x:v></x:c></x:row>')
    assert found.standard and found.cells == 1
    assert found.last_column == column_index_from_string("AB") - 1


@pytest.mark.parametrize(
    "cell",
    ["<c><v>1</v></c>", "<c/>", '<c s="1" r="A1"/>', '<c\tr="A1"/>', "<c r='A1'/>",
     '<c r = "A1"/>', '<c r="a1"/>', '<c r="Ab1"/>', '<c r="A"/>', '<c r=""/>', "<x:c/>",
     '<c r="A1234567x"/>', '<c xr="A1"/>', '<c x:r="A1"/>', '<c r_="A1"/>'],
)  # fmt: skip
def test_a_cell_not_as_excel_writes_it_makes_the_piece_not_standard(cell: str) -> None:
    piece = f'<row r="1"><c r="A1"><v>1</v></c>{cell}</row>'.encode()
    found = scan_cells(piece)
    assert not found.standard and found.cells == 2


def test_elements_that_only_begin_like_a_cell_are_not_cells() -> None:
    piece = b'<cols><col min="1"/></cols><is><r><rPr><color rgb="FF0000"/></rPr></r></is>'
    assert scan_cells(piece) == scan_cells(b"") == scan_cells(b"<c")
    assert scan_cells(piece).standard and scan_cells(piece).cells == 0
