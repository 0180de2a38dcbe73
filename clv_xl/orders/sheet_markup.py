"""The row and cell tags of sheet XML as calamine's XML reader (quick-xml) reads them.

For the sheets whose cells are not all written as Excel writes them (`reference_scan`), so
nothing in the XML is taken for granted: every piece of markup is read whole, as quick-xml
reads it (a tag ends at the first ``>`` outside quotes, and quoted values may hold ``<`` and
``>``; comments, CDATA sections, processing instructions and declarations hold no tags),
names are matched by their local part (``<x:c>`` is a cell), attributes are read one after
the other (with or without spaces between them, in either quotes) and only an attribute
named exactly ``r`` is a reference (not ``x:r``, not ``ar``), in capital or small letters.
Markup cut by the end of a piece is read whole from the next.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from clv_xl.errors import InputError

#: The longest markup (a tag, a comment) read whole: no Excel sheet comes near it (a cell's
#: text, which is not markup, is at most 32,767 characters).
LONGEST_MARKUP_BYTES = 2**24
_MARKUP = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!(?!--|\[CDATA\[)(?:[^>\[\"']|\[[^\]]*\]"
    rb"""|"[^"]*"|'[^']*')*>|<(/?)(?![!?])([^\s/>"']*)((?:[^>"']|"[^"]*"|'[^']*')*)>""",
    re.S,
)
_ATTRIBUTE = re.compile(rb"""([^\s=/>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REFERENCE = re.compile(rb"([A-Za-z]*)([0-9]*)")


@dataclass(frozen=True)
class Tag:
    """A row's or a cell's start (``end`` False, ``empty`` for ``<c/>``) or end tag, and the
    references of its ``r`` attributes (letters and digits; more than one in a damaged
    sheet)."""

    kind: bytes
    end: bool
    empty: bool
    references: tuple[tuple[bytes, bytes], ...]


def row_and_cell_tags(pieces: Iterable[bytes], where: str) -> Iterator[list[Tag]]:
    """The row and cell tags of the XML, a list for each piece of it, in their order."""
    rest = b""
    for piece in pieces:
        data = rest + piece
        tags, read = _tags(data)
        rest = data[read:]
        if len(rest) > LONGEST_MARKUP_BYTES:
            raise InputError(
                f"{where} has a piece of XML markup (a tag or a comment) longer than "
                f"{LONGEST_MARKUP_BYTES // 2**20} MB: it is not an Excel sheet."
            )
        yield tags


def _tags(data: bytes) -> tuple[list[Tag], int]:
    """The row and cell tags of the markup read whole from the start of the data, and where
    the first markup not read whole (cut short, to be read with what follows) begins."""
    tags, at = [], 0
    for markup in _MARKUP.finditer(data):
        if data.find(b"<", at, markup.start() + 1) != markup.start():
            break  # a '<' before it began no whole markup
        at = markup.end()
        end, name, attributes = markup.groups()
        kind = name.partition(b":")[2] or name if name is not None else b""
        if kind in (b"row", b"c"):
            tags.append(Tag(kind, bool(end), attributes.endswith(b"/"), _references(attributes)))
    cut = data.find(b"<", at)
    return tags, len(data) if cut < 0 else cut


def _references(attributes: bytes) -> tuple[tuple[bytes, bytes], ...]:
    """The letters and digits of the attributes named ``r`` that read as references."""
    found = []
    for name, double, single in _ATTRIBUTE.findall(attributes):
        value = _REFERENCE.fullmatch(double or single) if name == b"r" else None
        if value is not None and value.group(2):
            found.append((value.group(1).upper(), value.group(2)))
    return tuple(found)
