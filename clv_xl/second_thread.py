"""A second thread for array work beside other work, when there is enough of it to gain.

numpy and pandas let go of the interpreter lock in their array loops (sorting, arithmetic,
reductions), so two such jobs can share two cores. On small data the loops are short and
the two threads mostly wait for each other's turn at the lock: below `THREADED_ROWS` the
jobs run one after the other in this thread. Two threads made the analysis 0.035 s slower
at 10,000 sample order rows, 0.015 s slower at 100,000, 0.08 s faster at 250,000 and 0.2 s
faster at a million. Pyodide (xlwings Lite) has no threads: there every job runs in this
thread.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

#: Rows of work from which a job runs in a second thread.
THREADED_ROWS = 200_000

P = ParamSpec("P")
T = TypeVar("T")


def second_thread(rows: int) -> Executor:
    """A pool of one thread for jobs on ``rows`` rows, or `InThisThread` below THREADED_ROWS
    and where threads cannot start (Pyodide)."""
    threads = sys.platform != "emscripten"
    return ThreadPoolExecutor(1) if threads and rows >= THREADED_ROWS else InThisThread()


class InThisThread(Executor):
    """An executor that runs each job at once, in this thread."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # raised again by result(), as from a thread
            future.set_exception(error)
        return future
