"""clv_xl: Customer Lifetime Value and retention analysis for Excel.

The ribbon button of the ``clv_xl.xlam`` add-in runs :func:`main`;
:func:`segment_report` writes the report for any xlwings ``Book``. Both import
xlwings only when called, so the library stays free of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__version__ = "0.1.0"


def segment_report(book: Any, output_dir: Path | None = None) -> Path:
    """Write the segment report of the orders in an xlwings ``book``; return its path."""
    from clv_xl.excel.ribbon import segment_report as report

    return report(book, output_dir)


def main() -> None:
    """What the add-in's ribbon button runs (``import clv_xl; clv_xl.main()``)."""
    from clv_xl.excel.ribbon import main as run

    run()
