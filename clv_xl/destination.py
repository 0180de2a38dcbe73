"""Where a report goes: checked before any work is done, and never over a file unasked."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .errors import InputError


def check_output(path: Path, overwrite: bool) -> None:
    """The report can go to ``path``: its folder exists, and an existing file only if asked."""
    if path.is_dir():
        raise InputError(f"{path} is a folder: name the report file, e.g. {path / 'report.xlsx'}.")
    if path.suffix.lower() != ".xlsx":
        raise InputError(
            f"The report is an Excel workbook: give it a name ending in .xlsx ({path})."
        )
    if path.exists() and not overwrite:
        raise InputError(f"{path} already exists; choose another name or use --force.")
    if not path.parent.is_dir():
        raise InputError(f"The folder {path.parent} does not exist.")


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
