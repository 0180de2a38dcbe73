"""The whole `clv-xl report` against fastexcel's read of the same file, on workbooks the
project did not make; a 5M-row CSV against DuckDB; a wide sheet against a long one.

Workbooks are written as Excel saves them: xlsxwriter, row by row, texts as shared strings,
real dates with a date format. Three shapes (steady buyers, churning customers, the bundled
sample's) at about 10k, 100k and 1M rows, written once to bench/data/. Each run is a
process of its own, timed with its peak memory (the process tree's, sampled); a report and
a bare read are alternated so that both see the same machine load.

Run: `python -m bench.report [SIZE ...]` (sizes 10k 100k 1M; csv and wide run always).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from bench.common import write_section
from clv_xl.alongside import ONE_THREAD_SETTING
from clv_xl.analysis.analyze import MODEL_STEP
from clv_xl.templates.sample import sample_orders, write_orders

DATA = Path(__file__).parent / "data"
REPEATS = 3  # pairs per file; the median ratio is shown, with all of them
#: Pairs per workbook at the size of the targets: on this noisy machine one pair's ratio
#: varies by a quarter, and the median of five is steadier than the median of three.
TARGET_REPEATS = 5
ROWS = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
CSV_ROWS = 5_000_000
SHAPES = ("steady", "churning", "sample")
CHANNELS = np.array(["Webshop", "Marketplace", "Retail store", "Newsletter"], dtype=object)

BARE_READ = """
import sys, fastexcel
table = fastexcel.read_excel(sys.argv[1]).load_sheet(0, eager=True)
print(table.num_rows)
"""
#: The report with OpenBLAS's thread pool left as it is (`clv_xl.blas_threads` undone here).
REPORT_ON_THE_BLAS_POOL = """
import contextlib, sys
import clv_xl.pipeline
from clv_xl.cli import main
clv_xl.pipeline.one_blas_thread = contextlib.nullcontext
sys.exit(main(sys.argv[1:]))
"""
READ_ORDERS = """
import sys
from clv_xl.orders.load import load_orders
print(load_orders(sys.argv[1]).rows_used)
"""
FRESH_MEMORY = """
import mmap, time
size = 2**30
memory = mmap.mmap(-1, size)
memory.madvise(mmap.MADV_NOHUGEPAGE)
start = time.perf_counter()
for offset in range(0, size, mmap.PAGESIZE):
    memory[offset] = 1
print(time.perf_counter() - start)
"""
DUCKDB_AGGREGATE = """
import sys, duckdb
rows = duckdb.sql(
    "select \\"Customer ID\\", count(*), sum(Amount), min(\\"Order date\\"), max(\\"Order date\\") "
    f"from read_csv('{sys.argv[1]}', delim=';', decimal_separator=',', dateformat='%d-%m-%Y') "
    "group by 1"
).fetchall()
print(len(rows))
"""


# ----------------------------------------------------------------------------------------------
# Orders of three shapes


def shaped_orders(shape: str, rows: int, seed: int = 11) -> pd.DataFrame:
    """About ``rows`` order lines: 'steady' (every customer buys every 20-40 days for two
    years), 'churning' (a few orders each, most customers gone after one or two), or the
    bundled sample's (`clv_xl.templates.sample`)."""
    if shape == "sample":
        return sample_orders(customers=max(rows // 9, 10), seed=seed)
    rng = np.random.default_rng(seed)
    if shape == "steady":
        customers = max(rows // 24, 10)
        counts = np.full(customers, 24)
        gaps = rng.integers(20, 41, size=counts.sum())
    else:
        customers = max(rows // 3, 10)
        counts = rng.geometric(1 / 3, size=customers)
        gaps = rng.exponential(40, size=counts.sum()).astype(int) + 1
    owner = np.repeat(np.arange(customers), counts)
    first = np.repeat(rng.integers(0, 365, size=customers), counts)
    cumulative = np.cumsum(gaps)
    day = first + cumulative - np.repeat(cumulative[np.cumsum(counts) - counts], counts)
    amount = np.round(rng.gamma(6, 10, size=len(owner)), 2)
    frame = pd.DataFrame(
        {
            "Order ID": [f"SO-{i:07d}" for i in range(1, len(owner) + 1)],
            "Customer ID": [f"C{c:06d}" for c in owner],
            "Order date": pd.Timestamp("2022-01-01") + pd.to_timedelta(day, unit="D"),
            "Amount": amount,
            "Cost": np.round(amount * rng.uniform(0.5, 0.7, size=len(owner)), 2),
            "Channel": CHANNELS[owner % len(CHANNELS)],
        }
    )
    return frame.sort_values("Order date", kind="stable", ignore_index=True)


def write_like_excel(frame: pd.DataFrame, path: Path) -> Path:
    """The orders as Excel saves a workbook: row by row, shared strings, real dates."""
    partial = path.with_name(f"{path.stem}.part.xlsx")
    book = xlsxwriter.Workbook(str(partial))
    sheet = book.add_worksheet("Orders")
    date_format = book.add_format({"num_format": "dd-mm-yyyy"})
    sheet.write_row(0, 0, list(frame.columns))
    columns = [frame[c].tolist() for c in frame.columns]
    dates = [i for i, c in enumerate(frame.columns) if c == "Order date"]
    for r, row in enumerate(zip(*columns, strict=True), start=1):
        for c, value in enumerate(row):
            if c in dates:
                sheet.write_datetime(r, c, value.to_pydatetime(), date_format)
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write_number(r, c, value)
    book.close()
    return partial.rename(path)


def workbook(shape: str, label: str) -> Path:
    path = DATA / f"{shape}_{label}.xlsx"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        write_like_excel(shaped_orders(shape, ROWS[label]), path)
    return path


# ----------------------------------------------------------------------------------------------
# Measuring a child process


def tree_memory_mb(pid: int) -> float:
    """The resident memory of a process and all its descendants now (Linux /proc), in MB."""
    total_kb, pids = 0, [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total_kb += int(re.search(r"VmRSS:\s+(\d+)", status)[1])  # type: ignore[index]
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, TypeError):  # gone meanwhile, or a zombie without memory
            continue
    return total_kb / 1024


@dataclass(frozen=True)
class Run:
    """One child process: wall and processor seconds, peak memory (MB) and its output."""

    seconds: float
    cpu_seconds: float
    memory_mb: float
    printed: str


#: The children run as a user runs them: without the one BLAS thread `bench/__init__` sets for
#: the models' comparisons (fastexcel and DuckDB use no BLAS; the report limits its own).
USERS_ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}


def run(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run one child process and measure it: the peak memory of it and its children,
    sampled every 20 ms (a forked child's ru_maxrss counts its parent's memory); ``env``:
    variables set for it."""
    with tempfile.TemporaryFile("w+") as output:
        start = time.perf_counter()
        child = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            env={**USERS_ENVIRONMENT, **(env or {})},
        )
        sampled = [0.0]
        running = threading.Event()
        running.set()

        def sample() -> None:
            while running.is_set():
                sampled.append(tree_memory_mb(child.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        running.clear()
        sampler.join()
        output.seek(0)
        printed = output.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command} failed:\n{printed}")
    cpu = usage.ru_utime + usage.ru_stime  # (ru_maxrss would count this process's memory)
    return Run(seconds, cpu, max(sampled), printed)


#: A step of the command's progress: its name, then its time at the end of the same line or,
#: where something else (a warning) was printed meanwhile, of a later one.
STEP = re.compile(r"^  (\S[^\n]*?)\.\.\..*? (\d+\.\d+) s$", re.M | re.S)


def steps(progress: str) -> dict[str, float]:
    """The `  step... 1.2 s` lines the command prints, by step (counts left out of names)."""
    return {re.sub(r"\d[\d,]* ", "", name): float(s) for name, s in STEP.findall(progress)}


CLV_XL = str(Path(sys.executable).with_name("clv-xl"))


def report_command(path: Path) -> list[str]:
    out = DATA / f"report_{path.stem}.xlsx"
    return [CLV_XL, "report", str(path), "-o", str(out), "--force"]


def median_pair(
    first: list[str],
    second: list[str],
    figure: Callable[[Run, Run], float],
    env: dict[str, str] | None = None,
    repeats: int = REPEATS,
) -> tuple[float, Run, Run, list[float]]:
    """``repeats`` pairs of runs of the two commands, alternated (``env`` for the first): the
    pair with the median ``figure``, and every pair's figure, in ascending order."""
    pairs = []
    for _ in range(repeats):
        one, two = run(first, env), run(second)
        pairs.append((figure(one, two), one, two))
    pairs.sort(key=lambda pair: pair[0])
    value, one, two = pairs[len(pairs) // 2]
    return value, one, two, [pair[0] for pair in pairs]


# ----------------------------------------------------------------------------------------------
# The benchmarks


def workbooks(labels: list[str]) -> str:
    rows, shares = [], []
    for label in labels:
        for shape in SHAPES:
            path = workbook(shape, label)
            ratio, read, report, ratios = median_pair(
                [sys.executable, "-c", BARE_READ, str(path)],
                report_command(path),
                _slower,
                repeats=TARGET_REPEATS if label == labels[-1] else REPEATS,
            )
            spread = ", ".join(f"{r:.2f}x" for r in ratios)
            timing = steps(report.printed)
            reading = timing.get("Reading orders", float("nan"))
            fits = timing.get(MODEL_STEP, float("nan"))
            rows.append(
                f"| {shape} | {label} ({int(read.printed.split()[-1]):,} rows) "
                f"| {read.seconds:.2f} | {report.seconds:.2f} | **{ratio:.2f}x** ({spread}) "
                f"| {reading:.2f} | {fits:.2f} ({fits / report.seconds:.0%}) "
                f"| {report.seconds - reading - fits:.2f} "
                f"| {read.memory_mb:,.0f} / {report.memory_mb:,.0f} MB |"
            )
            if label == labels[-1]:
                shares.append(
                    f"| {shape} | "
                    + " | ".join(f"{name} {s:.2f}" for name, s in timing.items())
                    + " |"
                )
    return f"""
### Workbooks as Excel saves them

Whole `clv-xl report ORDERS.xlsx` (a new process: start-up, read, analysis with the model
fits, the complete workbook) against fastexcel's typed Arrow read of the same sheet
(`fastexcel.read_excel(path).load_sheet(0, eager=True)`, its fastest, in a process of its own),
{REPEATS} pairs alternated ({TARGET_REPEATS} at {labels[-1]}); the pair with the median ratio is
shown, with every pair's ratio. Targets at 1M rows, every shape: at most 2.5x (goal 1.5x), under 2 GB peak.
Both commands run as a user runs them, OpenBLAS's threads as the machine sets them: the
report itself keeps every BLAS to one thread while the models fit (`clv_xl.blas_threads`;
what that saves is below, "One BLAS thread against OpenBLAS's pool").
"Reading" and "models' fits" are the command's own progress lines of the median run (the
fits: the purchase and spend models, with the holdout check; they run in a second thread
while the customers are summarised, so this is the wait for them after that), the fits'
share of the whole report shown; "the rest" is everything else: start-up, the analysis,
the models' ranges per segment and the workbook.

| shape | orders | fastexcel read (s) | whole report (s) | ratio: median (all pairs) | reading (s) | models' fits (s, share) | the rest (s) | peak memory: read / report |
|---|---|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

Every step at {labels[-1]} (seconds, the median run):

| shape | steps |
|---|---|
{chr(10).join(shares)}
"""


def one_thread_against_two(label: str) -> str:
    """The whole report with its second thread (`clv_xl.alongside`) against the same with
    CLV_XL_ONE_THREAD=1, alternated."""
    rows = []
    for shape in SHAPES:
        command = report_command(workbook(shape, label))
        saved, one, two, savings = median_pair(
            command, command, _saved, env={ONE_THREAD_SETTING: "1"}, repeats=TARGET_REPEATS
        )
        spread = ", ".join(f"{s:.0%}" for s in savings)
        rows.append(_pair_row(shape, one, two, f"**{saved:.0%}** ({spread})"))
    return f"""
### One thread against two

The whole report at {label} with its second thread (`clv_xl.alongside`: fastexcel opening
the workbook while the sheet is bounded and parsing it while the analysis and the report's
modules are imported, the columns typed two at a time, the order ids coded while the other
columns are parsed, the models' fits while the customers are summarised, the two
purchase-model families side by side in the calibration period, the spend model while the
purchase model is refitted, the segments' model ranges while the segments are summed, their parameter draws in two halves) against the same command with
`{ONE_THREAD_SETTING}=1`,
{TARGET_REPEATS} pairs alternated; the pair with the median saving is shown, with every pair's.
Kept only if it saves at least 10% of the whole report.

| shape | one thread (s) | two threads (s) | saved: median (all pairs) | processor s: one / two | peak memory: one / two |
|---|---:|---:|---:|---:|---:|
{chr(10).join(rows)}
"""


def one_blas_thread_against_the_pool(label: str) -> str:
    """The whole report with one BLAS thread while the models fit (`clv_xl.blas_threads`)
    against the same on OpenBLAS's thread pool, alternated; each shape at ``label`` and the
    5M-row CSV."""
    rows = []
    paths = [workbook(shape, label) for shape in SHAPES] + [five_million_csv()]
    for path in paths:
        command = report_command(path)
        pooled = [sys.executable, "-c", REPORT_ON_THE_BLAS_POOL, *command[1:]]
        repeats = REPEATS if path.suffix == ".csv" else TARGET_REPEATS
        saved, pool, one, savings = median_pair(pooled, command, _saved, repeats=repeats)
        spread = ", ".join(f"{s:.0%}" for s in savings)
        rows.append(_pair_row(path.stem, pool, one, f"**{saved:.0%}** ({spread})"))
    return f"""
### One BLAS thread against OpenBLAS's pool

The whole report with every BLAS at one thread while the models fit (`clv_xl.blas_threads`:
SciPy's L-BFGS-B hands its tiny triangular solves to OpenBLAS's thread pool, whose workers
then spin, scipy/scipy#22438) against the same with the pool left as it is, as a user's
process has it; pairs alternated ({TARGET_REPEATS} per workbook, {REPEATS} for the CSV), the
pair with the median saving shown, with every pair's.

| file | BLAS pool (s) | one BLAS thread (s) | saved: median (all pairs) | processor s: pool / one | peak memory: pool / one |
|---|---:|---:|---:|---:|---:|
{chr(10).join(rows)}
"""


def _pair_row(shape: str, one: Run, two: Run, figure: str) -> str:
    """A table row: both runs' seconds, the figure, their processor seconds and peak memory."""
    return (
        f"| {shape} | {one.seconds:.2f} | {two.seconds:.2f} | {figure} "
        f"| {one.cpu_seconds:.1f} / {two.cpu_seconds:.1f} "
        f"| {one.memory_mb:,.0f} / {two.memory_mb:,.0f} MB |"
    )


def _saved(one: Run, two: Run) -> float:
    """The share of the one-thread run's time that two threads save."""
    return 1 - two.seconds / one.seconds


def _slower(baseline: Run, ours: Run) -> float:
    """How many times the baseline's time ours took."""
    return ours.seconds / baseline.seconds


def reading_against_fastexcel(label: str) -> str:
    """`load_orders` (the reading: the extent check, fastexcel's read, typing and row
    accounting, in a new process) against fastexcel's bare read of the same workbook."""
    rows = []
    for shape in SHAPES:
        path = workbook(shape, label)
        ratio, read, orders, ratios = median_pair(
            [sys.executable, "-c", BARE_READ, str(path)],
            [sys.executable, "-c", READ_ORDERS, str(path)],
            _slower,
        )
        spread = ", ".join(f"{r:.2f}x" for r in ratios)
        rows.append(_pair_row(shape, read, orders, f"**{ratio:.2f}x** ({spread})"))
    return f"""
### Reading a workbook against fastexcel's read

`load_orders(ORDERS.xlsx)` in a process of its own (start-up, the extent check, fastexcel's
read, the typing of every column and the account of every row) against fastexcel's bare
typed Arrow read of the same {label} workbook, {REPEATS} pairs alternated; the pair with the
median ratio is shown, with every pair's ratio. Target: at most 1.3x.

| shape | fastexcel read (s) | `load_orders` (s) | ratio: median (all pairs) | processor s: read / ours | peak memory: read / ours |
|---|---:|---:|---:|---:|---:|
{chr(10).join(rows)}
"""


def five_million_csv() -> Path:
    """The sample's orders at CSV_ROWS rows as Excel saves a CSV in Dutch locales (written once)."""
    path = DATA / "sample_5M.csv"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        write_orders(sample_orders(customers=CSV_ROWS // 9, seed=11), path)
    return path


def csv_against_duckdb() -> str:
    """`load_orders` and the whole report of a 5M-row CSV against DuckDB's per-customer
    aggregation, median pairs; then each of ours with one thread against two."""
    path = five_million_csv()
    size_mb = path.stat().st_size / 2**20
    duckdb = [sys.executable, "-c", DUCKDB_AGGREGATE, str(path)]
    reading = [sys.executable, "-c", READ_ORDERS, str(path)]
    rows, saved, printed = [], [], []
    for name, ours in (("`load_orders` (the reading)", reading),
                       ("whole `clv-xl report`", report_command(path))):  # fmt: skip
        ratio, duck, two, ratios = median_pair(duckdb, ours, _slower)
        printed.append(two.printed)
        spread = ", ".join(f"{r:.2f}x" for r in ratios)
        rows.append(
            f"| {name} | {duck.seconds:.2f} | {two.seconds:.2f} | **{ratio:.2f}x** ({spread}) "
            f"| {duck.cpu_seconds:.1f} / {two.cpu_seconds:.1f} "
            f"| {duck.memory_mb:,.0f} / {two.memory_mb:,.0f} MB |"
        )
        share, one, two, shares = median_pair(ours, ours, _saved, env={ONE_THREAD_SETTING: "1"})
        spread = ", ".join(f"{s:.0%}" for s in shares)
        saved.append(_pair_row(name, one, two, f"**{share:.0%}** ({spread})"))
    used = int(printed[0].split()[-1])  # the reading prints the rows it used
    return f"""
### A 5M-row CSV against DuckDB

The sample's orders ({used:,} rows used, {size_mb:,.0f} MB, as Excel saves a CSV in Dutch
locales: `;`, decimal comma, day-first dates, BOM), in processes of their own, {REPEATS}
pairs alternated; the pair with the median ratio is shown, with every pair's ratio. DuckDB
reads and aggregates per customer (count, sum, first and last date); `load_orders` reads,
types and accounts for every row; the report is the whole command. Targets: under 1.5 GB
peak, within 3x of DuckDB.

| run | DuckDB (s) | ours (s) | ratio: median (all pairs) | processor s: DuckDB / ours | peak memory: DuckDB / ours |
|---|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

The same with one thread (`{ONE_THREAD_SETTING}=1`) against two (the file's SHA-256 while
it is read and typed, its columns typed two at a time, the order ids coded while the other
columns are parsed, then the report's calls named in "One thread against two"),
{REPEATS} pairs alternated, the median saving shown:

| run | one thread (s) | two threads (s) | saved: median (all pairs) | processor s: one / two | peak memory: one / two |
|---|---:|---:|---:|---:|---:|
{chr(10).join(saved)}
"""


def wide_against_long() -> str:
    """The same number of cells as 64 rows of 16,384 columns and as 3 columns of rows."""
    cells = 64 * 16_384
    shapes = {"wide (64 x 16,384)": (64, 16_384), "long (349,525 x 3)": (cells // 3, 3)}
    lines = []
    per_cell = {}
    for name, (height, width) in shapes.items():
        path = DATA / f"extent_{height}x{width}.xlsx"
        if not path.exists():
            DATA.mkdir(exist_ok=True)
            book = xlsxwriter.Workbook(str(path))
            sheet = book.add_worksheet("Orders")
            sheet.write_row(
                0, 0, ["Customer", "Date", "Amount"] + [f"x{i}" for i in range(3, width)]
            )
            for r in range(1, height):
                sheet.write_row(r, 0, [f"C{r % 500}", 45000 + r % 700, float(r % 97)])
                if width > 3:
                    sheet.write_row(r, 3, [float(c) for c in range(3, width)])
            book.close()
        read = run([sys.executable, "-c", READ_ORDERS, str(path)])
        per_cell[name] = read.seconds / (height * width)
        lines.append(
            f"| {name} | {read.seconds:.2f} | {per_cell[name] * 1e9:,.0f} ns | {read.memory_mb:,.0f} MB |"
        )
    wide, long = per_cell.values()
    return f"""
### A wide sheet against a long one

`load_orders` (the extent check, fastexcel's read and the typing) of the same number of
cells laid out wide and long, one run each. Target: a wide sheet's cost per cell within 3x
of a long one's. Measured: **{wide / long:.2f}x**.

| sheet | seconds | per cell | peak memory |
|---|---:|---:|---:|
{chr(10).join(lines)}
"""


def fresh_memory_seconds() -> float:
    """Seconds to touch 1 GiB of fresh 4 KiB pages, in a process of its own: what memory
    new to a process costs on this machine at the moment (a virtual machine's host may
    charge much more for it at one time than at another)."""
    return float(subprocess.run([sys.executable, "-c", FRESH_MEMORY], capture_output=True,
                                text=True, check=True).stdout)  # fmt: skip


def machine_state(before: float, after: float) -> str:
    return f"""
The machine's state, as context for comparing runs: the first touch of 1 GiB of fresh
memory in 4 KiB pages took {before:.2f} s before this run and {after:.2f} s after it (on
these virtual machines it varies several-fold from one hour to the next). Every process here
touches hundreds of MB afresh; when that is dear, every side is slower, and most the one that
touches the most memory: ours.
"""


def main(labels: list[str]) -> None:
    labels = labels or list(ROWS)
    before = fresh_memory_seconds()
    body = (
        workbooks(labels)
        + one_thread_against_two(labels[-1])
        + one_blas_thread_against_the_pool(labels[-1])
        + reading_against_fastexcel(labels[-1])
        + csv_against_duckdb()
        + wide_against_long()
    )
    body += machine_state(before, fresh_memory_seconds())
    print(write_section("report", "Segment report: orders in, workbook out", body))


if __name__ == "__main__":
    main(sys.argv[1:])
