"""The cells of sheet XML placed as calamine places them, a tag at a time.

For the sheets whose cells are not all written as Excel writes them (`reference_scan`), so
nothing in the XML is taken for granted. The markup is read as calamine's XML reader
(quick-xml) reads it: a tag ends at the first ``>`` outside quotes, and quoted values may
hold ``<`` and ``>``; comments, CDATA sections, processing instructions and declarations
hold no tags; names are matched by their local part (``<x:c>`` is a cell); attributes are
read one after the other (with or without spaces between them, in either quotes), and only
an attribute named exactly ``r`` is a reference (not ``x:r``, not ``ar``), in capital or
small letters. Markup cut by the end of a piece is read whole with the next.

A row without a reference comes after the row before (a row's end moves on to the next
row, its first cell in column A), a cell without one after the cell before; a reference
places a cell, and its column goes on from there. calamine 0.x takes an empty cell's
reference where newer versions pass over the element: empty cells count as cells, as far
as either reading places them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from clv_xl.errors import InputError
from clv_xl.orders.reference_scan import column_of

#: The longest markup (a tag, a comment) read whole: no Excel sheet comes near it (a cell's
#: text, which is not markup, is at most 32,767 characters).
LONGEST_MARKUP_BYTES = 2**24
_PREFIX = rb"""(?:[^\s/>"'!?:<]++:)?"""
_ATTRIBUTES = rb"""(?:[^>"']|"[^"]*"|'[^']*')*+"""
#: Whole markup other than a row's start or end or a cell's start: text, comments, CDATA,
#: processing instructions, declarations, other tags.
_OTHER = (
    rb"(?:[^<]++|<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"""|<!(?!--|\[CDATA\[)(?:[^>\["']|\[[^\]]*\]|"[^"]*"|'[^']*')*+>"""
    rb"|<(?![!?]|" + _PREFIX + rb"(?:row|c)[\s/>]|/" + _PREFIX + rb"row[\s>])"
    + _ATTRIBUTES + rb">)*+"
)  # fmt: skip
#: Whole markup up to the next row or cell tag (its end mark, name and attributes), or up to
#: markup cut short (all that is left, read again with the next piece), or to the end.
_NEXT_TAG = re.compile(
    _OTHER + rb"(?:<(/?)" + _PREFIX + rb"(row|c)(?=[\s/>])(" + _ATTRIBUTES + rb")>|(<.*)|\Z)",
    re.S,
)
#: What only markup read whole reads right, besides comments, CDATA, instructions and
#: declarations: a quoted value holding '<' or '>' (or text that looks like one). XML with
#: none of them is read tag by tag with a plain search, several times as fast.
_QUOTED_MARKUP = re.compile(rb"""=\s*+(?:"[^"<>]*+[<>]|'[^'<>]*+[<>])""")
_PLAIN_TAG = re.compile(rb"<(/(?=row[\s>]))?(row|c)(?=[\s/>])([^>]*)>")  # (not a cell's end)
_PREFIXED_TAG = re.compile(
    rb"<(/(?=" + _PREFIX + rb"row[\s>]))?" + _PREFIX + rb"(row|c)(?=[\s/>])([^>]*)>"
)
_MAY_REFER = re.compile(rb"r\s*=")  # (the attributes are read whole only then)
_ATTRIBUTE = re.compile(rb"""([^\s=/>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REFERENCE = re.compile(rb"([A-Za-z]*)([0-9]+)")


def placed_cells(pieces: Iterable[bytes], where: str) -> Iterator[tuple[int, int, int]]:
    """After each piece of the XML: its cells so far, and the last row (1-based) and column
    (0-based) that any of them is placed at."""
    row, column, cells, last_row, last_column = 0, 0, 0, 0, -1  # the row, column 0-based
    rest = b""
    for piece in pieces:
        data = rest + piece
        tags, rest = _tags(data)
        refers = _MAY_REFER.search(data) is not None  # (none, in most pieces of such sheets)
        for end, kind, attributes in tags:
            if refers and _MAY_REFER.search(attributes):
                rows, columns = _references(attributes)
            else:
                rows, columns = [], []
            empty = attributes.endswith(b"/")
            if kind == b"c":
                at_row, at_column = (max(rows), max(columns)) if columns else (row, column)
                last_row, last_column = max(last_row, at_row + 1), max(last_column, at_column)
                column = (max(column, at_column) if empty else at_column) + 1
                cells += 1
            elif end:  # a row ends
                row, column = row + 1, 0
            elif empty:  # calamine passes over an empty row, or ends it
                row, column = max([row, *rows]) + 1, 0
            else:
                row = max(rows, default=row)
        if len(rest) > LONGEST_MARKUP_BYTES:
            raise InputError(
                f"{where} has a piece of XML markup (a tag or a comment) longer than "
                f"{LONGEST_MARKUP_BYTES // 2**20} MB: it is not an Excel sheet."
            )
        yield cells, last_row, last_column


def _tags(data: bytes) -> tuple[list[tuple[bytes, bytes, bytes]], bytes]:
    """The row and cell tags of the markup read whole from the start of the data (end mark,
    name, attributes), and the rest, from the first markup not read whole."""
    if b"<!" in data or b"<?" in data or _QUOTED_MARKUP.search(data):
        found = _NEXT_TAG.findall(data)  # markup cut short ends the last match, or the one
        rest = b"".join(cut for *_, cut in found[-2:])  # before the end's empty match
        return [(end, kind, attributes) for end, kind, attributes, _ in found if kind], rest
    last = max(data.rfind(b"<"), 0)  # no tag holds a '<': all before the last one is whole
    prefixed = b":c" in data or b":row" in data
    return (_PREFIXED_TAG if prefixed else _PLAIN_TAG).findall(data, 0, last), data[last:]


def _references(attributes: bytes) -> tuple[list[int], list[int]]:
    """The rows and the columns (0-based) of the attributes named ``r`` that read as
    references (a column only where letters are given)."""
    rows, columns = [], []
    for name, double, single in _ATTRIBUTE.findall(attributes):
        value = _REFERENCE.fullmatch(double or single) if name == b"r" else None
        if value is not None:
            rows.append(int(value.group(2)) - 1)
            if value.group(1):
                columns.append(column_of(value.group(1)))
    return rows, columns
