"""The one family of exceptions a user can cause; each carries a sentence for people.

The shells turn them into what their user sees: the command line into a message
and exit code 2, the ribbon into a message box, a worksheet function into an
Excel error value.
"""

from __future__ import annotations

VALUE = "#VALUE!"
DIV0 = "#DIV/0!"
NUM = "#NUM!"
#: Every Excel error value, as the text xlwings uses for it.
EXCEL_ERRORS = (VALUE, DIV0, NUM, "#N/A", "#NAME?", "#NULL!", "#REF!")


class ClvError(Exception):
    """A problem with the user's input; ``str(error)`` is one clear sentence."""


class FormulaError(ClvError, ValueError):
    """An argument a CLV formula cannot use; ``excel_error`` is the matching Excel error."""

    def __init__(self, message: str, excel_error: str = VALUE) -> None:
        super().__init__(message)
        self.excel_error = excel_error


class InputError(ClvError):
    """Orders or settings that cannot be read or analysed (file, sheet, column, row)."""
