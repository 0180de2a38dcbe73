"""The ``clv-xl`` command: report, add-in and templates.

Exit codes: 0 done, 2 bad input or usage, 1 unexpected failure (a message, and
the traceback only with ``--debug``), 130 or 143 interrupted by SIGINT (Ctrl-C) or
SIGTERM: the work stops where it is, everything it made is removed on the way out
(`Interrupted` runs every ``finally``; a report complete when the signal came is removed
too), and nothing is left behind. Once the report's path is being printed the answer is
given: a signal from then on changes nothing (exit 0).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import NoReturn

from clv_xl import __version__
from clv_xl.analysis.params import DEFAULT_MARGIN, Params
from clv_xl.errors import ClvError
from clv_xl.orders.source import READABLE_FILES

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
#: The signals that stop the command, each ending it with exit code 128 + its number.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A stop signal arrived. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` on the way out takes it for a failure."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def stop_signals_raise() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Interrupted` (in the main thread, where Python runs signal
    handlers); once one has, both are ignored while the work unwinds and cleans up. On the
    way out the previous handlers come back."""

    def stop(signum: int, frame: FrameType | None) -> None:
        ignore_stop_signals()
        raise Interrupted(signum)

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def ignore_stop_signals() -> None:
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)


#: Stop signals that came while `main` was not handling them, in the `run` process.
NOTED: list[int] = []


def _note(signum: int, frame: FrameType | None) -> None:
    NOTED.append(signum)


def _drop_interrupted_work(stop: Interrupted) -> None:
    """Free the frames the signal stopped, and the objects they held, before the answer is
    printed. An object stopped halfway through its ``__init__`` (a ``ZipFile`` without
    its ``_writing``) can fail in its ``__del__``; such failures of work already given up
    are not reported (Python would print them, with a traceback, after the answer)."""
    previous = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        failure: BaseException | None = stop
        while failure is not None:
            failure.__traceback__ = None
            failure = failure.__context__
        gc.collect()
    finally:
        sys.unraisablehook = previous


class Steps:
    """A one-line-per-step progress display on stderr, with each step's time."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started: float | None = None

    def __call__(self, step: str) -> None:
        self.finish()
        self.started = time.perf_counter()  # first: a signal may come while it is printed
        if self.enabled:
            print(f"  {step}...", end="", file=sys.stderr, flush=True)

    def finish(self, failed: bool = False) -> None:
        if self.enabled and self.started is not None:
            done = "failed" if failed else f"{time.perf_counter() - self.started:.1f} s"
            print(f" {done}", file=sys.stderr, flush=True)
        self.started = None


class UsageError(ClvError):
    """A command-line argument that cannot be used."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _fraction(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="clv-xl",
        description="Customer lifetime value and retention analysis for Excel.",
    )
    top.add_argument("--version", action="version", version=f"clv-xl {__version__}")
    top.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    report = commands.add_parser(
        "report",
        help="write a segment report workbook from a file of orders",
        description="Read orders, compute customer, segment, cohort and retention metrics, "
        "and write a formatted report workbook.",
    )
    report.add_argument("orders", type=Path, help=f"the orders file: {READABLE_FILES}")
    report.add_argument("-o", "--output", type=Path,
                        help="the report file (default: '<orders> - CLV report <date>.xlsx' "
                             "next to the orders)")  # fmt: skip
    report.add_argument("--sheet", help="the worksheet holding the orders")
    report.add_argument("--margin", type=_fraction,
                        help="gross margin as a fraction or percentage (0.3 or 30%%); "
                             "default: from the cost column, else "
                             f"{DEFAULT_MARGIN * 100:.0f}%%")  # fmt: skip
    report.add_argument(
        "--discount-rate",
        type=_fraction,
        default=Params.annual_discount_rate,
        help="annual discount rate (default %(default)s)",
    )
    report.add_argument("--churn-window-days", type=int, default=Params.churn_window_days,
                        help="days without an order after which a customer counts as lost "
                             "(default %(default)s)")  # fmt: skip
    report.add_argument("--as-of", type=_date, help="analysis date (default: last order date)")
    report.add_argument(
        "--segment",
        action="append",
        metavar="COL",
        help="a column to segment by (repeat; default: every text column)",
    )
    report.add_argument(
        "--min-segment-customers",
        type=int,
        default=Params.min_segment_customers,
        help="segments smaller than this are marked small (default %(default)s)",
    )
    report.add_argument("--currency",
                        help="currency code or symbol of the report (default "
                             f"{Params.currency}); orders in several currencies: read only "
                             "the rows in this one")  # fmt: skip
    report.add_argument("--cac", type=Path, metavar="FILE",
                        help="CSV of channel, CAC (cost per new customer)")  # fmt: skip
    for field in ("customer", "date", "amount", "order-id", "cost", "margin", "quantity"):
        report.add_argument(
            f"--{field}-col",
            metavar="HEADER",
            help=f"the header of the {field.replace('-', ' ')} column",
        )
    report.add_argument("--force", action="store_true", help="replace an existing report")
    report.add_argument("-q", "--quiet", action="store_true", help="print only the report path")

    addin = commands.add_parser("addin", help="build, install or remove the Excel add-in")
    actions = addin.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser("build", help="write clv_xl.xlam (from xlwings' add-in template)")
    build.add_argument("-o", "--output-dir", type=Path, default=Path("."))
    actions.add_parser("install", help="build clv_xl.xlam and copy it to Excel's start-up folder")
    actions.add_parser("remove", help="remove clv_xl.xlam from Excel's start-up folder")

    templates = commands.add_parser("templates", help="build the template workbooks")
    template_actions = templates.add_subparsers(dest="action", required=True, metavar="ACTION")
    build_templates = template_actions.add_parser("build", help="write the templates")
    build_templates.add_argument("-o", "--output-dir", type=Path, default=Path("templates"))
    return top


def run() -> NoReturn:
    """The ``clv-xl`` command. A stop signal before `main` handles them stops it as soon as
    it does; one after its answer (the process ending) changes nothing."""
    for number in STOP_SIGNALS:
        signal.signal(number, _note)
    code = main()
    ignore_stop_signals()  # ignored, not noted: Python's shutdown resets handlers, not SIG_IGN
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with stop_signals_raise():
            if NOTED:
                raise Interrupted(NOTED[0])
            command = {"report": _report, "addin": _addin, "templates": _templates}
            return command[args.command](args)
    except ClvError as problem:
        print(f"clv-xl: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Interrupted as stop:
        _drop_interrupted_work(stop)
        print(f"clv-xl: interrupted ({stop}); nothing was written.", file=sys.stderr)
        return 128 + stop.signum
    except Exception as failure:  # the last line of defence: a message, not a traceback
        if args.debug:
            traceback.print_exc()
        print(
            f"clv-xl: unexpected failure ({type(failure).__name__}: {failure}). "
            "Run again with --debug for details, and please report it.",
            file=sys.stderr,
        )
        return EXIT_FAILURE


def _report(args: argparse.Namespace) -> int:
    # Imported here, not at the top: `--help` and the other commands need none of them.
    from clv_xl.orders.cac import read_cac
    from clv_xl.orders.headers import ColumnMap
    from clv_xl.pipeline import run_report
    from clv_xl.report.destination import default_report_name

    params = Params(
        as_of=args.as_of,
        churn_window_days=args.churn_window_days,
        margin=args.margin,
        annual_discount_rate=args.discount_rate,
        min_segment_customers=args.min_segment_customers,
        currency=args.currency or Params.currency,
        cac=read_cac(args.cac) if args.cac else (),
    )
    columns = ColumnMap(
        customer=args.customer_col,
        date=args.date_col,
        amount=args.amount_col,
        order_id=args.order_id_col,
        cost=args.cost_col,
        margin=args.margin_col,
        quantity=args.quantity_col,
        segments=tuple(args.segment) if args.segment else None,
        only_currency=args.currency,
    )
    if not os.path.exists(args.orders):  # False for a name too long as well
        raise UsageError(f"The orders file {args.orders} does not exist.")
    output = args.output or args.orders.with_name(
        default_report_name(args.orders.stem, dt.date.today())
    )
    steps = Steps(enabled=not args.quiet)
    try:
        report = run_report(args.orders, output, sheet=args.sheet, columns=columns, params=params,
                            overwrite=args.force, progress=steps)  # fmt: skip
    except BaseException:
        steps.finish(failed=True)
        raise
    try:
        steps.finish()
        if not args.quiet:
            from clv_xl.analysis.headline import summary_table

            print(summary_table(report.analysis))
        ignore_stop_signals()  # from here the report stays: its path is the answer
        print(report.path, flush=True)
    except Interrupted:  # after the report was saved: it goes too, as the message says
        report.path.unlink(missing_ok=True)
        raise
    return EXIT_OK


def _addin(args: argparse.Namespace) -> int:
    from clv_xl.excel import addin

    if args.action == "build":
        print(f"Wrote {addin.build_addin(args.output_dir)}")
    elif args.action == "install":
        print(f"Installed {addin.install_addin()}. Restart Excel to see the CLV tab.")
    else:
        print(f"Removed {addin.remove_addin()}.")
    return EXIT_OK


def _templates(args: argparse.Namespace) -> int:
    from clv_xl.templates.build import build_templates

    for path in build_templates(args.output_dir):
        print(f"Wrote {path}")
    return EXIT_OK


if __name__ == "__main__":
    run()
