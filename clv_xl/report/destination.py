"""Where a report goes: checked before any work is done, and never over a file unasked."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
from pathlib import Path

from clv_xl.errors import InputError


def check_output(path: Path, overwrite: bool) -> None:
    """The report can go to ``path``: its folder exists and can be written, and an existing
    file only if asked."""
    try:
        status = path.stat()
    except FileNotFoundError:
        status = None
    except OSError as problem:  # a name too long, a file in the way of a folder, ...
        raise InputError(f"The report cannot be saved as {path} ({problem.strerror}).") from None
    if status is not None and path.is_dir():
        raise InputError(f"{path} is a folder: name the report file, e.g. {path / 'report.xlsx'}.")
    if path.suffix.lower() != ".xlsx":
        raise InputError(
            f"The report is an Excel workbook: give it a name ending in .xlsx ({path})."
        )
    if status is not None and not overwrite:
        raise InputError(f"{path} already exists; choose another name or use --force.")
    if not path.parent.is_dir():
        raise InputError(f"The folder {path.parent} does not exist.")
    try:  # a file without a name where the system has them (O_TMPFILE): nothing to leave
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as problem:
        raise InputError(
            f"The report cannot be saved in the folder {path.parent} ({problem.strerror})."
        ) from None


def temporary_path(path: Path) -> Path:
    """A hidden name beside ``path`` for the report while it is written (not yet created)."""
    return path.with_name(f".clv-report-{secrets.token_hex(8)}.xlsx")


def commit(temporary: Path, path: Path, overwrite: bool) -> None:
    """Give the finished report at ``temporary`` the name ``path``, in one step.

    Without ``overwrite`` the name is first taken exclusively (``O_EXCL``), so a file saved
    there meanwhile is never replaced: that is an `InputError`. The empty placeholder then
    gives way to the report by an atomic rename.
    """
    if not overwrite:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            raise InputError(
                f"{path} appeared while the report was being written and was left as it "
                "is; run the report again."
            ) from None
    try:
        os.replace(temporary, path)
    except BaseException:
        if not overwrite:
            path.unlink(missing_ok=True)  # the placeholder
        raise


#: The longest file name (in bytes of UTF-8) most file systems take.
MAX_FILE_NAME_BYTES = 255


def default_report_name(stem: str, day: dt.date) -> str:
    """``<workbook> - CLV report <date>.xlsx``, the workbook's name cut to fit in a file name."""
    ending = f" - CLV report {day:%Y-%m-%d}.xlsx"
    room = MAX_FILE_NAME_BYTES - len(ending.encode())
    return stem.encode()[:room].decode(errors="ignore") + ending


def free_path(path: Path) -> Path:
    """``path``, or the first of ``name (2).xlsx``, ``name (3).xlsx``... that does not exist."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem} ({number}){path.suffix}")
    return candidate
