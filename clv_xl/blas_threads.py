"""One BLAS thread while the models fit.

SciPy's L-BFGS-B (in C from SciPy 1.15) solves its tiny triangular systems with LAPACK's
``dtrtrs`` at every iteration, and OpenBLAS runs them on its thread pool, whose workers then
spin for a while after each call (scipy/scipy#22438, OpenMathLib/OpenBLAS#5383), taking the
core the analysis' own second thread needs (`perf` shows it as ``blas_thread_server``; what
the limit saves: `bench/RESULTS.md`, "One BLAS thread against OpenBLAS's pool").
threadpoolctl, the cure suggested there, sets every BLAS loaded in the process to one thread
for a block and restores the count after it. The models' own arithmetic is elementwise
(`clv_xl.models._mle.together`), so nothing here needs more than one BLAS thread.
"""

from __future__ import annotations

from contextlib import AbstractContextManager


def one_blas_thread() -> AbstractContextManager[object]:
    """A block in which each BLAS library loaded (SciPy's too) runs on one thread."""
    import scipy.optimize  # noqa: F401  (loads SciPy's BLAS, so that the limit reaches it)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
