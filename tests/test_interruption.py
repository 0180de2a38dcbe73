"""Stopping and refusing cleanly: SIGINT and SIGTERM at several moments of a real run leave
nothing behind; an output folder that cannot be written is refused before any work; a
report file saved meanwhile is never replaced; a folder given as the orders is named so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clv_xl import cli
from clv_xl.analysis.analyze import analyze
from clv_xl.cli import main
from clv_xl.errors import InputError
from clv_xl.orders.load import load_orders
from clv_xl.report.workbook import write_report
from clv_xl.templates.sample import sample_orders, write_orders

SHARED_MEMORY = Path("/dev/shm")


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("orders")
    return write_orders(sample_orders(customers=300, seed=8), folder / "orders.xlsx")


def ours_in_shared_memory() -> set[str]:
    if not SHARED_MEMORY.is_dir():
        return set()
    return {p.name for p in SHARED_MEMORY.iterdir() if p.name.startswith("clv_xl-")}


def stopped_run(orders: Path, folder: Path, step: str, signum: int) -> tuple[int, str]:
    """Run ``clv-xl report`` (its temporary files in a folder of its own) and send it
    ``signum`` as soon as it says it starts ``step``; its exit code and what it printed."""
    (folder / "out").mkdir()
    (folder / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(folder / "tmp")}
    command = [sys.executable, "-m", "clv_xl.cli", "report", str(orders), "-o",
               str(folder / "out" / "report.xlsx")]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert child.stderr is not None
    said = b""
    deadline = time.monotonic() + 60
    while step.encode() not in said and time.monotonic() < deadline:
        chunk = os.read(child.stderr.fileno(), 4096)
        if not chunk:  # it ended before that step
            break
        said += chunk
    child.send_signal(signum)
    _, rest = child.communicate(timeout=60)
    return child.returncode, (said + rest).decode()


MOMENTS = [
    ("Reading orders", signal.SIGINT),
    ("Analysing", signal.SIGTERM),
    ("Saving the workbook", signal.SIGINT),  # while openpyxl writes its temporary files
    ("Streaming the Customers rows", signal.SIGTERM),  # the report's temporary file
]


@pytest.mark.parametrize(("step", "signum"), MOMENTS, ids=[f"{s} {n.name}" for s, n in MOMENTS])
def test_a_stop_signal_leaves_nothing(
    step: str, signum: signal.Signals, orders: Path, tmp_path: Path
) -> None:
    shared_before = ours_in_shared_memory()
    code, said = stopped_run(orders, tmp_path, step, signum)
    assert code == 128 + signum, said
    last = said.strip().splitlines()[-1]
    assert last == f"clv-xl: interrupted ({signum.name}); nothing was written.", said
    assert "Traceback" not in said
    assert list((tmp_path / "out").iterdir()) == []
    assert list((tmp_path / "tmp").iterdir()) == []
    assert ours_in_shared_memory() <= shared_before


def test_a_stop_signal_after_the_report_is_announced_leaves_it(
    orders: Path, tmp_path: Path
) -> None:
    """The report's path on stdout is the answer: a SIGTERM after it (the process still
    ending) leaves the report and exit code 0, never a killed process beside a report."""
    report = tmp_path / "report.xlsx"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    command = [sys.executable, "-m", "clv_xl.cli", "report", str(orders), "-o", str(report), "-q"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert child.stdout is not None
    said = child.stdout.readline()  # the path, the last thing the report command prints
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert said.decode().strip() == str(report)
    assert child.returncode == 0, err.decode()
    assert report.read_bytes()[:2] == b"PK"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_a_stop_signal_before_the_command_handles_them_stops_it(
    orders: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One that came while the process started (noted by `run`) stops the work at once."""
    monkeypatch.setattr(cli, "NOTED", [signal.SIGTERM])
    assert cli.main(["report", str(orders), "-o", str(tmp_path / "r.xlsx")]) == 143
    assert capsys.readouterr().err.strip() == (
        "clv-xl: interrupted (SIGTERM); nothing was written."
    )
    assert list(tmp_path.iterdir()) == []


class HalfMade:
    """Stopped halfway through its ``__init__``, as openpyxl's ``ZipFile`` can be: its
    ``__del__`` then fails (``ZipFile.close`` reads an attribute never set)."""

    def __init__(self) -> None:
        raise cli.Interrupted(signal.SIGINT)

    def __del__(self) -> None:
        self.never_set.close()


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_an_object_the_signal_stopped_halfway_adds_nothing_to_the_answer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its failing ``__del__`` runs before the answer, and says nothing (once in a run of
    the suite, "Exception ignored ... AttributeError" and a traceback followed the answer)."""

    def stopped_while_saving(args: object) -> int:
        HalfMade()
        return 0

    monkeypatch.setattr(cli, "_report", stopped_while_saving)
    assert cli.main(["report", "orders.xlsx"]) == 130
    assert capsys.readouterr().err == "clv-xl: interrupted (SIGINT); nothing was written.\n"


@pytest.fixture
def unwritable(tmp_path: Path) -> Path:
    """A folder this process cannot write to (for root, whom permissions do not stop: /sys)."""
    if os.geteuid() == 0:
        folder = Path("/sys")
    else:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o500)
    try:
        (folder / "probe.xlsx").open("xb").close()
    except OSError:
        return folder
    (folder / "probe.xlsx").unlink()
    pytest.skip(f"{folder} can be written here")


def test_an_unwritable_output_folder_is_refused_before_any_work(
    orders: Path, unwritable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(orders), "-o", str(unwritable / "report.xlsx")]) == 2
    said = capsys.readouterr().err
    assert said.strip() == (
        f"clv-xl: The report cannot be saved in the folder {unwritable} (Permission denied)."
    )
    assert "Reading orders" not in said


def test_a_report_saved_meanwhile_is_not_replaced(orders: Path, tmp_path: Path) -> None:
    analysis = analyze(load_orders(orders))
    out = tmp_path / "report.xlsx"

    def someone_saves_a_file(step: str) -> None:
        if step.startswith("Saving the workbook"):
            out.write_bytes(b"someone's work")

    with pytest.raises(InputError) as refused:
        write_report(analysis, out, progress=someone_saves_a_file)
    # one sentence for the command line and the ribbon alike (no command-line option in it)
    assert str(refused.value) == (
        f"{out} appeared while the report was being written and was left as it is; "
        "run the report again."
    )
    assert out.read_bytes() == b"someone's work"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]  # no temporary left
    write_report(analysis, out, overwrite=True)  # --force replaces it
    assert out.read_bytes()[:2] == b"PK"


def test_a_folder_given_as_the_orders_is_named_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "orders.xlsx"
    folder.mkdir()
    assert main(["report", str(folder), "-o", str(tmp_path / "r.xlsx")]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"clv-xl: {folder} is a folder: give the orders file in it."
    )
    assert [p.name for p in tmp_path.iterdir()] == ["orders.xlsx"]


def test_a_long_orders_name_gives_a_report_name_that_fits(orders: Path, tmp_path: Path) -> None:
    long = tmp_path / ("é" * 120 + ".xlsx")  # 245 bytes of UTF-8
    long.write_bytes(orders.read_bytes())
    assert main(["report", str(long), "-q"]) == 0
    (report,) = [p for p in tmp_path.iterdir() if p != long]
    assert len(report.name.encode()) <= 255 and report.name.endswith(".xlsx")
    assert report.name.startswith("é" * 100) and " - CLV report " in report.name


def test_a_report_name_too_long_is_one_sentence(
    orders: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / ("r" * 300 + ".xlsx")
    assert main(["report", str(orders), "-o", str(out)]) == 2
    said = capsys.readouterr().err.strip()
    assert said.startswith("clv-xl: The report cannot be saved as") and said.endswith(
        "(File name too long)."
    )
    assert list(tmp_path.iterdir()) == []


#: `main` with a standard output that sends the process SIGTERM as it first writes text
#: holding the last argument: after the report is saved, before or as its path is printed.
SIGNAL_ON_OUTPUT = """
import io, os, signal, sys
from clv_xl.cli import main

class SignalOnWrite(io.StringIO):
    def write(self, text):
        if sys.argv[-1] in text:
            os.kill(os.getpid(), signal.SIGTERM)
        return super().write(text)

sys.stdout = SignalOnWrite()
code = main(["report", *sys.argv[1:-1]])
assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, "the handlers are restored"
sys.exit(code)
"""


def signalled_on_output(orders: Path, out: Path, text: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", SIGNAL_ON_OUTPUT, str(orders), "-o", str(out), text]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_stop_signal_after_the_report_is_saved_removes_it(orders: Path, tmp_path: Path) -> None:
    """As the summary table is printed (the report saved, its path not yet given)."""
    done = signalled_on_output(orders, tmp_path / "report.xlsx", "Customers")
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "clv-xl: interrupted (SIGTERM); nothing was written."
    )
    assert list(tmp_path.iterdir()) == []


def test_a_stop_signal_as_the_path_is_printed_leaves_the_report(
    orders: Path, tmp_path: Path
) -> None:
    """The path is the answer: once it is being given, the report stays."""
    out = tmp_path / "report.xlsx"
    done = signalled_on_output(orders, out, str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:2] == b"PK"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]
