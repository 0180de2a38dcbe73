"""clv_xl in xlwings Lite and xlwings Server: the worksheet functions and the report script.

A workbook's ``main.py`` needs one line, ``from clv_xl.lite import *`` (see
``templates/lite/main.py``): xlwings Lite registers the worksheet functions of
:mod:`clv_xl.udfs` (the same functions, argument help and error values as in classic
Excel) and the task-pane button :func:`clv_report_sheets`. The button finds the orders
and reads the Settings sheet as the ribbon button does (:mod:`clv_xl.excel.ribbon`), analyses them
and writes the report's sheets into the open workbook (:mod:`clv_xl.excel.book_report`); a
problem is one sentence, and then the workbook is left as it was. Nothing here starts a
thread or reads a file.
"""

from __future__ import annotations

import datetime as dt

import xlwings as xw

from clv_xl import udfs
from clv_xl.analysis.analyze import Analysis, analyze
from clv_xl.errors import ClvError
from clv_xl.excel.book_report import check_book, report_copy, write_copy
from clv_xl.excel.ribbon import TITLE, book_orders
from clv_xl.udfs import *  # noqa: F403

__all__ = [*udfs.__all__, "clv_report_sheets"]


def report_sheets(book: xw.Book) -> tuple[Analysis, list[str]]:
    """Write the segment report of the orders in ``book`` into it; return the analysis and
    the sheets written. Raises ClvError, with nothing changed, on bad input."""
    found, orders, params = book_orders(book)
    analysis = analyze(orders, params)
    copy = report_copy(analysis, dt.datetime.now().replace(microsecond=0))
    check_book(book, copy, found.sheet)
    write_copy(book, copy)
    return analysis, copy.sheet_names


@xw.script
def clv_report_sheets(book: xw.Book) -> None:
    """The CLV segment report as sheets of this workbook; a second run replaces them."""
    actions = book.json()["actions"]
    before = len(actions)
    try:
        _, sheets = report_sheets(book)
        message = f"The CLV report is in the sheets {sheets[0]} to {sheets[-1]}."
    except Exception as failure:
        del actions[before:]  # nothing half-written reaches the workbook
        message = (
            str(failure)
            if isinstance(failure, ClvError)
            else f"The CLV report failed unexpectedly ({type(failure).__name__}: {failure}). "
            "Please report this."  # a sentence in the task pane, never a traceback
        )
    print(message)  # xlwings Lite's task pane
    book.app.alert(message, title=TITLE)
