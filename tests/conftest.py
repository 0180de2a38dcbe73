"""Test set-up shared by every test module.

xlwings decides at its first import what ``xw.func`` is: with these two
variables it is xlwings' Office.js machinery (``xlwings.server``), which runs on
Linux under xlwings' noncommercial licence terms. They must be set before
anything imports xlwings, hence here, at the top of the root conftest.
"""

import os

os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"


import pytest


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process may run on two cores, the second thread (`clv_xl.alongside`) not
    switched off, whatever the machine and the environment."""
    from clv_xl import alongside

    monkeypatch.delenv(alongside.ONE_THREAD_SETTING, raising=False)
    monkeypatch.setattr(alongside.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(alongside.os, "cpu_count", lambda: 2)
