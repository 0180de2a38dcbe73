"""Benchmark: clv_xl's purchase models against ``lifetimes`` on the library of data shapes.

For each shape of :mod:`clv_xl.models.shapes` (and the CDNOW sample), the last third of the
span (whole weeks) is held out, as the report does. On the calibration histories (weeks)
it times clv_xl's purchase fit (BG/NBD with its no-drop-out limits, the one kept by AIC:
:func:`clv_xl.models.purchase_choice.fit_purchases`) and lifetimes' BetaGeoFitter, scores
both end points with one log-likelihood written here (FHL 2005 eq. 6; a limit is scored at
a point of BG/NBD next to it), and compares each model's holdout forecast with what the
customers bought: mean absolute error per customer and the error of the total. It also
times the report's whole model step (``prediction.predict``) per shape.

lifetimes 0.11.3 needs numpy < 2 and pandas < 2, so it runs in its own virtualenv in a
subprocess on the same data file (``make .venv-lifetimes/bin/python``, or ``make bench``).
PyMC-Marketing is not compared: it needs PyMC and a compiler toolchain for PyTensor, which
this benchmark does not set up.

    .venv/bin/python -m bench.models [--rows 1000000] [--lifetimes-python .venv-lifetimes/bin/python]

Both run with OPENBLAS_NUM_THREADS=1 (inherited by the subprocess).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from scipy.special import betaln, gammaln

from bench.common import write_section
from clv_xl.analysis.prediction import predict
from clv_xl.models import BetaGeo, rfm_summary, shapes
from clv_xl.models.no_drop_out import NBD, Poisson
from clv_xl.models.purchase_choice import fit_purchases

ROOT = Path(__file__).parents[1]
LIFETIMES_PYTHON = ROOT / ".venv-lifetimes" / "bin" / "python"
CDNOW = ROOT / "tests" / "data" / "cdnow" / "CDNOW_sample.txt"
#: A point of BG/NBD next to each limit: p -> 0 (b huge), and one rate (r, alpha huge).
NEAR_ZERO_DROP_OUT = {"a": 1.0, "b": 1e12}
NEAR_ONE_RATE = 1e8

LIFETIMES_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, pandas as pd
    from lifetimes import BetaGeoFitter

    data = np.load(sys.argv[1])
    f, r, T = (pd.Series(data[k]) for k in ("frequency", "recency", "T"))
    start = time.perf_counter()
    try:
        bgf = BetaGeoFitter().fit(f, r, T)
    except Exception as error:
        print(json.dumps({"error": type(error).__name__}))
        sys.exit(0)
    seconds = time.perf_counter() - start
    forecast = bgf.conditional_expected_number_of_purchases_up_to_time(
        pd.Series(data["duration"]), f, r, T)
    np.save(sys.argv[2], np.asarray(forecast, dtype=float))
    print(json.dumps({"fit_seconds": seconds, "params": bgf.params_.to_dict()}))
    """
)


def bg_nbd_log_likelihood(
    params: dict[str, float], f: np.ndarray, r: np.ndarray, age: np.ndarray
) -> float:
    """sum of log FHL (2005) eq. 6, written out here for scoring every end point alike."""
    rr, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    common = gammaln(rr + f) - gammaln(rr) + rr * np.log(alpha)
    alive = betaln(a, b + f) - betaln(a, b) - (rr + f) * np.log(alpha + age)
    with np.errstate(divide="ignore"):
        dropped = np.where(
            f > 0,
            betaln(a + 1, b + np.maximum(f, 1) - 1) - betaln(a, b) - (rr + f) * np.log(alpha + r),
            -np.inf,
        )
    return float(np.sum(common + np.logaddexp(alive, dropped)))


def as_bg_nbd(model: object) -> dict[str, float]:
    """BG/NBD parameters at (or next to) a fitted model."""
    if isinstance(model, BetaGeo):
        return dict(model.params)
    if isinstance(model, NBD):
        return {**model.params, **NEAR_ZERO_DROP_OUT}
    assert isinstance(model, Poisson)
    rate = model.params["rate"]
    return {"r": NEAR_ONE_RATE * rate, "alpha": NEAR_ONE_RATE, **NEAR_ZERO_DROP_OUT}


def library(rows: int | None) -> dict[str, tuple[pd.DataFrame, dt.date]]:
    """Every shape at its test size, or with about ``rows`` order rows (the customers scaled
    by the rows per customer at the test size); the 60 customers and CDNOW as they are."""
    made = {}
    for name, make in shapes.SHAPES.items():
        lines = shapes.tiny(seed=1) if name == "60 customers" else make()
        if rows is not None and name != "60 customers":  # 60 customers stay 60
            customers = lines["customer"].nunique()
            lines = make(customers=max(1, round(rows * customers / len(lines))))
        made[name] = (lines, shapes.AS_OF)
    made["CDNOW"] = (shapes.cdnow(CDNOW), dt.date(1998, 6, 30))
    return made


def calibration(lines: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Histories in weeks before the last third of the span (whole weeks), with the holdout."""
    span = (pd.Timestamp(as_of) - lines["date"].min()).days
    end = pd.Timestamp(as_of) - pd.Timedelta(days=7 * int(span / 3 // 7))
    codes, _ = pd.factorize(lines["customer"], sort=True)
    return rfm_summary(lines.assign(customer=codes), "weeks", as_of, end.date())


def theirs(history: pd.DataFrame, python: str, folder: Path) -> dict:
    data_file, forecast_file, script = folder / "d.npz", folder / "f.npy", folder / "run.py"
    np.savez(
        data_file,
        frequency=history["frequency"].to_numpy(),
        recency=history["recency"].to_numpy(),
        T=history["T"].to_numpy(),
        duration=history["duration_holdout"].to_numpy(),
    )
    script.write_text(LIFETIMES_SCRIPT)
    output = subprocess.run(
        [python, str(script), str(data_file), str(forecast_file)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result = json.loads(output.stdout.strip().splitlines()[-1])
    if "error" not in result:
        result["forecast"] = np.load(forecast_file)
    return result


def errors(forecast: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Mean absolute error per customer, and the relative error of the total."""
    return float(np.mean(np.abs(forecast - actual))), float(forecast.sum() / actual.sum() - 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lifetimes-python", default=str(LIFETIMES_PYTHON))
    arguments = parser.parse_args(argv if argv is not None else [])
    tables = [
        "\n".join(run(library(size), arguments.lifetimes_python)) for size in (None, arguments.rows)
    ]
    body = f"""
The shape library (`clv_xl.models.shapes`; CDNOW is the 2,357-customer sample), at its test
sizes and at about {arguments.rows:,} order rows, calibrated on all but the last third of
each span in whole weeks. clv_xl: the report's whole model step (`predict`: the fits, the
holdout check, every customer's forecast) and the purchase fit alone (BG/NBD and its
no-drop-out limits, kept by AIC), against lifetimes 0.11.3's BetaGeoFitter (own venv,
subprocess, same data file). Log-likelihoods are one formula (FHL 2005 eq. 6, written in
the benchmark) at each end point (a limit scored at a BG/NBD point next to it: b = 1e12,
and r, alpha = 1e8 x rate, 1e8 for one rate). Holdout: mean absolute error of each
customer's holdout purchases, and the error of the total. "speed-up" is lifetimes' fit
time over clv_xl's. PyMC-Marketing is not compared (PyMC and PyTensor's compiler are not
set up here).

{HEADER}
{tables[0]}

At about {arguments.rows:,} order rows:

{HEADER}
{tables[1]}
"""
    print(write_section("models", "Buy-till-you-die models on the shape library", body))


HEADER = (
    "| shape | customers | order rows | clv_xl model step s | clv_xl model | clv_xl fit s "
    "| LL clv_xl | MAE clv_xl | total clv_xl | lifetimes fit s | speed-up | LL lifetimes "
    "| MAE lifetimes | total lifetimes |\n"
    "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def run(made: dict[str, tuple[pd.DataFrame, dt.date]], lifetimes_python: str) -> list[str]:
    """One table row per shape."""
    rows = []
    for name, (lines, as_of) in made.items():
        start = time.perf_counter()
        predict(lines, as_of, margin=0.3, monthly_discount_rate=0.01)
        report_seconds = time.perf_counter() - start
        history = calibration(lines, as_of)
        f, r, age = (history[k].to_numpy() for k in ("frequency", "recency", "T"))
        actual = history["frequency_holdout"].to_numpy()
        start = time.perf_counter()
        (fit,) = fit_purchases(["BG/NBD"], f, r, age).values()
        ours_seconds = time.perf_counter() - start
        forecast = fit.model.expected_purchases(history["duration_holdout"], f, r, age)
        our_mae, our_total = errors(forecast, actual)
        our_ll = bg_nbd_log_likelihood(as_bg_nbd(fit.model), f, r, age)
        with tempfile.TemporaryDirectory() as folder:
            other = theirs(history, lifetimes_python, Path(folder))
        if "error" in other:
            their = f"fails ({other['error']}) | | | | "
        else:
            their_mae, their_total = errors(other["forecast"], actual)
            their_ll = bg_nbd_log_likelihood(other["params"], f, r, age)
            their = (
                f"{other['fit_seconds']:.2f} | {other['fit_seconds'] / ours_seconds:.1f}x "
                f"| {their_ll:.1f} | {their_mae:.3f} | {their_total:+.1%}"
            )
        rows.append(
            f"| {name} | {len(history):,} | {len(lines):,} | {report_seconds:.2f} "
            f"| {fit.model.model_name} | {ours_seconds:.2f} | {our_ll:.1f} | {our_mae:.3f} "
            f"| {our_total:+.1%} | {their} |"
        )
        print(rows[-1], flush=True)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
