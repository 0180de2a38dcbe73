"""The one pipeline, orders -> analysis -> report, for the command line and the ribbon."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .analysis import Analysis, analyze
from .collector import collector_paused
from .errors import InputError
from .orders import ColumnMap, Orders, load_orders
from .params import Params
from .report import Progress, check_output, write_report


@dataclass(frozen=True)
class Report:
    path: Path
    analysis: Analysis


def default_report_name(stem: str, day: dt.date) -> str:
    """``<workbook> - CLV report <date>.xlsx``."""
    return f"{stem} - CLV report {day:%Y-%m-%d}.xlsx"


def free_path(path: Path) -> Path:
    """``path``, or the first of ``name (2).xlsx``, ``name (3).xlsx``... that does not exist."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem} ({number}){path.suffix}")
    return candidate


def run_report(
    source: str | os.PathLike[str] | pd.DataFrame,
    output: Path,
    *,
    sheet: str | None = None,
    columns: ColumnMap = ColumnMap(),
    params: Params = Params(),
    overwrite: bool = False,
    progress: Progress = lambda step: None,
) -> Report:
    """Read the orders from a file or DataFrame, analyse them and write the report."""
    if not isinstance(source, pd.DataFrame) and Path(output).resolve() == Path(source).resolve():
        raise InputError(f"The report would overwrite the orders file {source}; choose -o.")
    check_output(Path(output), overwrite)
    progress("Reading orders")
    orders = load_orders(source, sheet=sheet, columns=columns, as_of=params.as_of)
    return report_orders(orders, output, params=params, overwrite=overwrite, progress=progress)


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
    with collector_paused():  # hundreds of thousands of rows of short-lived objects
        progress(f"Analysing {orders.rows_used:,} order rows")
        analysis = analyze(orders, params)
        path = write_report(analysis, Path(output), overwrite=overwrite, progress=progress)
    return Report(path=path, analysis=analysis)
