"""One BLAS thread while the optimiser runs.

L-BFGS-B's bookkeeping calls BLAS on matrices of a few rows at every iteration; OpenBLAS's
thread pool wakes for each call and on a busy machine an iteration then costs about 1 ms
instead of 0.15 ms, and the report's model step twice as long (bench/RESULTS.md, models).
Pyodide (xlwings Lite) has neither threads nor threadpoolctl.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - Pyodide
    threadpool_limits = None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Within the block, BLAS runs on the calling thread only."""
    if threadpool_limits is None:  # pragma: no cover - Pyodide
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
