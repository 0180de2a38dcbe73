"""The second thread of the analysis: the same results in two threads as in one."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from clv_xl import second_thread as second_thread_module
from clv_xl.analysis import Analysis, analyze
from clv_xl.orders import load_orders
from clv_xl.prediction import Prediction
from clv_xl.sample import sample_orders
from clv_xl.second_thread import THREADED_ROWS, InThisThread, second_thread


def test_a_second_thread_from_threaded_rows_on() -> None:
    assert isinstance(second_thread(THREADED_ROWS - 1), InThisThread)
    with second_thread(THREADED_ROWS) as pool:
        assert isinstance(pool, ThreadPoolExecutor)
        assert pool.submit(threading.get_ident).result() != threading.get_ident()


def test_in_this_thread_runs_each_job_at_once_and_keeps_its_error() -> None:
    ran: list[int] = []
    with InThisThread() as executor:
        done = executor.submit(lambda x: ran.append(x) or x * 2, 21)
        assert ran == [21] and done.done() and done.result() == 42
        failed = executor.submit(lambda: 1 / 0)
        assert failed.done()
        with pytest.raises(ZeroDivisionError):
            failed.result()


def assert_same_analysis(first: Analysis, second: Analysis) -> None:
    for field in dataclasses.fields(Analysis):
        one, other = getattr(first, field.name), getattr(second, field.name)
        if isinstance(one, pd.DataFrame):
            pd.testing.assert_frame_equal(one, other, check_exact=True)
        elif isinstance(one, Prediction):
            for part in dataclasses.fields(Prediction):
                a, b = getattr(one, part.name), getattr(other, part.name)
                if isinstance(a, pd.DataFrame):
                    pd.testing.assert_frame_equal(a, b, check_exact=True)
                else:
                    assert a == b, part.name
        elif field.name != "orders":  # the same object
            assert one == other, field.name


def test_the_analysis_in_two_threads_is_the_analysis_in_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orders = load_orders(sample_orders(customers=400, seed=8))
    in_one = analyze(orders)
    monkeypatch.setattr(second_thread_module, "THREADED_ROWS", 0)
    in_two = analyze(orders)
    assert in_two.prediction.fitted and not in_two.prediction.tracking.empty
    assert_same_analysis(in_two, in_one)
