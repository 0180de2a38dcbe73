"""The models' exceptions, both in the library's one family (:class:`clv_xl.errors.ClvError`)."""

from __future__ import annotations

from clv_xl.errors import ClvError


class ModelDataError(ClvError, ValueError):
    """Data a model cannot use (negative values, recency above T, ...), naming the first bad row."""


class NotFittedError(ClvError, RuntimeError):
    """A model asked for predictions without parameters, or a fit that cannot start."""
