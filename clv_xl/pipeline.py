"""The one pipeline, orders -> analysis -> report, for the command line and the ribbon.

The output is checked before any work starts (`destination.check_output`). Work that holds
no GIL or spends its time in numpy runs in a second thread while this one does other work
(`clv_xl.alongside`): fastexcel opens the workbook while the sheet is bounded and parses
the sheet while the modules of the analysis and the report are imported (`_import_the_rest`);
the columns are typed two at a time (`orders.cells.typed_columns`); the models fit while
the customers are summarised (the two purchase-model families side by side in the
calibration period, `analysis.holdout_check`; the spend model while the purchase model is
refitted, `analysis.prediction`), and their ranges per segment are drawn while the segments
are summed (`analysis.analyze`), the draws in two halves (`analysis.forecast_ranges`); what
that saves is measured in `bench/RESULTS.md`. The streamed Customers table has a writer
thread of its own (`report.fastsheet`). The analysis runs with every BLAS at one thread
(`blas_threads`: OpenBLAS's pool spins after SciPy's L-BFGS-B's tiny solves).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from clv_xl.analysis.params import Params
from clv_xl.blas_threads import one_blas_thread
from clv_xl.errors import InputError
from clv_xl.orders.headers import GUESS, ColumnMap
from clv_xl.orders.source import WORKBOOK_SUFFIXES, OrdersSheet, workbook_sheet
from clv_xl.report.destination import check_output

if TYPE_CHECKING:
    import pandas as pd

    from clv_xl.analysis.analyze import Analysis
    from clv_xl.orders.load import Orders
    from clv_xl.report.workbook import Progress


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
        readable = workbook_sheet(source, sheet, columns, meanwhile=_import_the_rest)
    from clv_xl.orders.load import load_orders

    return load_orders(readable, sheet=sheet, columns=columns, as_of=params.as_of)


def _import_the_rest() -> None:
    """The modules of the analysis and the report imported (pandas, scipy and openpyxl: half a
    second) while fastexcel parses the sheet in a second thread."""
    for module in ("clv_xl.orders.load", "clv_xl.analysis.analyze", "clv_xl.report.workbook"):
        importlib.import_module(module)


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
    with one_blas_thread():
        return analyze(orders, params, progress)


def _written(analysis: Analysis, output: Path, overwrite: bool, progress: Progress) -> Report:
    from clv_xl.report.workbook import write_report

    path = write_report(analysis, output, overwrite=overwrite, progress=progress)
    return Report(path=path, analysis=analysis)
