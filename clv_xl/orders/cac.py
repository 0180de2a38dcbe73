"""Customer acquisition cost per channel, from a CSV file or the rows of a CAC sheet.

Two columns, a header row first: the channel (as in the orders' channel column, or "All
customers") and the CAC, the average cost of acquiring one customer in the report's
currency. Blank rows are skipped; anything else that is not a channel and an amount of 0 or
more is refused with a sentence naming the row.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from clv_xl.errors import InputError


def read_cac(path: Path) -> tuple[tuple[str, float], ...]:
    """The (channel, CAC) pairs of a CSV file (comma or semicolon, decimal point or comma)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"The CAC file {str(path)!r} cannot be read ({error}).") from None
    dialect = ";" if text.count(";") > text.count(",") else ","
    return cac_from_rows(csv.reader(text.splitlines(), delimiter=dialect), f"the CAC file {path}")


def cac_from_rows(rows: Iterable[Sequence[object]], where: str) -> tuple[tuple[str, float], ...]:
    """The (channel, CAC) pairs of rows whose first is a header; ``where`` names the source."""
    pairs: dict[str, float] = {}
    for number, row in enumerate(rows, start=1):
        cells = [cell for cell in row if cell not in (None, "")]
        if number == 1 or not cells:
            continue
        if len(row) < 2 or row[0] in (None, "") or row[1] in (None, ""):
            raise InputError(f"Row {number} of {where} needs a channel and a CAC.")
        channel, cost = str(row[0]).strip(), _amount(row[1])
        if cost is None or not math.isfinite(cost) or cost < 0:
            raise InputError(
                f"Row {number} of {where}: the CAC of {channel!r} must be an amount of 0 or "
                f"more; got {row[1]!r}."
            )
        if channel in pairs:
            raise InputError(f"Row {number} of {where}: {channel!r} is given twice.")
        pairs[channel] = cost
    return tuple(pairs.items())


def _amount(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None
