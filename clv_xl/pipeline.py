"""The one pipeline, orders -> analysis -> report, for the command line and the ribbon.

`run_report` keeps a second core busy. While a workbook is read (python-calamine parses
the sheet in Rust without holding the interpreter lock), a second thread imports the
analysis and the report writer (scipy and openpyxl, about 0.4 s). For a large orders file
it also starts a worker process, which fits the models while this one computes the rest
(about 1 s of 3 s of analysis at a million rows); the worker's own start-up (0.5 s) is
hidden behind the reading only for large files, so small ones are analysed in-process.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .collector import collector_paused
from .destination import check_output
from .errors import InputError
from .orders import ColumnMap, Orders, load_orders
from .params import Params

if TYPE_CHECKING:
    from .analysis import Analysis
    from .report import Progress

#: Imported while the orders are read (see the module docstring).
LATER_MODULES = ("clv_xl.analysis", "clv_xl.report")
#: Orders files from this size (about 350,000 rows of a workbook) get a worker process.
WORKER_FROM_BYTES = 8_000_000


@dataclass(frozen=True)
class Report:
    path: Path
    analysis: Analysis


def run_report(
    source: str | os.PathLike[str] | pd.DataFrame,
    output: Path,
    *,
    sheet: str | None = None,
    columns: ColumnMap = ColumnMap(),
    params: Params = Params(),
    overwrite: bool = False,
    progress: Progress = lambda step: None,
    worker: bool | None = None,
) -> Report:
    """Read the orders from a file or DataFrame, analyse them and write the report.

    ``worker``: fit the models in a worker process (default: for large files only).
    """
    if not isinstance(source, pd.DataFrame) and Path(output).resolve() == Path(source).resolve():
        raise InputError(f"The report would overwrite the orders file {source}; choose -o.")
    check_output(Path(output), overwrite)
    if worker is None:
        worker = _file_size(source) >= WORKER_FROM_BYTES
    importing = threading.Thread(target=import_later_modules, daemon=True)
    importing.start()
    with _model_worker(worker) as executor:  # let go as soon as the analysis is done
        progress("Reading orders")
        orders = load_orders(source, sheet=sheet, columns=columns, as_of=params.as_of)
        importing.join()
        analysis = _analysed(orders, params, progress, executor)
    return _written(analysis, Path(output), overwrite, progress)


def import_later_modules() -> None:
    """Import the modules the analysis and the report need (see the module docstring)."""
    for module in LATER_MODULES:
        with contextlib.suppress(ImportError):  # imported again where used, which says why
            importlib.import_module(module)


def _file_size(source: str | os.PathLike[str] | pd.DataFrame) -> int:
    if isinstance(source, pd.DataFrame):
        return 0
    try:
        return Path(source).stat().st_size
    except OSError:  # load_orders names the problem
        return 0


@contextlib.contextmanager
def _model_worker(wanted: bool) -> Iterator[Executor | None]:
    """A one-process pool, started now so that its imports overlap the reading; or None.

    A fresh interpreter ("spawn") on every platform: forking a process that runs threads is
    unsafe. Anything that goes wrong with the worker only means fitting in this process.
    """
    if not wanted:
        yield None
        return
    try:
        pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=signal.signal,  # Ctrl-C is this process's to handle, not the worker's
            initargs=(signal.SIGINT, signal.SIG_IGN),
        )
        pool.submit(import_later_modules)
    except OSError:
        yield None
        return
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


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


def _analysed(
    orders: Orders, params: Params, progress: Progress, executor: Executor | None = None
) -> Analysis:
    from .analysis import analyze

    progress(f"Analysing {orders.rows_used:,} order rows")
    with collector_paused():  # hundreds of thousands of rows of short-lived objects
        return analyze(orders, params, executor)


def _written(analysis: Analysis, output: Path, overwrite: bool, progress: Progress) -> Report:
    from .report import write_report

    with collector_paused():
        path = write_report(analysis, output, overwrite=overwrite, progress=progress)
    return Report(path=path, analysis=analysis)
