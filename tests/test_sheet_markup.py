"""Row and cell tags read as calamine's XML reader reads them, across pieces, whatever
comments, quotes and prefixes the XML holds."""

from __future__ import annotations

import pytest

from clv_xl.errors import InputError
from clv_xl.orders import sheet_markup
from clv_xl.orders.sheet_markup import Tag, row_and_cell_tags


def tags(*pieces: bytes) -> list[Tag]:
    return [tag for found in row_and_cell_tags(pieces, "the sheet") for tag in found]


def test_a_tag_cut_inside_a_quoted_value_is_read_whole() -> None:
    """A piece ends after a '>'; one inside a quoted value does not end the tag."""
    read = tags(b'<row r="1"><c s=">', b'" r="XFD1048576"><v>1</v></c></row>')
    assert read == [
        Tag(b"row", end=False, empty=False, references=((b"", b"1"),)),
        Tag(b"c", end=False, empty=False, references=((b"XFD", b"1048576"),)),
        Tag(b"c", end=True, empty=False, references=()),
        Tag(b"row", end=True, empty=False, references=()),
    ]


def test_comments_cdata_and_instructions_hold_no_tags() -> None:
    read = tags(
        b"<row><!-- <c r='A1'> </row> >",
        b" --><![CDATA[</row><c>]]><?pi <c>?><!DOCTYPE x [<!ENTITY a '<c>'>]><c/></row>",
    )
    assert [(tag.kind, tag.end, tag.empty) for tag in read] == [
        (b"row", False, False),
        (b"c", False, True),
        (b"row", True, False),
    ]


def test_local_names_count_and_only_an_attribute_named_r_is_a_reference() -> None:
    read = tags(b"""<x:row x:r="5" ar="6"><x:c r='b7' s="1"r="C8"/><c:x r="A1"/><row:c/></x:row>""")
    assert [(tag.kind, tag.references) for tag in read] == [
        (b"row", ()),
        (b"c", ((b"B", b"7"), (b"C", b"8"))),
        (b"c", ()),
        (b"row", ()),
    ]


def test_markup_longer_than_any_sheets_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheet_markup, "LONGEST_MARKUP_BYTES", 100)
    with pytest.raises(InputError, match=r"^the sheet has a piece of XML markup .* longer"):
        tags(b'<row><c s="' + b"x>" * 30, b"x>" * 30)
