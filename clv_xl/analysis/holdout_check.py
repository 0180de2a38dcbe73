"""The calibration/holdout check (Fader & Hardie's test) and the choice of the purchase
model's family by it.

The last ``holdout_fraction`` of the span from the first purchase to the analysis date, in
whole weeks, is held out; each family (each with its limits) is fitted on the purchases
before it (customers who first bought by the calibration end) and its forecasts of each
customer's repeat purchases in the holdout are compared with what they bought, by number
of repeat purchases in the calibration period. The family whose forecast missed less is
chosen; errors within TIE of each other are a tie, broken by the calibration fits' AIC
(:func:`_choose`). The tracking curve compares, week by week over the whole span, the
cumulative repeat purchases of every customer with the chosen calibration model's
expectation for a customer acquired on their first purchase day, sum over customers of
E[X(t - first purchase)] (FHL 2005, figure 1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from clv_xl.alongside import alongside
from clv_xl.analysis.model_fits import (
    PURCHASES,
    TIME_UNIT,
    WEEK_DAYS,
    CannotFitError,
    empty_frame,
    purchase_fits,
    require_data,
)
from clv_xl.models import PurchaseDays, summarise
from clv_xl.models._mle import FittedModel
from clv_xl.models.clv import PurchaseModel
from clv_xl.models.integer_keys import run_starts
from clv_xl.models.purchase_choice import PurchaseFit

CALIBRATION_PERIOD, HOLDOUT_PERIOD = "calibration", "holdout"
TOP_FREQUENCY_GROUP = 7  # calibration repeat purchases 0..6 and "7+"
ALL_GROUPS = "All"
#: Holdout errors closer than this (a share of the holdout's repeat purchases) are a tie,
#: broken by the likelihood of the calibration fits (AIC).
TIE = 0.01
TRACKING_COLUMNS = ("week", "week_end", "period", "actual", "predicted")
HOLDOUT_COLUMNS = (
    "frequency_group",
    "customers",
    "actual",
    "predicted",
    "actual_per_customer",
    "predicted_per_customer",
)
CHOICE_COLUMNS = (
    "family",
    "model",
    "parameters",
    "log_likelihood",
    "holdout_actual",
    "holdout_predicted",
    "holdout_error",
    "chosen",
)


@dataclass(frozen=True)
class Check:
    """The calibration/holdout comparison, or the sentence why there is none."""

    reason: str
    calibration_end: dt.date | None = None
    holdout_weeks: int = 0
    fits: dict[str, PurchaseFit] = field(default_factory=dict)
    family: str = PURCHASES
    customers: int = 0
    tracking: pd.DataFrame = field(default_factory=lambda: empty_frame(TRACKING_COLUMNS))
    holdout: pd.DataFrame = field(default_factory=lambda: empty_frame(HOLDOUT_COLUMNS))
    choice: pd.DataFrame = field(default_factory=lambda: empty_frame(CHOICE_COLUMNS))
    note: str = ""


def calibration_check(
    purchases: PurchaseDays,
    as_of: dt.date,
    holdout_fraction: float,
    min_customers: int,
    min_repeat_customers: int,
    families: tuple[str, ...],
) -> Check:
    """Fit each family before the holdout, compare their forecasts with the holdout and
    choose the family that was off by less. ``purchases``: the purchase days up to
    ``as_of`` (`clv_xl.models.purchase_days`)."""
    start = pd.Timestamp(purchases.day.min())
    span_days = (pd.Timestamp(as_of) - start).days
    holdout_weeks = int(span_days * holdout_fraction // WEEK_DAYS)
    if holdout_weeks < 1:
        return Check(
            reason=f"The purchases span only {span_days} days, too short to hold out whole weeks "
            "for checking the model.",
            family=families[0],
        )
    calibration_end = (pd.Timestamp(as_of) - pd.Timedelta(days=WEEK_DAYS * holdout_weeks)).date()
    history = summarise(purchases, TIME_UNIT, calibration_end)
    try:
        require_data(
            history,
            min_customers,
            min_repeat_customers,
            f"in the calibration period (up to {calibration_end:%Y-%m-%d})",
        )
        checked = _fitted_and_checked(families, history)
    except CannotFitError as problem:
        return Check(
            reason=str(problem),
            calibration_end=calibration_end,
            holdout_weeks=holdout_weeks,
            family=families[0],
        )
    fits = {family: fit for family, (fit, _) in checked.items()}
    tables = {family: table for family, (_, table) in checked.items()}
    errors = {family: _holdout_error(table) for family, table in tables.items()}
    family, note = _choose(fits, errors, holdout_weeks)
    total = {
        family: table.set_index("frequency_group").loc[ALL_GROUPS]
        for family, table in tables.items()
    }
    choice = pd.DataFrame(
        {
            "family": list(families),
            "model": [fits[name].model.model_name for name in families],
            "parameters": [parameter_text(fits[name].model) for name in families],
            "log_likelihood": [fits[name].model.log_likelihood for name in families],
            "holdout_actual": [total[name]["actual"] for name in families],
            "holdout_predicted": [total[name]["predicted"] for name in families],
            "holdout_error": [errors[name] for name in families],
            "chosen": [name == family for name in families],
        },
        columns=list(CHOICE_COLUMNS),
    )
    return Check(
        reason="",
        calibration_end=calibration_end,
        holdout_weeks=holdout_weeks,
        fits=fits,
        family=family,
        customers=len(history),
        tracking=_tracking_curve(purchases, fits[family].model, as_of, calibration_end),
        holdout=tables[family],
        choice=choice,
        note=note,
    )


def _fitted_and_checked(
    families: tuple[str, ...], history: pd.DataFrame
) -> dict[str, tuple[PurchaseFit, pd.DataFrame]]:
    """Each family fitted to the calibration ``history`` (`purchase_fits`) with its holdout
    table; the first family in a second thread (`alongside`: numpy's loops hold no GIL)
    while this one does the others. Each side reads the histories and fits the no-drop-out
    limits itself (a few hundredths of a second at a million orders)."""

    def checked(some: tuple[str, ...]) -> dict[str, tuple[PurchaseFit, pd.DataFrame]]:
        fits = purchase_fits(some, history)
        return {family: (fit, _holdout_table(history, fit.model)) for family, fit in fits.items()}

    with alongside(partial(checked, families[:1])) as first:
        others = checked(families[1:]) if len(families) > 1 else {}
        return {**first.result(), **others}


def parameter_text(model: FittedModel) -> str:
    """The parameters in a few words: "r 0.243, alpha 4.41, a 0.793, b 2.43"."""
    return ", ".join(f"{name} {model.params[name]:.3g}" for name in model.parameter_names)


def _aic(fit: PurchaseFit) -> float:
    """AIC = 2k - 2 log L of the model kept for a family."""
    return 2 * len(fit.model.parameter_names) - 2 * fit.model.log_likelihood


def _choose(
    fits: dict[str, PurchaseFit], errors: dict[str, float], holdout_weeks: int
) -> tuple[str, str]:
    """The family whose forecast missed the holdout by least, and the sentence why.

    Errors within TIE of the least are a tie, kept by the lower AIC of the calibration fits
    (then by the order of the families).
    """
    names = list(fits)
    least = min(errors.values())
    tied = [name for name in names if errors[name] <= least + TIE]
    family = min(tied, key=lambda name: (_aic(fits[name]), names.index(name)))
    miss = (
        f"its forecast of the last {holdout_weeks} weeks was off by {errors[family]:.1%} of "
        "the repeat purchases (summed over the groups by repeat purchases before)"
    )
    others = [name for name in names if name != family]
    kept = fits[family].model.model_name
    if not others:
        return family, f"{kept} was checked against the holdout: {miss}."
    if all(fits[name].model.model_name == kept for name in others):
        together = ", ".join([family, *others])
        return family, f"{together} all come to the {kept} model on these data; {miss}."
    against = ", ".join(f"{errors[name]:.1%} for {name}" for name in others)
    if len(tied) == 1:
        return family, f"{family} was chosen: {miss}, against {against}."
    return family, (
        f"{family} and {', '.join(others)} forecast the holdout about equally well (within "
        f"{TIE:.0%} of the repeat purchases: {errors[family]:.1%} against {against}); "
        f"{family} was kept for its better fit to the calibration period ({_aics(fits, family)})."
    )


def by_likelihood(fits: dict[str, PurchaseFit]) -> tuple[str, str]:
    """Without a holdout check: the family of the lowest AIC, and the sentence why."""
    names = list(fits)
    family = min(names, key=lambda name: (_aic(fits[name]), names.index(name)))
    others = [name for name in names if name != family]
    if not others:
        return family, ""
    return family, (
        f"Without a holdout check, {family} was kept for its better fit to the whole history "
        f"({_aics(fits, family)})."
    )


def _aics(fits: dict[str, PurchaseFit], family: str) -> str:
    """ "AIC 19,172.8 against 19,190.1 for Pareto/NBD; AIC = ..."."""
    others = ", ".join(
        f"{_aic(fit):,.1f} for {name}" for name, fit in fits.items() if name != family
    )
    return (
        f"AIC {_aic(fits[family]):,.1f} against {others}; AIC = 2 x parameters - "
        "2 x log-likelihood, lower is better"
    )


def _holdout_error(table: pd.DataFrame) -> float:
    """sum over the frequency groups of |actual - predicted| / the actual total (inf: none,
    or a forecast that is no number)."""
    groups = table[table["frequency_group"] != ALL_GROUPS]
    if not np.isfinite(groups["predicted"].to_numpy(dtype=float)).all():
        return np.inf  # (a sum would skip it, and call the forecast perfect)
    actual = float(groups["actual"].sum())
    miss = float((groups["actual"] - groups["predicted"]).abs().sum())
    return miss / actual if actual > 0 else (0.0 if miss == 0 else np.inf)


def _tracking_curve(
    purchases: PurchaseDays, model: PurchaseModel, as_of: dt.date, calibration_end: dt.date
) -> pd.DataFrame:
    """Cumulative repeat purchases per week, actual and expected (FHL 2005, figure 1).

    ``purchases``: the distinct purchase days, sorted by customer then day (a repeat is a
    day after its customer's first). Expected by day t (days since the first purchase day) =
    sum over customers of E[X((t - first_i) / 7)] for first_i <= t: the counts of new
    customers per day convolved with E[X] of a new customer.
    """
    day = purchases.day
    offsets = (day - day.min()).astype(np.int64)
    start = pd.Timestamp(day.min())
    span = (pd.Timestamp(as_of) - start).days
    first = np.flatnonzero(run_starts(purchases.customer))  # each customer's first purchase day
    new_customers = np.bincount(offsets[first], minlength=span + 1)
    repeats = np.bincount(offsets, minlength=span + 1) - new_customers
    ages = np.arange(span + 1) / WEEK_DAYS
    expected = np.convolve(new_customers, model.expected_purchases_new_customer(ages))[: span + 1]
    week_ends = np.arange(span, -1, -WEEK_DAYS)[::-1]
    end_dates = start + pd.to_timedelta(week_ends, unit="D")
    return pd.DataFrame(
        {
            "week": np.arange(1, len(week_ends) + 1),
            "week_end": end_dates,
            "period": np.where(
                end_dates <= pd.Timestamp(calibration_end), CALIBRATION_PERIOD, HOLDOUT_PERIOD
            ),
            "actual": np.cumsum(repeats)[week_ends],
            "predicted": expected[week_ends],
        }
    )


def _holdout_table(history: pd.DataFrame, model: PurchaseModel) -> pd.DataFrame:
    """Holdout repeat purchases, actual and forecast, by calibration repeat purchases.

    ``history``: rfm_summary with a calibration end (frequency_holdout, duration_holdout).
    Forecast = E[Y(holdout duration) | x, t_x, T] of the calibration model (FHL 2005, fig. 3).
    """
    predicted = model.expected_purchases(
        history["duration_holdout"], history["frequency"], history["recency"], history["T"]
    )
    groups = history["frequency"].clip(upper=TOP_FREQUENCY_GROUP).astype(int)
    labels = [str(k) for k in range(TOP_FREQUENCY_GROUP)] + [f"{TOP_FREQUENCY_GROUP}+"]
    frame = pd.DataFrame(
        {"group": groups, "actual": history["frequency_holdout"], "predicted": predicted}
    )
    table = (
        frame.groupby("group")
        .agg(customers=("actual", "size"), actual=("actual", "sum"), predicted=("predicted", "sum"))
        .reindex(range(TOP_FREQUENCY_GROUP + 1), fill_value=0)
    )
    table.loc[len(labels)] = table.sum()
    table.insert(0, "frequency_group", [*labels, ALL_GROUPS])
    customers = table["customers"].where(table["customers"] > 0)
    table["actual_per_customer"] = table["actual"] / customers
    table["predicted_per_customer"] = table["predicted"] / customers
    return table.reset_index(drop=True)
