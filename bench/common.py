"""Shared helpers for the benchmarks: timing, peak memory, and writing a results section."""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

RESULTS = Path(__file__).parent / "results"
T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Run ``fn`` once; return its result and the wall time in seconds."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_section(name: str, title: str, body: str) -> Path:
    """Write one benchmark's markdown section to bench/results/<name>.md."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.md"
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    path.write_text(f"## {title}\n\nMeasured {stamp} on {machine()}.\n\n{body.strip()}\n")
    return path
