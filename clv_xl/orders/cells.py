"""A column's cells as the orders are read: blank cells (None, NaN, empty or spaces-only
text) missing, text stripped and categorical, its categories the distinct stripped texts in
order of first appearance.

Arrow readers' text (fastexcel, pyarrow.csv, Parquet) is dictionary-encoded once by Arrow and
only its distinct texts are stripped; a grid's or a DataFrame's is factorised (`cleaned`).
Each distinct text is then typed once (see `clv_xl.orders.values.by_unique`). The order ids,
compared only and often distinct in every row, stay in the Arrow reader's buffers (pandas'
Arrow-backed ``str``, see `clv_xl.orders.values.text_codes`). Numbers are float64 and dates
datetime64 when the reader typed them so; a column of mixed cells stays objects (grids) or
text (fastexcel, CSV).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as pdt

from clv_xl.alongside import alongside

#: Rows from which a table's columns are typed two at a time (`typed_columns`).
TWO_THREADS_FROM_ROWS = 10_000


def typed_columns(
    columns: list[pa.Array | pa.ChunkedArray | None], ids: int | None
) -> list[pd.Series | np.ndarray]:
    """Each Arrow column as cells (`_arrow_cells`; column ``ids``, the order ids, as text
    that hardly repeats). From TWO_THREADS_FROM_ROWS rows on, two threads take the columns
    in turn, each the next one not taken (`alongside`: Arrow's kernels hold no GIL, and one
    column of many distinct texts takes as long as several others); below, typing a column
    is mostly Python and a thread would only wait its turn. Each entry of ``columns`` is set
    to None as its column is typed, so that the column's text is freed once typed when
    nothing else holds it."""
    typed: list[pd.Series | np.ndarray] = [np.empty(0)] * len(columns)
    untyped = iter(range(len(columns)))  # shared: each next() hands out one column

    def each() -> None:
        for k in untyped:
            column, columns[k] = columns[k], None
            assert column is not None
            if isinstance(column, pa.ChunkedArray):
                column = column.combine_chunks()
            typed[k] = _arrow_cells(column, k != ids)

    first = columns[0] if columns else None
    if first is None or len(first) < TWO_THREADS_FROM_ROWS:
        each()
        return typed
    with alongside(each) as other:
        each()
        other.result()
    return typed


def _arrow_cells(array: pa.Array, repeats: bool = True) -> pd.Series | np.ndarray:
    """An Arrow column as cells: text as categories (`_text_categories`), or as Arrow-backed
    str when it hardly ``repeats`` (order ids, see `_text_cells`), numbers as float64 (float64
    columns as a bare array), dates and times as datetime64, anything else (booleans,
    durations) as objects."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _text_categories(array) if repeats else _text_cells(array)
    if pa.types.is_null(kind):
        return pd.Series(np.full(len(array), np.nan))
    if pa.types.is_float64(kind):  # most columns of a wide sheet: as they are, no Series
        return array.to_numpy(zero_copy_only=False)
    if pa.types.is_integer(kind) and not _exact_as_float(array):  # ids of 64 bits: as text
        return _arrow_cells(array.cast(pa.string()), repeats)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return pd.Series(array.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False))
    if pa.types.is_date(kind):
        return pd.Series(array.cast(pa.timestamp("s")).to_pandas())
    if pa.types.is_timestamp(kind):
        return pd.Series(array.to_pandas())
    return pd.Series(array.to_pylist(), dtype=object)


#: The integers a float64 holds exactly: |n| <= 2^53.
EXACT_FLOAT_INTEGER = 2**53


def _exact_as_float(array: pa.Array) -> bool:
    """Whether every integer of ``array`` is a float64 exactly (64-bit ids are often not)."""
    bounds = pc.min_max(array)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return low is None or (low >= -EXACT_FLOAT_INTEGER and high <= EXACT_FLOAT_INTEGER)


def _text_cells(array: pa.Array) -> pd.Series:
    """Text as pandas' Arrow-backed ``str``, stripped, blank text missing: the reader's buffers,
    no Python object per cell and no hashing of the texts (an order id column of millions of
    distinct texts is hashed once, where it is compared)."""
    stripped = pc.utf8_trim_whitespace(array) if _may_need_stripping(array) else array
    blank = pc.equal(pc.binary_length(stripped), 0)
    if pc.any(blank).as_py():
        stripped = pc.if_else(blank, pa.scalar(None, stripped.type), stripped)
    return pd.Series(pd.array(stripped, dtype="str"))


#: The bytes a text that Arrow (and Python) would strip may start or end with: ASCII white
#: space (with the separators 0x1c-0x1f) and any byte of a non-ASCII character.
EDGE_SPACE = np.isin(np.arange(256), [*range(9, 14), *range(28, 33), *range(128, 256)])


def _may_need_stripping(array: pa.Array) -> bool:
    """Whether a text may start or end with white space: each text's first and last byte
    looked up in its buffers (no copy of the texts; an empty text looks at a neighbour's)."""
    offsets_type = np.int64 if pa.types.is_large_string(array.type) else np.int32
    _, offsets_buffer, data_buffer = array.buffers()
    if data_buffer is None or not data_buffer.size:
        return False
    offsets = np.frombuffer(offsets_buffer, dtype=offsets_type)
    offsets = offsets[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    first = data[np.minimum(offsets[:-1], data.size - 1)]
    last = data[np.maximum(offsets[1:] - 1, 0)]
    return bool(EDGE_SPACE[first].any() or EDGE_SPACE[last].any())


def _text_categories(array: pa.Array) -> pd.Series:
    """Text as categories, as `cleaned` makes them: Arrow encodes the column once, each
    distinct text is stripped when one may start or end with white space (texts equal once
    stripped meet; blank text is missing), and the categories are the stripped texts in
    order of first appearance."""
    encoded = pc.dictionary_encode(array)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    stripped, code_of = encoded.dictionary, np.arange(len(encoded.dictionary))
    if _may_need_stripping(stripped):
        merged = pc.dictionary_encode(pc.utf8_trim_whitespace(stripped))
        stripped, code_of = merged.dictionary, merged.indices.to_numpy()
    blank = pc.index(stripped, "").as_py()
    if blank >= 0:  # the blank text: code -1, the later texts one lower
        code_of = np.where(code_of == blank, -1, code_of - (code_of > blank))
        stripped = pa.concat_arrays([stripped.slice(0, blank), stripped.slice(blank + 1)])
    if len(stripped) < len(code_of):  # texts met or a blank left: the rows' codes anew
        codes = np.append(code_of, -1).astype(codes.dtype)[codes]  # -1 (missing) picks the last
    return pd.Series(categorical(codes, pd.Index(stripped, dtype="str")))


def categorical(codes: np.ndarray, categories: pd.Index) -> pd.Categorical:
    """``codes`` into ``categories`` (distinct; code -1 is missing)."""
    return cast(
        pd.Categorical, pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories))
    )


def cleaned(values: pd.Series) -> pd.Series:
    """A column's cells with text stripped and every blank (empty text, spaces, None, NaN) as
    missing. A column of text (and blanks) comes back categorical, the stripped texts its
    categories; a mixed column comes back as objects (see `inferred`)."""
    if isinstance(values.dtype, pd.api.extensions.ExtensionDtype) and not isinstance(
        values.dtype, pd.StringDtype | pd.DatetimeTZDtype
    ):
        values = values.astype(object)
    if not pdt.is_string_dtype(values.dtype):  # numbers, dates, booleans: NaN/NaT is blank
        return values
    codes, found = pd.factorize(values)
    uniques = np.asarray(found, dtype=object)
    if pdt.infer_dtype(uniques) != "string":  # mixed: blank text missing, the rest as it is
        stripped_values = np.array([*map(_stripped, uniques), None], dtype=object)
        return pd.Series(stripped_values[codes], index=values.index, dtype=object)  # -1 -> None
    stripped = np.fromiter(map(str.strip, uniques), dtype=object, count=len(uniques))
    blank = stripped == ""
    if blank.any() or (stripped != uniques).any():  # ' A' and 'A' meet; blanks are missing
        stripped[blank] = None
        codes_of_stripped, stripped = pd.factorize(stripped)
        codes = np.append(codes_of_stripped, -1)[codes]  # code -1 (blank) stays -1
    text = categorical(codes, pd.Index(stripped, dtype="str"))
    return pd.Series(text, index=values.index)


def _stripped(value: object) -> object:
    return (value.strip() or None) if isinstance(value, str) else value


def object_cells(values: Sequence[object]) -> pd.Series:
    """A grid column's cells (see `cleaned`), typed when they are all of one kind."""
    objects = pd.Series(list(values), dtype=object)
    has_text = any(isinstance(value, str) for value in values)
    return inferred(cleaned(objects if has_text else inferred(objects)))


def inferred(values: pd.Series) -> pd.Series:
    """An object column as float64, str or datetime64 when all its cells are of one kind."""
    return values.infer_objects() if values.dtype == object else values
