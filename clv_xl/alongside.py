"""A call run in a second thread while this one goes on: for calls that hold no GIL
(fastexcel's parse of a sheet) or spend their time in numpy (the models' fits), on a
machine with a core to spare.

``with alongside(call) as pending:`` starts ``call()`` in a daemon thread; inside the block
``pending.result()`` waits for it and returns its value or raises its exception. Leaving the
block, on an error or an interruption too, waits for the call to end (its outcome then set
aside), so that no thread is left inside native code while the program ends: Ctrl-C during
fastexcel's parse waits for the parse, as it did when the parse ran in this thread. The
wait is in short steps, open to Ctrl-C on every platform (a bare join is not, on Windows).

Where a second thread cannot start (Pyodide, the engine of xlwings Lite) or gains nothing
(one core for this process; ``CLV_XL_ONE_THREAD=1`` set, the benchmark's switch), the call
runs in this thread at ``result()``, so the work is done in the order the code reads. What
it saves is measured in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")
#: Set to 1 to run every call in this thread (for a busy machine, or to measure the gain).
ONE_THREAD_SETTING = "CLV_XL_ONE_THREAD"
#: How long one wait for the thread lasts before signals are looked at again (seconds).
_WAIT_STEP = 0.05


class Pending(Generic[T]):
    """The result of a call started by `alongside`, once it is done."""

    def __init__(self, call: Callable[[], T], in_thread: bool) -> None:
        self._call: Callable[[], T] | None = call
        self._value: list[T] = []  # the value, once the call has returned
        self._error: BaseException | None = None
        # set when the call has ended; a thread's own is_alive() can be wrong once a join of
        # it was interrupted (CPython gh-90882)
        self._ended = threading.Event()
        self._in_thread = False
        if in_thread:
            thread = threading.Thread(target=self._run, daemon=True)
            try:
                thread.start()
            except RuntimeError:  # "can't start new thread": Pyodide, or no resources left
                return
            self._in_thread = True

    def _run(self) -> None:
        assert self._call is not None
        try:
            self._value.append(self._call())
        except BaseException as error:  # raised again by result(), in the caller's thread
            self._error = error
        finally:
            self._call = None
            self._ended.set()

    def result(self) -> T:
        """The call's value, waiting for it; its exception raised here."""
        if not self._in_thread:
            if self._call is not None:
                self._run()
        else:
            self.wait()
        if self._error is not None:
            raise self._error
        return self._value[0]

    def wait(self) -> None:
        """Wait for the call to end (in a second thread; in this one nothing is left to do)."""
        while self._in_thread and not self._ended.wait(_WAIT_STEP):
            pass

    def __enter__(self) -> Pending[T]:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.wait()


def alongside(call: Callable[[], T]) -> Pending[T]:
    """Start ``call()`` in a second thread (see the module docstring)."""
    return Pending(call, in_thread=second_thread_gains())


def second_thread_gains() -> bool:
    """Whether a second thread would run beside this one: more than one core for this
    process, and CLV_XL_ONE_THREAD is not 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) > 1 and os.environ.get(ONE_THREAD_SETTING, "") != "1"
