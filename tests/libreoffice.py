"""LibreOffice Calc, headless, as the recalculating reader of the workbooks we write."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import openpyxl
from openpyxl.workbook.workbook import Workbook

ERROR_VALUES = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "Err:")


def recalculate(path: Path, out_dir: Path) -> Workbook:
    """Open ``path`` in LibreOffice, recalculate every formula, and load the values."""
    converted = convert(path, out_dir, "xlsx:Calc MS Excel 2007 XML")
    return openpyxl.load_workbook(converted.with_suffix(".xlsx"), data_only=True)


def to_pdf(path: Path, out_dir: Path) -> Path:
    """``path`` printed to PDF by LibreOffice, as its print set-up says."""
    return convert(path, out_dir, "pdf").with_suffix(".pdf")


def convert(path: Path, out_dir: Path, target: str) -> Path:
    """LibreOffice's ``--convert-to target`` of ``path`` into ``out_dir`` (a private profile,
    so runs do not share state); the path of the result without its new suffix."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise RuntimeError("LibreOffice is not installed: run `make test`, which installs it")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        subprocess.run(
            [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--calc",
             "--convert-to", target, "--outdir", str(out_dir), str(path)],
            check=True,
            capture_output=True,
            timeout=300,
        )  # fmt: skip
    return out_dir / path.stem


def error_cells(workbook: Workbook) -> list[str]:
    """Every cell that shows an error value, as 'Sheet!A1 = #DIV/0!'."""
    found = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(ERROR_VALUES):
                    found.append(f"{sheet.title}!{cell.coordinate} = {cell.value}")
    return found
