"""Cells placed as calamine places them, read a tag at a time across pieces, whatever
comments, quotes and prefixes the XML holds."""

from __future__ import annotations

import pytest

from clv_xl.errors import InputError
from clv_xl.orders import placed_cells as placing
from clv_xl.orders.placed_cells import placed_cells


def reach(*pieces: bytes) -> tuple[int, int, int]:
    """The cells, last row (1-based) and last column (0-based) after the last piece."""
    return list(placed_cells(pieces, "the sheet"))[-1]


def test_a_tag_cut_inside_a_quoted_value_is_read_whole() -> None:
    """A piece ends after a '>'; one inside a quoted value does not end the tag."""
    assert reach(b'<row r="1"><c s=">', b'" r="XFD1048576"><v>1</v></c></row>') == (
        1,
        1_048_576,
        16_383,
    )


def test_cells_follow_one_another_and_rows_too() -> None:
    """Unreferenced cells after a reference go on from it; a row's end starts the next row
    in column A; a row's reference moves back or on."""
    rows = (
        b'<row><c r="C1"><v>1</v></c><c><v>2</v></c></row><row><c/><c><v>3</v></c></row>'
        b'<row r="10"><c><v>4</v></c></row>'
    )
    assert reach(rows) == (5, 10, 3)  # D1 after C1; A2, B2; A10


def test_comments_cdata_and_instructions_hold_no_cells() -> None:
    hidden = reach(
        b"<row><!-- <c r='XFD9'> </row> >",
        b" --><![CDATA[</row><c>]]><?pi <c r='XFD9'>?><!DOCTYPE x [<!ENTITY a '<c>'>]>",
        b"<c/></row>",
    )
    assert hidden == (1, 1, 0)


def test_local_names_count_and_only_an_attribute_named_r_is_a_reference() -> None:
    read = reach(
        b"""<x:row x:r="5" ar="6"><x:c r='b7' s="1"r="C8"/><c:x r="XFD1"/><x:c/></x:row>"""
    )
    assert read == (2, 8, 3)  # C8 (the further of two references), then D8


def test_markup_longer_than_any_sheets_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(placing, "LONGEST_MARKUP_BYTES", 100)
    with pytest.raises(InputError, match=r"^the sheet has a piece of XML markup .* longer"):
        reach(b'<row><c s="' + b"x>" * 30, b"x>" * 30)
