"""Checks of rules that Excel enforces and LibreOffice forgives, on a workbook's parts.

Each function returns the breaches it finds as sentences (an empty list: none).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree

CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
AXES = ("catAx", "valAx", "dateAx", "serAx")


def chart_axis_problems(path: Path) -> list[str]:
    """Every chart axis must say ``<c:delete val="0"/>``: without it Excel hides the axis."""
    problems = []
    with zipfile.ZipFile(path) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        for name in charts:
            root = ElementTree.fromstring(archive.read(name))
            for kind in AXES:
                for axis in root.iter(f"{CHART}{kind}"):
                    delete = axis.find(f"{CHART}delete")
                    if delete is None or delete.get("val") not in ("0", "false"):
                        problems.append(f"{name}: a {kind} axis is hidden in Excel")
    return problems
