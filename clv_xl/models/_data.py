"""Reading the models' input columns: numbers, checks naming the first bad row, compression.

Identical rows are fitted once with their count as a weight: the likelihood of a
customer depends only on that row, so the weighted sum over distinct rows is exactly
the sum over customers (and far cheaper: purchase data in days repeats a lot).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from clv_xl.models._errors import ModelDataError


class RowSentence(Protocol):
    """What is wrong with the row at a position (a lambda may bind more by default)."""

    def __call__(self, position: int, /) -> str: ...


@dataclass(frozen=True)
class Columns:
    """Validated float columns of equal length; ``index`` labels rows when given as Series."""

    values: dict[str, np.ndarray]
    weights: np.ndarray
    index: pd.Index | None

    def __len__(self) -> int:
        return len(self.weights)

    def row(self, position: int) -> str:
        """How a person finds row ``position``: its index label, else its number from 1."""
        if self.index is None:
            return f"row {position + 1}"
        label = self.index[position]
        return f"{self.index.name} {label!r}" if self.index.name else f"row {label!r}"

    def reject_first(self, bad: np.ndarray, sentence: RowSentence) -> None:
        """Raise ModelDataError for the first row where ``bad`` holds: '<row>: <sentence>'."""
        if bad.any():
            position = int(np.argmax(bad))
            row = self.row(position)
            raise ModelDataError(f"{row[0].upper()}{row[1:]}: {sentence(position)}")

    def select(self, keep: np.ndarray) -> Columns:
        """The rows where ``keep`` holds."""
        return Columns(
            values={name: column[keep] for name, column in self.values.items()},
            weights=self.weights[keep],
            index=None if self.index is None else self.index[keep],
        )


def read_columns(model_name: str, weights: Any = None, **columns: Any) -> Columns:
    """Numbers from each column (Series, arrays or lists), of one length, none missing."""
    index = next((value.index for value in columns.values() if isinstance(value, pd.Series)), None)
    values: dict[str, np.ndarray] = {}
    for name, raw in columns.items():
        values[name] = _numbers(raw)
    lengths = {name: len(column) for name, column in values.items()}
    if len(set(lengths.values())) > 1:
        raise ModelDataError(
            f"The {model_name} columns must have the same length; got "
            + ", ".join(f"{name} {length}" for name, length in lengths.items())
            + "."
        )
    count = next(iter(lengths.values()))
    if count == 0:
        raise ModelDataError(f"The {model_name} model needs at least one customer; got none.")
    if index is not None and len(index) != count:
        index = None
    weight_column = np.ones(count) if weights is None else _numbers(weights)
    if len(weight_column) != count:
        raise ModelDataError(
            f"The {model_name} weights must have one number per row: got {len(weight_column)} "
            f"for {count} rows."
        )
    result = Columns(values=values, weights=weight_column, index=index)
    for name, column in values.items():
        result.reject_first(
            ~np.isfinite(column), lambda _, name=name: f"{name} is missing or not a number."
        )
        result.reject_first(
            column < 0, lambda i, name=name, c=column: f"{name} {c[i]:g} is negative."
        )
    result.reject_first(
        ~(np.isfinite(weight_column) & (weight_column > 0)),
        lambda i: f"the weight {weight_column[i]:g} is not a positive number of customers.",
    )
    return result


def _numbers(raw: Any) -> np.ndarray:
    """A flat float array; anything that is not a number becomes NaN."""
    if isinstance(raw, pd.Series | pd.Index):
        # np.asarray would ask a Series for numpy's interface attributes, and pandas looks
        # each name up in the index: a scan of a text index of every customer, each time.
        raw = raw.to_numpy()
    try:
        return np.ravel(np.asarray(raw, dtype=float))
    except (TypeError, ValueError):
        flat = pd.Series(np.ravel(np.asarray(raw, dtype=object)))
        return pd.to_numeric(flat, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def check_whole(columns: Columns, name: str) -> None:
    """Counts such as frequency must be whole numbers."""
    column = columns.values[name]
    columns.reject_first(
        column != np.round(column), lambda i: f"{name} {column[i]:g} is not a whole number."
    )


def check_history(columns: Columns) -> None:
    """frequency, recency and T of a purchase history: recency <= T, recency 0 without repeats."""
    check_whole(columns, "frequency")
    frequency, recency, age = (columns.values[k] for k in ("frequency", "recency", "T"))
    columns.reject_first(
        recency > age, lambda i: f"recency {recency[i]:g} is more than T {age[i]:g}."
    )
    columns.reject_first(
        (frequency == 0) & (recency > 0),
        lambda i: (
            f"recency {recency[i]:g} is above 0 but frequency is 0 "
            "(the recency of a customer without repeat purchases is 0)."
        ),
    )


@dataclass(frozen=True)
class Compressed:
    """The distinct rows of some columns, how many customers each holds, and the way back."""

    values: dict[str, np.ndarray]
    weights: np.ndarray
    inverse: np.ndarray


def compress(columns: dict[str, np.ndarray], weights: np.ndarray | None = None) -> Compressed:
    """Distinct rows of equal-length columns with summed weights (in order of first appearance).

    Each column is coded by hashing (pandas.factorize, no sort), the codes combined into one
    integer key and that key coded again: a few times faster than sorting the columns.
    """
    codes = []
    sizes = []
    for column in columns.values():
        code, distinct = pd.factorize(column, use_na_sentinel=False)
        codes.append(code.astype(np.int64))
        sizes.append(max(len(distinct), 1))
    if np.prod(np.asarray(sizes, dtype=float)) < 2.0**62:
        key = np.zeros(len(codes[0]), dtype=np.int64)
        for code, size in zip(codes, sizes, strict=True):
            key = key * size + code
        inverse = pd.factorize(key)[0]
    else:
        inverse = np.ravel(np.unique(np.column_stack(codes), axis=0, return_inverse=True)[1])
    first = np.empty(int(inverse.max(initial=-1)) + 1, dtype=np.int64)
    first[inverse] = np.arange(len(inverse))  # a row of each; the rows of a key are equal
    counts = np.bincount(inverse, weights=weights, minlength=len(first))
    return Compressed(
        values={name: column[first] for name, column in columns.items()},
        weights=counts.astype(float),
        inverse=inverse.astype(np.int64),
    )


def read_history(
    model_name: str,
    frequency: Any,
    recency: Any,
    T: Any,  # noqa: N803
    weights: Any = None,
) -> Columns:
    """Validated frequency, recency and T columns (see :func:`check_history`)."""
    columns = read_columns(model_name, weights, frequency=frequency, recency=recency, T=T)
    check_history(columns)
    return columns


@dataclass(frozen=True)
class Levels:
    """A column kept with its distinct values, so that a costly function of the column is
    computed once per distinct value: ``levels.map(f) == f(levels.full)``."""

    values: np.ndarray
    codes: np.ndarray
    full: np.ndarray

    @classmethod
    def of(cls, column: np.ndarray) -> Levels:
        """The column's distinct values in ascending order and each row's position among
        them (hashed, then the few distinct values sorted: several times faster than
        np.unique's sort of the whole column)."""
        codes, values = pd.factorize(column, sort=True, use_na_sentinel=False)
        return cls(values=np.asarray(values), codes=codes.astype(np.int64), full=column)

    def map(self, function: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``function`` of every row, evaluated on the distinct values only."""
        return np.asarray(function(self.values))[self.codes]

    def __truediv__(self, scale: float) -> Levels:
        return Levels(values=self.values / scale, codes=self.codes, full=self.full / scale)


def mean_scale(values: np.ndarray, weights: np.ndarray) -> float:
    """The weighted mean, the unit a fit works in (1 when every value is 0)."""
    mean = float(np.sum(weights * values) / weights.sum())
    return mean if mean > 0 else 1.0
