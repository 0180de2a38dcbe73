"""The ``clv-xl`` command: report, add-in and templates.

Exit codes: 0 done, 2 bad input or usage, 1 unexpected failure (a message, and
the traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import __version__
from .errors import ClvError
from .params import DEFAULT_MARGIN, Params

if TYPE_CHECKING:
    from .analysis import Analysis

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class Steps:
    """A one-line-per-step progress display on stderr, with each step's time."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started: float | None = None

    def __call__(self, step: str) -> None:
        self.finish()
        if self.enabled:
            print(f"  {step}...", end="", file=sys.stderr, flush=True)
        self.started = time.perf_counter()

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
        description="Read orders (.xlsx, .xlsm or .csv), compute customer, segment, cohort and "
        "retention metrics, and write a formatted report workbook.",
    )
    report.add_argument("orders", type=Path, help="the orders file")
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
    """The ``clv-xl`` command: `main`, then the end of the process without Python's teardown
    of the modules it imported (pandas, scipy: about 0.2 s), once the output is flushed."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a reader that has gone away
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return {"report": _report, "addin": _addin, "templates": _templates}[args.command](args)
    except ClvError as problem:
        print(f"clv-xl: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("clv-xl: interrupted; nothing was written.", file=sys.stderr)
        return EXIT_FAILURE
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
    from .destination import default_report_name
    from .headers import ColumnMap
    from .pipeline import run_report

    params = Params(
        as_of=args.as_of,
        churn_window_days=args.churn_window_days,
        margin=args.margin,
        annual_discount_rate=args.discount_rate,
        min_segment_customers=args.min_segment_customers,
        currency=args.currency or Params.currency,
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
    if not args.orders.is_file():
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
    steps.finish()
    if not args.quiet:
        print(summary_table(report.analysis))
    print(report.path)
    return EXIT_OK


def summary_table(analysis: Analysis) -> str:
    """A short plain-text table of the headline figures and the largest segments."""
    o, cur = analysis.overall, analysis.params.currency

    def money(x: float) -> str:
        return "n/a" if x != x else f"{cur} {x:,.0f}"

    lines = [
        f"Orders as of {analysis.as_of:%Y-%m-%d}: {analysis.orders.rows_used:,} rows used, "
        f"{analysis.orders.rows_excluded:,} excluded (see the Data quality sheet).",
        f"{'Customers':<28}{int(o['customers']):>14,}",
        f"{'Revenue':<28}{money(o['revenue']):>14}",
        f"{'Churn (per month)':<28}{o['monthly_churn']:>14.2%}",
        f"{'CLV (per customer)':<28}{money(o['clv']):>14}",
        f"{'Predicted CLV, 36 months':<28}{money(o['predicted_clv_36m']):>14}"
        + ("" if analysis.prediction.fitted else f"  ({analysis.prediction.reason})"),
        f"{'Margin ' + '(' + analysis.margin_source + ')':<28}{analysis.margin:>14.1%}",
        "",
        f"{'Segment':<34}{'Customers':>10}{'CLV':>14}{'Index':>8}",
    ]
    table = analysis.segments
    for dimension in analysis.dimensions[1:3]:
        for _, row in table[table["dimension"] == dimension].iterrows():
            name = f"{dimension}: {row['segment']}"[:33]
            index = "" if row["clv_index"] != row["clv_index"] else f"{row['clv_index']:.0f}"
            lines.append(f"{name:<34}{int(row['customers']):>10,}{money(row['clv']):>14}{index:>8}")
    return "\n".join(lines)


def _addin(args: argparse.Namespace) -> int:
    from . import addin

    if args.action == "build":
        print(f"Wrote {addin.build_addin(args.output_dir)}")
    elif args.action == "install":
        print(f"Installed {addin.install_addin()}. Restart Excel to see the CLV tab.")
    else:
        print(f"Removed {addin.remove_addin()}.")
    return EXIT_OK


def _templates(args: argparse.Namespace) -> int:
    from .templates import build_templates

    for path in build_templates(args.output_dir):
        print(f"Wrote {path}")
    return EXIT_OK


if __name__ == "__main__":
    run()
