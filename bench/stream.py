"""The streamed Customers sheet (`clv_xl.report.fastsheet.fill`, the report's last step) on
the 1M-order workbooks, and what each part of its machinery saves: ISA-L's deflate against
zipfile's own zlib (level 1), and rendering each distinct value of a repeating column once
against making every row's text anew.

Per shape the report is built once without its Customers rows and saved (the workbook that
`fill` receives); every run fills a fresh copy of it, in this process. The variants alternate
(the order turned each round), so that all see the same machine load.

Run: `python -m bench.stream [SHAPE ...]` (shapes: steady churning sample; default all).
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from unittest import mock

from bench.common import write_section
from bench.report import SHAPES, workbook
from clv_xl.analysis.analyze import analyze
from clv_xl.orders.load import load_orders
from clv_xl.report import fastsheet, isal_deflate
from clv_xl.report.workbook import build

ROUNDS = 5
#: Each variant: what it changes for the length of a run.
VARIANTS: dict[str, Callable[[], AbstractContextManager[object]]] = {
    "as built": nullcontext,
    "zlib level 1 (zipfile's own)": lambda: mock.patch.object(
        isal_deflate, "use_in", lambda stream: None
    ),
    "every value rendered anew": lambda: mock.patch.object(
        fastsheet, "_repeats", lambda values: False
    ),
}


def prefilled(shape: str, folder: Path) -> tuple[Path, list[fastsheet.LargeTable]]:
    """The report of the shape's 1M-order workbook as saved before its rows are streamed."""
    analysis = analyze(load_orders(workbook(shape, "1M")))
    wb, large = build(analysis, dt.datetime(2026, 1, 1))
    path = folder / f"{shape}.xlsx"
    wb.save(path)
    return path, large


def rounds(variants: list[str]) -> Iterator[str]:
    for i in range(ROUNDS):
        yield from variants if i % 2 == 0 else reversed(variants)


def shape_rows(shape: str, folder: Path) -> list[str]:
    source, large = prefilled(shape, folder)
    wall: dict[str, list[float]] = {name: [] for name in VARIANTS}
    cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    sizes: dict[str, int] = {}
    for name in rounds(list(VARIANTS)):
        target = folder / "filled.xlsx"
        shutil.copy(source, target)
        with VARIANTS[name]():
            start, processor = time.perf_counter(), time.process_time()
            fastsheet.fill(target, large)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - processor)
        with zipfile.ZipFile(target) as filled:
            sheet = filled.getinfo(fastsheet._sheet_paths(filled)[large[0].sheet])
        sizes[name] = sheet.compress_size
        xml_mb = sheet.file_size / 1e6
    built = statistics.median(wall["as built"])
    customers, columns = large[0].frame.shape
    rows = []
    for name in VARIANTS:
        seconds = statistics.median(wall[name])
        ratios = ", ".join(
            f"{w / b:.2f}x" for w, b in zip(wall[name], wall["as built"], strict=True)
        )
        rows.append(
            f"| {shape} ({customers:,} x {columns}, {xml_mb:,.0f} MB of XML) | {name} "
            f"| {seconds:.2f} | {statistics.median(cpu[name]):.2f} "
            f"| **{seconds / built:.2f}x** ({ratios}) | {sizes[name] / 1e6:.1f} MB |"
        )
    return rows


def main(shapes: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as folder:
        rows = [row for shape in shapes or SHAPES for row in shape_rows(shape, Path(folder))]
    table = "\n".join(rows)
    body = f"""
`fastsheet.fill` of the report's Customers rows (the step "Streaming the Customers rows"),
each variant against the sheet as built, {ROUNDS} rounds alternated in one process; median
wall and processor seconds (both threads), every round's ratio.

| shape | variant | wall (s) | processor (s) | against as built | sheet compressed |
|---|---|---:|---:|---:|---:|
{table}
"""
    print(write_section("stream", "The streamed Customers sheet", body))


if __name__ == "__main__":
    main(sys.argv[1:])
