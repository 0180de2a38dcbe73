"""Benchmark: clv_xl's purchase models against ``lifetimes`` and PyMC-Marketing on the
library of data shapes.

For each shape of :mod:`clv_xl.models.shapes` (and the CDNOW sample), the last third of the
span (whole weeks) is held out, as the report does. On the calibration histories (weeks)
it times clv_xl's fit of each family (BG/NBD, Pareto/NBD, each with its no-drop-out limits,
the one kept by AIC: :func:`clv_xl.models.purchase_choice.fit_purchases`) against
lifetimes' BetaGeoFitter and ParetoNBDFitter and PyMC-Marketing's BetaGeoModel and
ParetoNBDModel (MAP), scores every end point with one log-likelihood per family written
here (FHL 2005 eq. 6; note 009 eqs. 18-20 with the hypergeometric function; a limit is
scored at a point of the family next to it), and compares each model's holdout forecast
with what the customers bought: mean absolute error per customer and the error of the
total. It also times the report's whole model step (``prediction.predict``) per shape.

lifetimes 0.11.3 needs numpy < 2 and pandas < 2, so it runs in its own virtualenv in a
subprocess on the same data file (``make .venv-lifetimes/bin/python``, or ``make bench``);
PyMC-Marketing likewise in ``.venv-pymc`` (``python -m venv .venv-pymc &&
.venv-pymc/bin/pip install pymc-marketing``), at the test sizes only (its MAP fit compiles
a PyTensor graph per model: seconds to minutes per fit).

    .venv/bin/python -m bench.models [--rows 1000000]

Every library runs with one OpenBLAS thread: `bench/__init__.py` sets
``OPENBLAS_NUM_THREADS=1`` for every benchmark, and the peers' processes inherit it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.integrate import quad
from scipy.special import betaln, gammaln, hyp2f1

from bench.common import write_section
from clv_xl.analysis.prediction import predict
from clv_xl.models import BetaGeo, ParetoNBD, rfm_summary, shapes
from clv_xl.models.no_drop_out import NBD, Poisson
from clv_xl.models.purchase_choice import fit_purchases

ROOT = Path(__file__).parents[1]
LIFETIMES_PYTHON = ROOT / ".venv-lifetimes" / "bin" / "python"
PYMC_PYTHON = ROOT / ".venv-pymc" / "bin" / "python"
CDNOW = ROOT / "tests" / "data" / "cdnow" / "CDNOW_sample.txt"
FAMILIES = ("BG/NBD", "Pareto/NBD")
#: Points next to each limit: no drop-out (BG/NBD b huge; Pareto/NBD s tiny), one rate.
NEAR_ZERO_DROP_OUT = {"BG/NBD": {"a": 1.0, "b": 1e12}, "Pareto/NBD": {"s": 1e-10, "beta": 1.0}}
NEAR_ONE_RATE = 1e8
#: A peer's fit that takes longer than this is stopped and reported as such.
TIMEOUT = 120

LIFETIMES_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, pandas as pd
    from lifetimes import BetaGeoFitter, ParetoNBDFitter

    data = np.load(sys.argv[1])
    f, r, T = (pd.Series(data[k]) for k in ("frequency", "recency", "T"))
    fitter = BetaGeoFitter if sys.argv[3] == "BG/NBD" else ParetoNBDFitter
    start = time.perf_counter()
    try:
        model = fitter().fit(f, r, T)
    except Exception as error:
        print(json.dumps({"error": type(error).__name__}))
        sys.exit(0)
    seconds = time.perf_counter() - start
    arrays = [data[k] for k in ("duration", "frequency", "recency", "T")]
    forecast = model.conditional_expected_number_of_purchases_up_to_time(*arrays)
    np.save(sys.argv[2], np.asarray(forecast, dtype=float))
    print(json.dumps({"fit_seconds": seconds, "params": model.params_.to_dict()}))
    """
)
PYMC_SCRIPT = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.simplefilter("ignore")
    import numpy as np, pandas as pd
    from pymc_marketing.clv import BetaGeoModel, ParetoNBDModel

    data = np.load(sys.argv[1])
    frame = pd.DataFrame({"customer_id": np.arange(len(data["T"])),
                          **{k: data[k] for k in ("frequency", "recency", "T")}})
    kind = BetaGeoModel if sys.argv[3] == "BG/NBD" else ParetoNBDModel
    start = time.perf_counter()
    try:
        model = kind(data=frame)
        model.fit(method="map", progressbar=False)
    except Exception as error:
        print(json.dumps({"error": type(error).__name__}))
        sys.exit(0)
    seconds = time.perf_counter() - start
    names = ("r", "alpha", "a", "b") if sys.argv[3] == "BG/NBD" else ("r", "alpha", "s", "beta")
    params = {k: float(model.fit_result[k].mean()) for k in names}
    forecast = model.expected_purchases(
        data=frame.assign(future_t=data["duration"])).mean(("chain", "draw"))
    np.save(sys.argv[2], np.asarray(forecast, dtype=float))
    print(json.dumps({"fit_seconds": seconds, "params": params}))
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


def pareto_nbd_log_likelihood(
    params: dict[str, float], f: np.ndarray, r: np.ndarray, age: np.ndarray
) -> float:
    """sum of log note 009 eq. 18, A_0 by eqs. 19-20 (scipy's hyp2f1), written out here;
    where hyp2f1 overflows (s huge, near one drop-out rate for all), s A_0 / (r+s+x) as its
    integral, s (beta+tau)^-(s+1) (alpha+tau)^-(r+x) over (t_x, T], by scipy's quad."""
    rr, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    k = rr + s + f
    larger, smaller, second = (alpha, beta, s + 1) if alpha >= beta else (beta, alpha, rr + f)

    def part(q: np.ndarray) -> np.ndarray:
        return np.log(hyp2f1(k, second, k + 1, (larger - smaller) / q)) - k * np.log(q)

    with np.errstate(all="ignore"):
        at_last = part(larger + r)
        dropped = np.log(s) - np.log(k) + at_last + np.log1p(-np.exp(part(larger + age) - at_last))
        dropped = np.where(r < age, dropped, -np.inf)
        failed = np.isnan(dropped) | (dropped == np.inf)
        if failed.any():
            triples, where = np.unique(
                np.column_stack([f, r, age])[failed], axis=0, return_inverse=True
            )
            dropped[failed] = np.array(
                [_dropped_by_quad(rr, alpha, s, beta, *row) for row in triples]
            )[np.ravel(where)]
        alive = -(rr + f) * np.log(alpha + age) - s * np.log(beta + age)
        front = gammaln(rr + f) - gammaln(rr) + rr * np.log(alpha) + s * np.log(beta)
        return float(np.sum(front + np.logaddexp(alive, dropped)))


def _dropped_by_quad(
    r: float, alpha: float, s: float, beta: float, x: float, last: float, age: float
) -> float:
    """log of s (beta^s cancels in front) integral over (t_x, T] of (beta+tau)^-(s+1)
    (alpha+tau)^-(r+x) dtau, scaled by its value at t_x so that quad sees numbers near 1."""
    log_at = -(s + 1) * np.log(beta + last) - (r + x) * np.log(alpha + last)

    def integrand(tau: float) -> float:
        log_value = -(s + 1) * np.log(beta + tau) - (r + x) * np.log(alpha + tau)
        return float(np.exp(log_value - log_at))

    value, _ = quad(integrand, last, age, limit=200, epsrel=1e-10)
    return float(np.log(s) + log_at + np.log(value)) if value > 0 else -np.inf


LOG_LIKELIHOOD = {"BG/NBD": bg_nbd_log_likelihood, "Pareto/NBD": pareto_nbd_log_likelihood}


def as_family(model: object, family: str) -> dict[str, float]:
    """The family's parameters at (or next to) a fitted model."""
    if isinstance(model, BetaGeo | ParetoNBD):
        return dict(model.params)
    if isinstance(model, NBD):
        return {**model.params, **NEAR_ZERO_DROP_OUT[family]}
    assert isinstance(model, Poisson)
    rate = model.params["rate"]
    one_rate = {"r": NEAR_ONE_RATE * rate, "alpha": NEAR_ONE_RATE}
    return {**one_rate, **NEAR_ZERO_DROP_OUT[family]}


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


def theirs(history: pd.DataFrame, python: Path, script_text: str, family: str) -> dict:
    """A peer's fit of ``family`` in its own venv: fit seconds, parameters, forecast."""
    if not python.exists():
        return {"error": f"no {python.parent.parent.name}"}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        data_file, forecast_file, script = folder / "d.npz", folder / "f.npy", folder / "run.py"
        np.savez(
            data_file,
            frequency=history["frequency"].to_numpy(),
            recency=history["recency"].to_numpy(),
            T=history["T"].to_numpy(),
            duration=history["duration_holdout"].to_numpy(),
        )
        script.write_text(script_text)
        try:
            output = subprocess.run(
                [str(python), str(script), str(data_file), str(forecast_file), family],
                check=True, capture_output=True, text=True, timeout=TIMEOUT,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return {"error": f"over {TIMEOUT} s"}
        except subprocess.CalledProcessError as failed:
            return {"error": failed.stderr.strip().splitlines()[-1].split(":")[0]}
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
    arguments = parser.parse_args(argv if argv is not None else [])
    small = run(library(None), with_pymc=True)
    large = run(library(arguments.rows), with_pymc=False)
    body = f"""
The shape library (`clv_xl.models.shapes`; CDNOW is the 2,357-customer sample), at its test
sizes and at about {arguments.rows:,} order rows, calibrated on all but the last third of
each span in whole weeks. First the report's whole model step (`predict`: both families
and their limits fitted before the holdout, the check, the chosen family refitted to the
whole history, the spend model, every customer's forecast), then per family the purchase
fit alone (the family and its no-drop-out limits, kept by AIC) against lifetimes 0.11.3
(BetaGeoFitter, ParetoNBDFitter; own venv, subprocess, same data file) and, at the test
sizes, PyMC-Marketing's MAP fit (BetaGeoModel, ParetoNBDModel; own venv; its priors make
its maximum a posteriori differ a little from the likelihood's maximum; its time includes
building and compiling the model). Log-likelihoods: one formula per family written in the
benchmark (FHL 2005 eq. 6; note 009 eq. 18 with the hypergeometric function, independent of
clv_xl's quadrature), at each end point (a limit scored at a point of the family next to
it). Holdout: mean absolute error of each customer's holdout purchases (MAE), and the
error of the total. "speed-up" is lifetimes' fit time over clv_xl's. A peer's fit is
stopped after {TIMEOUT} s.

{small["step"]}

{small["BG/NBD"]}

{small["Pareto/NBD"]}

At about {arguments.rows:,} order rows:

{large["step"]}

{large["BG/NBD"]}

{large["Pareto/NBD"]}
"""
    print(write_section("models", "Buy-till-you-die models on the shape library", body))


STEP_HEADER = (
    "| shape | customers | order rows | model step s "
    "| chosen | model kept | holdout error BG/NBD | holdout error Pareto/NBD |\n"
    "|---|---:|---:|---:|---|---|---:|---:|"
)


def family_header(family: str, with_pymc: bool) -> str:
    peers = ["lifetimes"] + (["PyMC"] if with_pymc else [])
    columns = ["shape", "clv_xl model", "clv_xl fit s", "lifetimes fit s", "speed-up"]
    columns += ["PyMC MAP s"] * with_pymc
    for figure in ("LL", "MAE", "total"):
        columns += [f"{figure} {name}" for name in ["clv_xl", *peers]]
    head = f"{family}:\n\n| " + " | ".join(columns) + " |\n"
    return head + "|---|---|" + "---:|" * (len(columns) - 2)


def step_row(name: str, lines: pd.DataFrame, as_of: dt.date) -> str:
    """The report's model step."""
    start = time.perf_counter()
    prediction = predict(lines, as_of, margin=0.3, monthly_discount_rate=0.01)
    seconds = time.perf_counter() - start
    choice = prediction.model_choice.set_index("family")["holdout_error"]
    holdout = " | ".join(f"{choice.get(f, float('nan')):.1%}" for f in FAMILIES)
    return (
        f"| {name} | {len(prediction.customers):,} | {len(lines):,} | {seconds:.2f} "
        f"| {prediction.family} | {prediction.purchase_model} | {holdout} |"
    )


def family_row(name: str, history: pd.DataFrame, family: str, with_pymc: bool) -> str:
    f, r, age = (history[k].to_numpy() for k in ("frequency", "recency", "T"))
    actual = history["frequency_holdout"].to_numpy()
    score = LOG_LIKELIHOOD[family]
    start = time.perf_counter()
    (fit,) = fit_purchases([family], f, r, age).values()
    ours_seconds = time.perf_counter() - start
    forecast = fit.model.expected_purchases(history["duration_holdout"], f, r, age)
    figures = {
        "clv_xl": (score(as_family(fit.model, family), f, r, age), *errors(forecast, actual))
    }
    peers = {"lifetimes": theirs(history, LIFETIMES_PYTHON, LIFETIMES_SCRIPT, family)}
    if with_pymc:
        peers["PyMC"] = theirs(history, PYMC_PYTHON, PYMC_SCRIPT, family)
    for peer, result in peers.items():
        if "error" not in result:
            scored = score(result["params"], f, r, age)
            figures[peer] = (scored, *errors(result["forecast"], actual))
    lifetimes = peers["lifetimes"]
    if "error" in lifetimes:
        times = f"{ours_seconds:.2f} | fails ({lifetimes['error']}) | "
    else:
        speed_up = lifetimes["fit_seconds"] / ours_seconds
        times = f"{ours_seconds:.2f} | {lifetimes['fit_seconds']:.2f} | {speed_up:.1f}x"
    if with_pymc:
        pymc = peers["PyMC"]
        times += (
            f" | {pymc['fit_seconds']:.1f}"
            if "error" not in pymc
            else f" | fails ({pymc['error']})"
        )
    cells = []
    for k, form in enumerate(("{:.1f}", "{:.3f}", "{:+.1%}")):
        cells += [form.format(figures[p][k]) if p in figures else "" for p in ["clv_xl", *peers]]
    return f"| {name} | {fit.model.model_name} | {times} | " + " | ".join(cells) + " |"


def run(made: dict[str, tuple[pd.DataFrame, dt.date]], with_pymc: bool) -> dict[str, str]:
    """The model-step table and one table per family, one row per shape."""
    rows: dict[str, list[str]] = {"step": [STEP_HEADER], **{
        family: [family_header(family, with_pymc)] for family in FAMILIES}}  # fmt: skip
    for name, (lines, as_of) in made.items():
        rows["step"].append(step_row(name, lines, as_of))
        print(rows["step"][-1], flush=True)
        history = calibration(lines, as_of)
        for family in FAMILIES:
            rows[family].append(family_row(name, history, family, with_pymc))
            print(rows[family][-1], flush=True)
    return {key: "\n".join(lines) for key, lines in rows.items()}


if __name__ == "__main__":
    main(sys.argv[1:])
