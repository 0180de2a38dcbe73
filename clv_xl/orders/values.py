"""Cell values typed by column: numbers, dates and texts, as `clv_xl.orders.load` reads them.

Every converter takes a whole column (a pandas Series) and returns it typed: `numbers`
(float64, NaN when not a number), `dates` (datetime64[ns] at midnight, NaT when not a
plausible date), `texts` (str, or categories of str). A column of mixed cells (objects) is
split into parts of one dtype first (`parse_column`); text is converted once per distinct
value (`by_unique`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as pdt

from clv_xl.functions.excel_dates import EXCEL_EPOCH
from clv_xl.orders.currency import IN_AMOUNT

EXCEL_DAY_0 = pd.Timestamp(EXCEL_EPOCH)
FIRST_DATE = pd.Timestamp("1900-01-01")
END_DATE = pd.Timestamp("2262-01-01")  # datetime64[ns] ends in 2262


# ----------------------------------------------------------------------------------------------
# Object columns part by part


_NUMBER, _TEXT, _MOMENT, _OTHER, _BLANK = range(5)


def _kind(value: object) -> int:
    if isinstance(value, bool | np.bool_):
        return _OTHER
    if isinstance(value, int | float | np.number):
        return _NUMBER
    if isinstance(value, str):
        return _TEXT
    if isinstance(value, dt.datetime):
        return _MOMENT if value.tzinfo is None else _OTHER
    if isinstance(value, dt.date | np.datetime64):
        return _MOMENT
    return _OTHER


_AS_KIND: dict[int, Callable[[pd.Series], pd.Series]] = {
    _NUMBER: lambda part: part.astype("float64"),
    _TEXT: lambda part: part.astype("str"),
    _MOMENT: pd.to_datetime,
    _OTHER: lambda part: part,
}


def _typed_parts(values: pd.Series) -> list[pd.Series]:
    """An object column split into parts of one dtype: float64, str, datetime64 and the rest."""
    codes, uniques = pd.factorize(values)
    kinds = np.append([_kind(value) for value in uniques], _BLANK).astype(np.int8)
    row_kinds = kinds[codes]  # code -1 (missing) picks the appended _BLANK
    parts = [(values[row_kinds == kind], as_kind) for kind, as_kind in _AS_KIND.items()]
    return [as_kind(part) for part, as_kind in parts if len(part)]


def parse_column(values: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a converter of one-dtype columns to any column; object columns part by part."""
    if values.dtype != object:
        return convert(values)
    parts = [convert(part) for part in _typed_parts(values)]
    if not parts:
        return convert(pd.Series(np.nan, index=values.index))
    return pd.concat(parts).reindex(values.index)


def by_unique(values: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Convert each distinct value once (a categorical's categories), then spread the results
    over the rows."""
    codes, uniques = distinct_values(values)
    converted = convert(uniques)  # in the order of ``uniques``
    if isinstance(converted.dtype, np.dtype) and converted.dtype.kind in "fM":  # NaN or NaT at -1
        missing = np.array([np.nan]).astype(converted.dtype)
        spread = np.concatenate([converted.to_numpy(), missing])[codes]
        return pd.Series(spread, index=values.index)
    if isinstance(converted.dtype, pd.CategoricalDtype):  # codes of codes, in their small dtype
        inner = np.append(converted.cat.codes.to_numpy(), -1)  # the last for code -1
        spread_codes = pd.Categorical.from_codes(inner[codes], dtype=converted.dtype)
        return pd.Series(spread_codes, index=values.index)
    return pd.Series(converted.array.take(codes, allow_fill=True), index=values.index)


def distinct_values(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(each row's code, -1 for a blank; the distinct values). Arrow-backed text is encoded
    by Arrow (no Python object per row), in order of first appearance."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), pd.Series(values.cat.categories)
    if isinstance(values.array, pd.arrays.ArrowStringArray):
        encoded = pc.dictionary_encode(_arrow_text(values))
        indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        return indices.astype(np.int64), pd.Series(encoded.dictionary, dtype="str")
    codes, uniques = pd.factorize(values)
    return codes, pd.Series(uniques)


def _arrow_text(values: pd.Series) -> pa.Array:
    """The Arrow array inside an Arrow-backed text column (one chunk)."""
    texts = pa.array(values.array)
    return texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts


def text_codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """Each row's text as an integer code (-1 for a blank), the distinct texts numbered in
    sorted order, and how many distinct texts there are. Arrow-backed text is sorted, not
    hashed: equal texts are neighbours once sorted, and millions of distinct texts (order
    ids) need no hash table of them. Texts in ascending order already (order ids as shops
    number them) are not sorted."""
    if not isinstance(values.array, pd.arrays.ArrowStringArray):
        codes, uniques = distinct_values(values)
        rank = np.empty(len(uniques) + 1, dtype=np.int32)  # the last for code -1
        rank[np.argsort(uniques.to_numpy(dtype=object), kind="stable")] = np.arange(len(uniques))
        rank[-1] = -1
        return rank[codes], len(uniques)
    texts = _arrow_text(values)
    ordered = texts.drop_null()
    filled = len(ordered)
    starts = np.ones(filled, dtype=bool)  # where a new text's run starts, in sorted order
    if filled > 1:  # in the input's order: a run starts wherever a text is above the last
        starts[1:] = pc.greater(ordered.slice(1), ordered[:-1]).to_numpy(zero_copy_only=False)
    order = None  # the rows in sorted order, when that is not the input's
    if not _ascending(ordered, starts):
        order = pc.sort_indices(texts).to_numpy()[:filled]  # the blanks sort last
        ordered = texts.take(pa.array(order))
        starts[1:] = pc.not_equal(ordered.slice(1), ordered[:-1]).to_numpy(zero_copy_only=False)
    elif texts.null_count:
        order = np.flatnonzero(texts.is_valid().to_numpy(zero_copy_only=False))
    ranks = np.cumsum(starts, dtype=np.int32)  # fewer rows than 2^31 fit in memory
    ranks -= 1
    if order is not None:  # each row's rank in its place, blanks -1
        codes = np.full(len(texts), -1, dtype=np.int32)
        codes[order] = ranks
        ranks = codes
    return ranks, int(starts.sum())


def _ascending(texts: pa.Array, rising: np.ndarray) -> bool:
    """Whether ``texts`` are in ascending order, given where each is above the one before
    (``rising``): only the others are compared again, which must equal the one before."""
    repeated = np.flatnonzero(~rising[1:])
    if not len(repeated):
        return True
    later = texts.take(pa.array(repeated + 1))
    return bool(pc.all(pc.equal(later, texts.take(pa.array(repeated)))).as_py())


# ----------------------------------------------------------------------------------------------
# Converters of one-dtype columns: numbers, dates, text


def is_text(dtype: np.dtype | pd.api.extensions.ExtensionDtype) -> bool:
    """str or object text, or categories (which `clv_xl.orders.cells` only makes of text)."""
    return pdt.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype)


def numbers(values: pd.Series, decimal_comma: bool) -> pd.Series:
    """float64; NaN for blanks and for anything that is not a number."""
    if pdt.is_bool_dtype(values.dtype) or values.dtype == object:
        return pd.Series(np.nan, index=values.index)
    if pdt.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    if is_text(values.dtype):
        return by_unique(values, partial(_number_strings, decimal_comma=decimal_comma))
    return pd.Series(np.nan, index=values.index)


NUMBER_NOISE = r"[\s'’]|" + IN_AMOUNT  # spaces, apostrophes (1'234), currency
COMMA_STYLE = r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*)(?:,\d+)?"  # 1.234,56
POINT_STYLE = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?"  # 1,234.56
INFINITY = r"[+-]?inf(?:inity)?"


def _number_strings(text: pd.Series, decimal_comma: bool) -> pd.Series:
    """Numbers written as text: '€ 1.234,56', '1,234.56', '(12.50)', '35%', '-7'.

    The decimal separator is decided for the whole column: the style that more
    values can only be read in wins (ties: ``decimal_comma``); values that do not
    fit it are not numbers, so nothing is misread by a factor of 1000.
    """
    noisy = text.str.contains(r"[^0-9.,+-]")  # plain digits and signs have no noise
    unnoised = text[noisy].str.replace(NUMBER_NOISE, "", regex=True)
    cleaned = text.mask(noisy, unnoised).str.replace("−", "-")
    bracketed = cleaned.str.fullmatch(r"\(.+\)")
    cleaned = cleaned.where(~bracketed, "-" + cleaned.str.slice(1, -1))
    percent = cleaned.str.endswith("%")
    cleaned = cleaned.str.removesuffix("%")
    digits = cleaned.str.contains(r"\d")
    comma = cleaned.str.fullmatch(COMMA_STYLE) & digits
    point = cleaned.str.fullmatch(POINT_STYLE) & digits
    comma_only, point_only = int((comma & ~point).sum()), int((point & ~comma).sum())
    if comma_only > point_only or (comma_only == point_only and decimal_comma):
        valid = comma
        plain = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        valid, plain = point, cleaned.str.replace(",", "", regex=False)
    valid |= cleaned.str.fullmatch(INFINITY, case=False)
    numbers = pd.to_numeric(plain.where(valid), errors="coerce").astype("float64")
    return numbers.where(~percent, numbers / 100)


def dates(values: pd.Series) -> pd.Series:
    """datetime64[ns] at midnight; NaT for blanks and unreadable or implausible dates.

    Accepts real dates, Excel serial numbers (1900 date system) and text: ISO
    (2024-01-31, with or without a time), day-first (31-01-2024, 31/01/2024,
    31.01.2024, 31 jan 2024) or month-first when the column shows it (see
    `_date_strings`).
    """
    if pdt.is_datetime64_any_dtype(values.dtype):
        moments = values.dt.tz_localize(None) if values.dt.tz is not None else values
    elif pdt.is_bool_dtype(values.dtype) or values.dtype == object:
        moments = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    elif pdt.is_numeric_dtype(values.dtype):
        moments = excel_serial(values.astype("float64"))
    elif is_text(values.dtype):
        return by_unique(values, lambda text: _plausible_days(_date_strings(text)))
    else:
        moments = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    return _plausible_days(moments)


def _plausible_days(moments: pd.Series) -> pd.Series:
    """Each moment's day (datetime64[ns] at midnight), NaT outside FIRST_DATE to END_DATE."""
    plausible = (moments >= FIRST_DATE) & (moments < END_DATE)
    return moments.where(plausible).astype("datetime64[ns]").dt.normalize()


def excel_serial(serial: pd.Series) -> pd.Series:
    """Excel's 1900-system day numbers (45322 = 2024-01-31); the fraction is the time of day."""
    last = (END_DATE - EXCEL_DAY_0).days
    days = np.floor(serial.where((serial >= 1) & (serial < last)))
    return EXCEL_DAY_0 + pd.to_timedelta(days, unit="D")


_TIME = (  # an optional time of day after a date: " 13:05", "T13:05:00.000Z", " 1:05 PM"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[aApP][mM])?\s*(?:Z|[+-]\d{2}:?\d{2})?)?"
)
ISO_DATE = rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME}$"
NUMERIC_DATE = rf"^(\d{{1,2}})[-/.](\d{{1,2}})[-/.](\d{{4}}|\d{{2}}){_TIME}$"
NAMED_DATE = rf"^(\d{{1,2}})[-/. ]+([A-Za-z]{{3,}})\.?[-/. ]+(\d{{4}}){_TIME}$"
SERIAL_TEXT = r"^\d{1,7}(?:[.,]\d+)?$"
# fmt: off
MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "maa": 3, "mrt": 3, "apr": 4, "may": 5, "mei": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "okt": 10, "nov": 11, "dec": 12,
}
# fmt: on


def _date_strings(text: pd.Series) -> pd.Series:
    """Dates written as text; 03/04/2024 is 3 April unless the column holds a 13/31/2024."""
    text = text.str.strip()
    iso = text.str.extract(ISO_DATE).astype("float64")
    numeric = text.str.extract(NUMERIC_DATE).astype("float64")
    named = text.str.extract(NAMED_DATE)
    month_first = bool((numeric[1] > 12).any()) and not bool((numeric[0] > 12).any())
    day, month = (numeric[1], numeric[0]) if month_first else (numeric[0], numeric[1])
    year = numeric[2].where(numeric[2] >= 100, numeric[2] + 2000)
    named_month = named[1].str.slice(0, 3).str.lower().map(MONTHS)
    parts = pd.DataFrame(
        {
            "year": iso[0].fillna(year).fillna(named[2].astype("float64")),
            "month": iso[1].fillna(month).fillna(named_month.astype("float64")),
            "day": iso[2].fillna(day).fillna(named[0].astype("float64")),
        }
    )
    moments = pd.to_datetime(parts, errors="coerce")
    serial = text.where(text.str.fullmatch(SERIAL_TEXT)).str.replace(",", ".", regex=False)
    return moments.fillna(excel_serial(pd.to_numeric(serial, errors="coerce")))


MIDNIGHT = r"(\d{4}-\d{2}-\d{2}) 00:00:00"  # a date in a text column, as fastexcel writes it


def texts(values: pd.Series) -> pd.Series:
    """str, or categories of str; whole numbers without '.0' (customer 1001.0 -> '1001');
    dates as ISO text (a reader's '2024-01-31 00:00:00' too)."""
    if isinstance(values.dtype, pd.CategoricalDtype) or pdt.is_string_dtype(values.dtype):
        categories = isinstance(values.dtype, pd.CategoricalDtype)
        distinct = values.cat.categories if categories else values
        if distinct.str.contains(" 00:00:00", regex=False).any():  # text already: a cheap test
            return by_unique(values, lambda text: text.str.replace(MIDNIGHT, r"\1", regex=True))
        return values if values.dtype != object else values.astype("str")
    if pdt.is_bool_dtype(values.dtype) or values.dtype == object:
        return values.astype("str")
    if pdt.is_datetime64_any_dtype(values.dtype):
        return values.dt.strftime("%Y-%m-%d").astype("str")
    if pdt.is_float_dtype(values.dtype):
        numbers = values.to_numpy(dtype="float64")
        whole = np.isfinite(numbers) & (np.abs(numbers) < 2**53) & (numbers == np.trunc(numbers))
        text = values.astype("str")
        text[whole] = numbers[whole].astype(np.int64).astype(str)
        return text
    return values.astype("str")
