"""What every template shares: the release date, the version rows of the About sheets,
defined names and the euro formats.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import quote_sheetname
from openpyxl.utils.cell import absolute_coordinate
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl import __version__
from clv_xl.report.style import (
    currency_format,
)

#: The date of this version: the About sheets' date and the files' created/modified date.
RELEASE_DATE = dt.datetime(2026, 11, 22)
EUR = currency_format("€")
EUR_WHOLE = currency_format("€", decimals=0)
MAX_ROWS = 100_000  # data validation on the orders reaches this far down


def define_name(wb: Workbook, name: str, ws: Worksheet, coordinate: str) -> None:
    """Give one cell a workbook-level defined name."""
    reference = f"{quote_sheetname(ws.title)}!{absolute_coordinate(coordinate)}"
    wb.defined_names[name] = DefinedName(name, attr_text=reference)


def version_rows() -> list[tuple[str, Any]]:
    return [
        ("Version", f"clv_xl {__version__}"),
        ("Date", RELEASE_DATE.date()),
        ("Built by", "clv-xl templates build (do not edit by hand: rebuild instead)"),
    ]
