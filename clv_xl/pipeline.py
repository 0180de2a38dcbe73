"""The one pipeline, orders -> analysis -> report, for the command line and the ribbon.

The output is checked before any work starts (`destination.check_output`). The analysis
runs in this thread, with the garbage collector as it is: a second thread for the models, a
worker process and pausing the collector each saved less than they cost or nothing
measurable on two cores (see `bench/RESULTS.md`); only the streamed Customers table has a
writer thread of its own (`report.fastsheet`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from clv_xl.analysis.params import Params
from clv_xl.errors import InputError
from clv_xl.orders.headers import GUESS, ColumnMap
from clv_xl.orders.source import WORKBOOK_SUFFIXES, OrdersSheet, workbook_sheet
from clv_xl.report.destination import check_output

if TYPE_CHECKING:
    import pandas as pd

    from clv_xl.analysis.analyze import Analysis
    from clv_xl.orders.load import Orders
    from clv_xl.report import Progress


@dataclass(frozen=True)
class Report:
    path: Path
    analysis: Analysis


def run_report(
    source: str | os.PathLike[str] | pd.DataFrame,
    output: Path,
    *,
    sheet: str | None = None,
    columns: ColumnMap = GUESS,
    params: Params = Params(),
    overwrite: bool = False,
    progress: Progress = lambda step: None,
) -> Report:
    """Read the orders from a file or DataFrame, analyse them and write the report."""
    path = Path(source) if isinstance(source, str | os.PathLike) else None
    if path is not None and path.is_dir():
        raise InputError(f"{path} is a folder: give the orders file in it.")
    if path is not None and Path(output).resolve() == path.resolve():
        raise InputError(f"The report would overwrite the orders file {source}; choose -o.")
    check_output(Path(output), overwrite)
    progress("Reading orders")
    frame_or_path = path if path is not None else cast("pd.DataFrame", source)
    orders = _read(frame_or_path, sheet, columns, params)
    return _written(_analysed(orders, params, progress), Path(output), overwrite, progress)


def _read(
    source: Path | pd.DataFrame, sheet: str | None, columns: ColumnMap, params: Params
) -> Orders:
    """`load_orders`; a workbook's sheet is parsed first (`workbook_sheet`)."""
    readable: Path | pd.DataFrame | OrdersSheet = source
    if isinstance(source, Path) and source.suffix.lower() in WORKBOOK_SUFFIXES:
        readable = workbook_sheet(source, sheet, columns)
    from clv_xl.orders.load import load_orders

    return load_orders(readable, sheet=sheet, columns=columns, as_of=params.as_of)


def report_orders(
    orders: Orders,
    output: Path,
    *,
    params: Params = Params(),
    overwrite: bool = False,
    progress: Progress = lambda step: None,
) -> Report:
    """Analyse orders already read and write the report to ``output``."""
    check_output(Path(output), overwrite)
    return _written(_analysed(orders, params, progress), Path(output), overwrite, progress)


def _analysed(orders: Orders, params: Params, progress: Progress) -> Analysis:
    from clv_xl.analysis.analyze import analyze

    progress(f"Analysing {orders.rows_used:,} order rows")
    return analyze(orders, params, progress)


def _written(analysis: Analysis, output: Path, overwrite: bool, progress: Progress) -> Report:
    from clv_xl.report import write_report

    path = write_report(analysis, output, overwrite=overwrite, progress=progress)
    return Report(path=path, analysis=analysis)
