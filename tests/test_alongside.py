"""`alongside`: a call in a second thread, or in this one where a thread cannot start or
is switched off; the analysis and the sheet read are the same either way."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from clv_xl import alongside as module
from clv_xl.alongside import ONE_THREAD_SETTING, alongside
from clv_xl.analysis.analyze import analyze
from clv_xl.analysis.params import Params
from clv_xl.orders.headers import GUESS
from clv_xl.orders.load import load_orders
from clv_xl.orders.source import workbook_sheet
from clv_xl.templates.sample import sample_orders, write_orders


def slow_call(seconds: float) -> tuple[Callable[[], None], threading.Event]:
    """A call that ends after ``seconds``, and the event it sets as it ends."""
    ended = threading.Event()

    def slow() -> None:
        time.sleep(seconds)
        ended.set()

    return slow, ended


def where_it_ran() -> tuple[Callable[[], int], list[int]]:
    """A call that records the thread it ran in, and the record."""
    ran: list[int] = []

    def call() -> int:
        ran.append(threading.get_ident())
        return 42

    return call, ran


@pytest.mark.usefixtures("two_cores")
def test_the_call_runs_in_a_second_thread_and_its_value_comes_back() -> None:
    call, ran = where_it_ran()
    assert alongside(call).result() == 42
    assert ran and ran[0] != threading.get_ident()


@pytest.mark.usefixtures("two_cores")
def test_its_exception_is_raised_by_result() -> None:
    problem = ValueError("the sheet is damaged")

    def failing() -> None:
        raise problem

    pending = alongside(failing)
    with pytest.raises(ValueError) as raised:
        pending.result()
    assert raised.value is problem


@pytest.mark.parametrize("case", ["switched off", "one core", "no thread can start"])
def test_otherwise_the_call_runs_in_this_thread_when_its_result_is_asked_for(
    monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    if case == "switched off":
        monkeypatch.setenv(ONE_THREAD_SETTING, "1")
    elif case == "one core":
        monkeypatch.setattr(module.os, "sched_getaffinity", lambda pid: {0}, raising=False)
        monkeypatch.setattr(module.os, "cpu_count", lambda: 1)
    else:  # as in Pyodide

        def no_thread(self: threading.Thread) -> None:
            raise RuntimeError("can't start new thread")

        monkeypatch.setattr(threading.Thread, "start", no_thread)
    call, ran = where_it_ran()
    pending = alongside(call)
    assert ran == []
    assert pending.result() == 42 and pending.result() == 42
    assert ran == [threading.get_ident()]


@pytest.mark.usefixtures("two_cores")
def test_leaving_the_block_on_an_error_waits_for_the_call_to_end() -> None:
    """No thread is left running (inside fastexcel, say) when the error ends the program."""
    slow, ended = slow_call(0.3)
    with pytest.raises(ValueError), alongside(slow):
        raise ValueError("the sheet is too large")
    assert ended.is_set()


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="POSIX timers")
@pytest.mark.usefixtures("two_cores")
def test_an_interruption_while_waiting_waits_for_the_call_to_end() -> None:
    """Ctrl-C while result() waits: raised at once, and the block then waits for the call
    (a thread whose join was interrupted may say it is not alive while it runs on)."""
    slow, ended = slow_call(0.5)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, stop)
    try:
        with pytest.raises(KeyboardInterrupt), alongside(slow) as pending:
            signal.setitimer(signal.ITIMER_REAL, 0.1)
            pending.result()
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert ended.is_set()


@pytest.fixture(scope="module")
def orders_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("alongside") / "orders.xlsx"
    return write_orders(sample_orders(customers=400, seed=3), path)


def test_the_sheet_and_the_analysis_are_the_same_with_one_thread_or_two(
    monkeypatch: pytest.MonkeyPatch, orders_book: Path
) -> None:
    results = []
    for setting in ("0", "1"):
        monkeypatch.setenv(ONE_THREAD_SETTING, setting)
        sheet = workbook_sheet(orders_book, None, GUESS)
        results.append((sheet, analyze(load_orders(sheet), Params())))
    (two_sheet, two), (one_sheet, one) = results
    assert two_sheet == one_sheet
    pd.testing.assert_frame_equal(two.customers, one.customers)
    pd.testing.assert_frame_equal(two.segments, one.segments)
    pd.testing.assert_frame_equal(two.prediction.customers, one.prediction.customers)
    assert two.prediction.fitted and two.prediction.purchase_model == one.prediction.purchase_model
