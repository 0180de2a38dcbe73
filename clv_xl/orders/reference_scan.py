"""The cells of a piece of sheet XML and how far their references reach, read with numpy.

A cell is an element ``<c`` (or ``<x:c``, with any namespace prefix: calamine matches local
names) followed by white space, ``/`` or ``>``. Excel writes each one as ``<c r="B12"``: its
reference first, in double quotes, capital letters then digits. Such a piece is *standard*,
and its references are read where they stand, a few array look-ups per cell instead of a
step of Python per cell: the pairs ``<c`` and ``:c`` are found by comparing the piece's bytes
with numpy (a few passes at memory speed), and each reference's letters and digits are read
at fixed offsets after its cell's start. A piece holding any other cell (no reference, the
reference not first or not written ``r="``, small letters, any other character, or a
second attribute named r, which calamine would take) is not standard, and the caller reads
the sheet a step per cell. Rows need no reading: a cell with a reference is placed by it
whatever its row says.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: A bound beyond Excel's rows (eight digits).
BEYOND_ROWS = 10**7
_LOOK_UP = np.zeros(256, dtype=bool)
_TAG_END = _LOOK_UP.copy()
_TAG_END[list(b" \t\r\n/>")] = True
_CAPITAL = _LOOK_UP.copy()
_CAPITAL[list(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")] = True
_DIGIT = _LOOK_UP.copy()
_DIGIT[list(b"0123456789")] = True
_REFERENCE_FIRST = b' r="'
#: The bytes of an element's name, and the longest namespace prefix looked back across.
_IN_NAME = ~_LOOK_UP.copy()
_IN_NAME[list(b" \t\r\n<>/=\"'!?")] = False
_LONGEST_PREFIX = 16
#: What an attribute's name follows: white space, or the quote ending the value before.
_ATTRIBUTE_START = _LOOK_UP.copy()
_ATTRIBUTE_START[list(b" \t\r\n\"'")] = True
_Bytes = npt.NDArray[np.uint8]
_Positions = npt.NDArray[np.intp]


def column_index(letters: str) -> int:
    """0-based index of a column's letters: A -> 0, AB -> 27."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


@functools.lru_cache(maxsize=16_384)
def column_of(letters: bytes) -> int:
    """`column_index` of a reference's letters as the XML has them (calamine reads small
    letters as capitals)."""
    return column_index(letters.upper().decode())


@dataclass(frozen=True)
class PieceCells:
    """A piece's cells (elements begun, with a value or empty) and, when it is standard,
    upper bounds on its references' rows and columns (0-based; exact for rows of seven
    digits and for columns) and its leftmost single-letter column (26 when none)."""

    cells: int
    standard: bool
    last_row: int = 0
    last_column: int = -1
    first_column: int = 26


def scan_cells(piece: bytes) -> PieceCells:
    """The cells of a piece of sheet XML (see the module's docstring)."""
    data: _Bytes = np.frombuffer(piece, dtype=np.uint8)
    if len(data) < 3:  # too short to begin a cell
        return PieceCells(0, True)
    pair_end = data[1:] == ord("c")
    pair_end &= (data[:-1] | 6) == ord(">")  # after '<' or ':' (or '8', '>': left out below)
    starts = np.flatnonzero(pair_end)
    lead, after = _at(data, starts, 0), _at(data, starts, 2)
    cell = _TAG_END[after] & ((lead == ord("<")) | (lead == ord(":")))  # not <col> ...
    prefixed = lead == ord(":")
    if prefixed.any():
        cell[prefixed] &= ~_end_tags(data, starts[prefixed])
    if not cell.all():
        starts, after = starts[cell], after[cell]
    standard = bool(np.all(after == ord(" "))) and all(
        bool(np.all(_at(data, starts, 2 + k) == byte))
        for k, byte in enumerate(_REFERENCE_FIRST[1:], start=1)
    )
    if not standard or not _one_reference_each(piece, data, len(starts)):
        return PieceCells(len(starts), False)
    if not len(starts):
        return PieceCells(0, True)
    return _references(data, starts + 2 + len(_REFERENCE_FIRST), len(starts))


def _one_reference_each(piece: bytes, data: _Bytes, cells: int) -> bool:
    """Whether the cells' first attributes and the rows' are the only ones named r: calamine
    takes a cell's last reference (``<c r="A1" r="XFD1048576">``). Counted first: with no
    'r' before white space, every ``r=`` is a cell's ``c r=`` or a row's ``w r=``, in most
    pieces. Else
    (a page's ``header=``, text) each is looked at: an attribute's name follows white space
    or a quote. Anything in the text that reads like one sends the sheet to be read a step
    per cell."""
    plain = not any(space in piece for space in (b"\t", b"\n", b"\r"))
    if (
        plain
        and not _count(piece, b"r ")
        and _count(piece, b"r=") == cells + _count(piece, b"w r=")
    ):
        return True
    named = data[:-1] == ord("r")
    named &= (data[1:] <= ord(" ")) | (data[1:] == ord("="))
    names = np.flatnonzero(named)
    named = _ATTRIBUTE_START[_at(data, names, -1)]
    rows = named & (_at(data, names, -1) == ord(" ")) & (_at(data, names, -2) == ord("w"))
    return int(np.count_nonzero(named)) == cells + int(np.count_nonzero(rows))


def _count(piece: bytes, pattern: bytes) -> int:
    """How often these two or four bytes stand in the piece (compared as one number, at
    each of the offsets they may start at)."""
    word, size = int.from_bytes(pattern, "little"), f"<u{len(pattern)}"
    return sum(
        int(
            np.count_nonzero(
                np.frombuffer(piece, size, (len(piece) - k) // len(pattern), k) == word
            )
        )
        for k in range(len(pattern))
    )


def _references(data: _Bytes, at: _Positions, cells: int) -> PieceCells:
    """Bounds on the references that begin at these positions (after ``r="``)."""
    first = _at(data, at, 0)
    if first.min() < ord("A") or first.max() > ord("Z"):
        return PieceCells(cells, False)
    if _DIGIT[_at(data, at, 1)].all():  # a letter each (columns A to Z), as most sheets
        last_row = _last_row(data, at + 1)
        low, high = int(first.min()) - ord("A"), int(first.max()) - ord("A")
        return PieceCells(cells, last_row >= 0, last_row, high, low)
    column = first.astype(np.int64) - ord("A")
    width = np.ones(len(at), dtype=np.intp)  # the letters read so far, where still letters
    more = np.ones(len(at), dtype=bool)
    for k in (1, 2, 3):  # four letters are beyond XFD (five, not standard, read in turn)
        following = _at(data, at, k)
        more &= _CAPITAL[following]
        if not more.any():
            break
        column = np.where(more, (column + 1) * 26 + following - ord("A"), column)
        width += more
    digits_at = at + width
    if not _DIGIT[_at(data, digits_at, 0)].all():  # small letters, or no row
        return PieceCells(cells, False)
    single = width == 1
    first_column = int(column[single].min()) if single.any() else 26
    last_row = _last_row(data, digits_at)
    return PieceCells(cells, last_row >= 0, last_row, int(column.max()), first_column)


def _last_row(data: _Bytes, digits_at: _Positions) -> int:
    """An upper bound on the row numbers that begin at these positions: 10**n - 1 for the
    most digits n found, read exactly for rows of seven digits; -1 for a malformed one."""
    seven = _DIGIT[_at(data, digits_at, 6)]
    last_row = next(
        (10**n - 1 for n in range(6, 0, -1) if _DIGIT[_at(data, digits_at, n - 1)].any()), 0
    )
    if not seven.any():
        return last_row
    long = digits_at[seven]
    read = [_at(data, long, k) for k in range(8)]
    whole = np.all([_DIGIT[digit] for digit in read[:7]], axis=0)  # else a shorter one
    if _DIGIT[read[7][whole]].any():
        return BEYOND_ROWS
    if (read[7][whole] != ord('"')).any():
        return -1
    numbers = sum((read[k][whole].astype(np.int64) - ord("0")) * 10 ** (6 - k) for k in range(7))
    return max(last_row, int(np.max(numbers, initial=0)))


def _end_tags(data: _Bytes, colons: _Positions) -> npt.NDArray[np.bool_]:
    """Whether the ``:c`` at these positions ends an element (``</x:c>``), found back across
    the prefix; a start, or anything else, is a cell to read."""
    end = np.zeros(len(colons), dtype=bool)
    open_ = np.ones(len(colons), dtype=bool)  # still in a prefix, going back
    for back in range(1, _LONGEST_PREFIX + 2):
        before = _at(data, colons, -back)
        end |= open_ & (before == ord("/")) & (_at(data, colons, -back - 1) == ord("<"))
        open_ &= _IN_NAME[before]
        if not open_.any():
            break
    return end


def _at(data: _Bytes, positions: _Positions, offset: int) -> _Bytes:
    """The bytes this far after these positions (the last byte, a '>', past the end)."""
    return data.take(positions + offset, mode="clip")
