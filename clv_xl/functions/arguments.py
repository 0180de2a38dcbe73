"""Argument checking and broadcasting for the closed-form formulas.

A formula is a plain numpy function plus a declaration of what each argument may
hold (:class:`Arg`, :class:`Bound`) and which combinations are impossible
(:class:`Rule`). :func:`formula` turns that into two ways of calling it:

* the library call, ``clv(200, 0.3, 0.06)``, which raises :class:`FormulaError`
  naming the first bad argument and value;
* :meth:`Formula.evaluate`, for worksheet ranges, which never raises for a bad
  cell: it returns the values and, per cell, the Excel error that cell gets.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from clv_xl.errors import DIV0, EXCEL_ERRORS, NUM, VALUE, FormulaError

#: Per-cell error codes: 0 is "no error", k is ``EXCEL_ERRORS[k - 1]``.
_CODE = {error: index + 1 for index, error in enumerate(EXCEL_ERRORS)}
_ERROR_TEXT = np.array(["", *EXCEL_ERRORS], dtype=object)


@dataclass(frozen=True)
class Bound:
    """The interval an argument must lie in; ``meaning`` says it in words."""

    meaning: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    zero_divides: bool = False  # a zero here is a division by zero: #DIV/0!, not #NUM!

    def outside(self, x: np.ndarray) -> np.ndarray:
        below = x <= self.low if self.low_open else x < self.low
        above = x >= self.high if self.high_open else x > self.high
        return below | above

    def error_for(self, x: np.ndarray) -> np.ndarray:
        """The error code of each value outside the bound (0 inside)."""
        code = np.where(self.zero_divides & (x == 0), _CODE[DIV0], _CODE[NUM])
        return np.where(self.outside(x), code, 0)


@dataclass(frozen=True)
class Arg:
    """One argument: its bound (or allowed words), what a blank means, and its doc."""

    doc: str
    bound: Bound | None = None
    choices: tuple[str, ...] = ()
    blank_means: float | None = None  # the value a missing (None) argument stands for


@dataclass(frozen=True)
class Rule:
    """A combination of arguments with no finite answer, e.g. churn lost > customers."""

    broken: Callable[..., np.ndarray]
    error: str
    message: str


@dataclass
class Evaluation:
    """A formula's values over broadcast arguments, with each cell's error code."""

    values: np.ndarray
    codes: np.ndarray = field(repr=False)

    def cells(self) -> Grid:
        """The result as a 2-D list for Excel: numbers, or error texts such as ``#NUM!``."""
        values = np.atleast_2d(self.values)
        codes = np.atleast_2d(self.codes)
        if values.ndim > 2:
            raise FormulaError("a worksheet function takes ranges of at most two dimensions")
        grid = Grid(values.tolist())
        for i, j in np.argwhere(codes > 0).tolist():
            grid[i][j] = _ERROR_TEXT[codes[i, j]]
            grid.error_cells.append((i, j))
        return grid


class Grid(list):
    """Rows of cell values; ``error_cells`` lists where the error texts are."""

    def __init__(self, rows: list[list[Any]]) -> None:
        super().__init__(rows)
        self.error_cells: list[tuple[int, int]] = []

    @classmethod
    def of_error(cls, text: str) -> Grid:
        """A single cell holding the error ``text``."""
        grid = cls([[text]])
        grid.error_cells.append((0, 0))
        return grid


def _numbers(name: str, value: Any) -> tuple[np.ndarray, np.ndarray]:
    """The values of one numeric argument as floats, and a #VALUE!/error code per cell."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        numbers = value.astype(float)
        return numbers, np.where(np.isfinite(numbers), 0, _CODE[VALUE])
    try:  # object dtype: numpy would turn numbers mixed with text into text
        cells = np.array(value, dtype=object)
    except ValueError:  # ragged nested lists
        raise FormulaError(f"{name} must be a number or a rectangular range") from None
    flat = cells.ravel()
    # Python floats and ints convert in bulk; only the rest (blanks, text, errors,
    # booleans, numpy scalars) are looked at one by one.
    others = [i for i, x in enumerate(flat) if x.__class__ is not float and x.__class__ is not int]
    plain = np.ones(flat.shape, dtype=bool)
    plain[others] = False
    numbers = np.full(flat.shape, np.nan)
    try:
        numbers[plain] = flat[plain].astype(float)
    except OverflowError:  # an int beyond floating point: not a number a cell can hold
        numbers[plain] = [float(x) if abs(x) < 2**1023 else math.nan for x in flat[plain]]
    codes = np.where(np.isfinite(numbers), 0, _CODE[VALUE])
    for i in others:
        numbers[i], codes[i] = _cell(flat[i])
    return numbers.reshape(cells.shape), codes.reshape(cells.shape)


def _cell(item: Any) -> tuple[float, int]:
    """One cell that is not a plain float or int: its number and error code."""
    if isinstance(item, (np.integer, np.floating)) and math.isfinite(item):
        return float(item), 0
    if isinstance(item, dict):  # an Office.js error cell, read raw
        item = item.get("basicValue")
    if isinstance(item, str) and item in _CODE:
        return math.nan, _CODE[item]  # an error cell passes its error on, as in Excel
    return math.nan, _CODE[VALUE]


def _describe(value: Any, index: tuple[int, ...], shape: tuple[int, ...]) -> str:
    shown = value.item() if isinstance(value, np.generic) else value
    where = f" at position {index}" if shape else ""
    return f"got {shown!r}{where}"


class HasCells(Protocol):
    """A result that becomes worksheet cells."""

    def cells(self) -> Grid: ...


class WorksheetFormula(Protocol):
    """What a worksheet function is made from: a :class:`Formula` or a model fit."""

    __name__: str
    args: dict[str, Arg]
    signature: inspect.Signature

    @property
    def summary(self) -> str: ...

    def evaluate(self, *args: Any) -> HasCells: ...


class Formula:
    """A checked, broadcasting CLV formula; call it like the function it wraps."""

    __name__: str  # the wrapped function's, set by functools.update_wrapper

    def __init__(self, compute: Callable[..., Any], args: dict[str, Arg], rules: Sequence[Rule]):
        self.compute = compute
        self.args = args
        self.rules = tuple(rules)
        self.signature = inspect.signature(compute)
        missing = set(self.signature.parameters) ^ set(args)
        if missing:
            raise TypeError(f"{compute.__name__}: arguments without a declaration: {missing}")
        functools.update_wrapper(self, compute)

    @property
    def summary(self) -> str:
        """The docstring's first line: what Excel's function wizard shows."""
        return (self.__doc__ or "").strip().splitlines()[0]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = self.evaluate(*args, strict=True, **kwargs).values
        return float(result) if result.ndim == 0 else result

    def evaluate(self, *args: Any, strict: bool = False, **kwargs: Any) -> Evaluation:
        """Compute over broadcast arguments.

        With ``strict=False`` a bad cell gets its Excel error code and the others
        still compute; with ``strict=True`` the first bad value raises FormulaError.
        Problems with the call as a whole (wrong word, shapes that do not
        broadcast) raise FormulaError either way.
        """
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise FormulaError(f"{self.__name__}: {exc}") from None
        bound.apply_defaults()
        words: dict[str, str] = {}
        numbers: dict[str, np.ndarray] = {}
        codes: dict[str, np.ndarray] = {}
        for name, spec in self.args.items():
            value = bound.arguments[name]
            if spec.choices:
                words[name] = self._word(name, value, spec.choices)
                continue
            if value is None and spec.blank_means is not None:
                numbers[name], codes[name] = np.asarray(spec.blank_means), np.asarray(0)
            else:
                numbers[name], codes[name] = _numbers(name, value)
            if spec.bound is not None:
                inside = codes[name] == 0
                errors = spec.bound.error_for(np.where(inside, numbers[name], 0.0))
                codes[name] = np.where(inside, errors, codes[name])
            if strict:
                self._raise_first(name, bound.arguments[name], numbers[name], codes[name], spec)
        try:
            broadcast = np.broadcast_arrays(*numbers.values(), *codes.values())
        except ValueError:
            shapes = ", ".join(f"{n} {np.shape(v)}" for n, v in numbers.items())
            raise FormulaError(f"{self.__name__}: ranges of different sizes ({shapes})") from None
        values = dict(zip(numbers, broadcast[: len(numbers)], strict=True))
        code = np.zeros(broadcast[0].shape, dtype=np.int8)
        for arg_code in broadcast[len(numbers) :]:  # the leftmost argument's error wins
            code = np.where(code == 0, arg_code, code)
        with np.errstate(all="ignore"):
            for rule in self.rules:
                broken = np.broadcast_to(rule.broken(**values), code.shape) & (code == 0)
                if strict and broken.any():
                    index = tuple(int(i) for i in np.argwhere(broken)[0])
                    shown = ", ".join(f"{n}={values[n][index]:g}" for n in values)
                    raise FormulaError(f"{rule.message} ({shown})", rule.error)
                code = np.where(broken, _CODE[rule.error], code)
            result = np.asarray(self.compute(**values, **words), dtype=float)
        overflow = (code == 0) & ~np.isfinite(result)  # e.g. 1e308 x 10: beyond floating point
        if strict and overflow.any():
            raise FormulaError(f"{self.__name__}: the result is too large to represent", NUM)
        code = np.where(overflow, _CODE[NUM], code)
        result = np.where(code > 0, np.nan, result)
        return Evaluation(values=result, codes=code)

    def _word(self, name: str, value: Any, choices: tuple[str, ...]) -> str:
        word = value
        while isinstance(word, list) and len(word) == 1:  # a one-cell range: [["end"]]
            word = word[0]
        if isinstance(word, str) and word.strip().lower() in choices:
            return word.strip().lower()
        options = " or ".join(repr(c) for c in choices)
        raise FormulaError(f"{self.__name__}: {name} must be {options}; got {word!r}")

    def _raise_first(
        self, name: str, given: Any, numbers: np.ndarray, codes: np.ndarray, spec: Arg
    ) -> None:
        if not codes.any():
            return
        index = tuple(int(i) for i in np.argwhere(codes)[0]) if codes.ndim else ()
        detail = _describe(np.asarray(given, dtype=object)[index], index, codes.shape)
        if not np.isfinite(numbers[index]) or spec.bound is None:
            raise FormulaError(f"{name} must be a number; {detail}", VALUE)
        error = EXCEL_ERRORS[int(codes[index]) - 1]
        raise FormulaError(f"{name} must be {spec.bound.meaning}; {detail}", error)


def formula(rules: Sequence[Rule] = (), **args: Arg) -> Callable[[Callable[..., Any]], Formula]:
    """Declare a formula's arguments (and impossible combinations) next to its maths."""

    def wrap(compute: Callable[..., Any]) -> Formula:
        return Formula(compute, args, rules)

    return wrap
