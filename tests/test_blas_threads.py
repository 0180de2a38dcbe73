"""`one_blas_thread`: every BLAS at one thread for a block (SciPy's too), the count restored
after it; the report's analysis runs in such a block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import scipy.optimize  # noqa: F401  (SciPy's BLAS loaded, as the analysis loads it)
from threadpoolctl import threadpool_info

from clv_xl import pipeline
from clv_xl.analysis import analyze as analysis
from clv_xl.blas_threads import one_blas_thread
from clv_xl.templates.sample import sample_orders, write_orders


def blas_threads() -> dict[str, int]:
    """Each BLAS library loaded and its threads."""
    return {
        lib["filepath"]: lib["num_threads"]
        for lib in threadpool_info()
        if lib["user_api"] == "blas"
    }


def test_every_blas_runs_on_one_thread_in_the_block_and_as_before_after_it() -> None:
    before = blas_threads()
    assert before  # numpy's and SciPy's
    with one_blas_thread():
        inside = blas_threads()
    assert set(inside) == set(before)
    assert set(inside.values()) == {1}
    assert blas_threads() == before


def test_the_reports_analysis_runs_on_one_blas_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, int]] = []
    real = analysis.analyze

    def analyze(*args: Any, **kwargs: Any) -> Any:
        seen.append(blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis, "analyze", analyze)
    orders = tmp_path / "orders.csv"
    write_orders(sample_orders(customers=300, seed=3), orders)
    before = blas_threads()
    pipeline.run_report(orders, tmp_path / "report.xlsx")
    assert len(seen) == 1 and set(seen[0].values()) == {1}
    assert blas_threads() == before
