"""Predicted CLV per customer from the buy-till-you-die models, and the check of the model.

The purchase model is BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy
Way") or Pareto/NBD (Schmittlein, Morrison & Colombo 1987), whichever forecast the holdout
better, or their no-drop-out limit (NBD, Poisson) when the data show no drop-out
(:mod:`clv_xl.models.purchase_choice`); the spend model Gamma-Gamma (Fader, Hardie & Lee
2005, "RFM and CLV"; Fader & Hardie 2013, note 025) or its limit, each customer's own mean
spend (:mod:`clv_xl.models.spend_choice`); all from :mod:`clv_xl.models`. Time is in
weeks (7 days); a month is 365.25/12 days. A purchase is a day with orders of amount 0 or
more (refunds are not purchases), as in :func:`clv_xl.models.rfm_summary`.

Per customer, with the models fitted on the whole history up to the analysis date:

* ``prob_alive`` = P(alive | x, t_x, T);
* ``expected_purchases_12m`` = E[Y(t) | x, t_x, T] for t = 12 months;
* ``expected_spend`` = E(Z | x, m_x), the expected value of one purchase (before refunds);
* ``predicted_clv_12m`` / ``_36m`` = margin x sum over months k of E[purchases in month k]
  x E(Z) / (1 + monthly discount rate)^k (:func:`clv_xl.models.predicted_clv`; both
  horizons and the expected purchases from one :func:`clv_xl.models.clv.forecast_purchases`).

The check (Fader & Hardie's calibration/holdout test): the last ``holdout_fraction`` of the
span from the first purchase to the analysis date, in whole weeks, is held out; BG/NBD and
Pareto/NBD (each with its limits) are fitted on the purchases before it (customers who
first bought by the calibration end) and their forecasts of each customer's repeat
purchases in the holdout are compared with what they bought, by number of repeat purchases
in the calibration period. The family whose forecast is off by less, summed over those
groups, is fitted to the whole history (``model_choice``); BG/NBD without a check. The tracking
curve compares, week by week over the whole span, the cumulative repeat purchases of every
customer with the calibration model's expectation for a customer acquired on their first
purchase day, sum over customers of E[X(t - first purchase)] (FHL 2005, figure 1).

:func:`intervals_by_groupings` gives an 80% interval of a group's mean predicted CLV from the
parameters' covariance; :func:`forecast_verdict` says whether a group's forecast can be
trusted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clv_xl.errors import InputError
from clv_xl.models import GammaGamma, NotFittedError, check_orders, days_per, rfm_summary
from clv_xl.models._mle import FittedModel
from clv_xl.models.clv import PurchaseForecast, PurchaseModel, forecast_purchases
from clv_xl.models.purchase_choice import PurchaseFit, fit_purchases
from clv_xl.models.spend_choice import OwnMeanSpend, SpendFit, fit_spend

TIME_UNIT = "weeks"
WEEK_DAYS = int(days_per(TIME_UNIT))
HORIZON_MONTHS = (12, 36)
PURCHASES = "BG/NBD"
PARETO = "Pareto/NBD"
#: The families predict can compare; by default only BG/NBD, since the Pareto/NBD likelihood
#: (hypergeometric, numerical gradient) costs seconds per thousand customers.
FAMILIES = (PURCHASES, PARETO)
CALIBRATION_SUFFIX = " (calibration period)"
CALIBRATION_PERIOD, HOLDOUT_PERIOD = "calibration", "holdout"
TOP_FREQUENCY_GROUP = 7  # calibration repeat purchases 0..6 and "7+"
ALL_GROUPS = "All"

CUSTOMER_COLUMNS = (
    "prob_alive",
    "expected_purchases_12m",
    "expected_spend",
    "predicted_clv_12m",
    "predicted_clv_36m",
)
PARAMETER_COLUMNS = ("model", "parameter", "estimate", "std_error", "unit")
FIT_COLUMNS = (
    "model",
    "customers",
    "log_likelihood",
    "converged",
    "at_boundary",
    "iterations",
    "warnings",
)
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
    "holdout_actual",
    "holdout_predicted",
    "holdout_error",
    "chosen",
)
#: The unit of each parameter: alpha, beta are times, gamma and mean_spend money, rate 1/time.
PARAMETER_UNITS = {
    "alpha": TIME_UNIT,
    "beta": TIME_UNIT,
    "gamma": "currency",
    "mean_spend": "currency",
    "rate": f"per {TIME_UNIT[:-1]}",
}
BUDGET_NOTE = (
    "The fit used up its budget of likelihood evaluations before the maximum was pinned "
    "down; its estimates are the best found."
)


@dataclass(frozen=True)
class ForecastInputs:
    """What the forecasts were made from, for intervals and verdicts: the fitted models,
    each customer's history (frequency, recency, T in weeks, monetary_value: m_x, with the
    mean spend for repeat customers whose repeat purchases were all free), the margins and
    the monthly discount rate."""

    purchases: PurchaseModel  # a fitted BetaGeo, ParetoNBD, NBD or Poisson
    spend: GammaGamma | OwnMeanSpend
    history: pd.DataFrame
    margins: np.ndarray
    monthly_discount_rate: float

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ForecastInputs)
            and (self.purchases, self.spend, self.monthly_discount_rate)
            == (other.purchases, other.spend, other.monthly_discount_rate)
            and self.history.equals(other.history)
            and np.array_equal(self.margins, other.margins)
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Prediction:
    """The models' per-customer forecasts and how well the model did; documented columns.

    ``customers`` (index ``customer``): CUSTOMER_COLUMNS (see the module docstring).
    ``parameters``: one row per model parameter: model, parameter, estimate, std_error,
    unit ("weeks" for alpha and beta, "currency" for gamma and mean_spend, "per week" for
    the Poisson rate, "" for the shapes).
    ``fit_summary``: one row per fitted model: customers used, log-likelihood, converged,
    at_boundary, iterations, warnings (sentences, "" when none).
    ``tracking``: one row per week (weeks end on the analysis date, counted back; the first
    may be partial): week (1, 2, ...), week_end, period ("calibration"/"holdout"), actual
    and predicted cumulative repeat purchases of all customers, by the chosen family's
    calibration model.
    ``holdout``: per calibration repeat-purchase group "0".."6", "7+", then "All":
    customers, actual and predicted repeat purchases in the holdout, and both per customer.
    ``model_choice``: one row per purchase-model family (BG/NBD, Pareto/NBD): the model
    kept for it in the calibration period (the family's own or a no-drop-out limit),
    holdout_actual and holdout_predicted repeat purchases, holdout_error (sum over the
    frequency groups of |actual - predicted|, over the actual total) and chosen.
    ``purchase_model`` / ``spend_model`` name the models behind the forecasts, ``notes``
    holds sentences for people about them (a limit used, why a family was chosen).
    When ``fitted`` is False, ``reason`` says why and every frame is empty; when
    ``validation_reason`` is not "", the check could not be made and ``tracking``,
    ``holdout`` and ``model_choice`` are empty. ``excluded_rows`` counts the order lines
    the models do not use, by reason (refunds are not purchases).
    """

    fitted: bool
    reason: str
    as_of: dt.date
    customers: pd.DataFrame
    parameters: pd.DataFrame
    fit_summary: pd.DataFrame
    tracking: pd.DataFrame
    holdout: pd.DataFrame
    validation_reason: str
    calibration_end: dt.date | None = None
    holdout_weeks: int = 0
    time_unit: str = TIME_UNIT
    excluded_rows: dict[str, int] = field(default_factory=dict)
    model_choice: pd.DataFrame = field(default_factory=lambda: _empty(CHOICE_COLUMNS))
    purchase_model: str = ""
    spend_model: str = ""
    notes: tuple[str, ...] = ()
    forecast_inputs: ForecastInputs | None = None


@dataclass(frozen=True)
class _Check:
    """The calibration/holdout comparison, or the sentence why there is none."""

    reason: str
    calibration_end: dt.date | None = None
    holdout_weeks: int = 0
    fits: dict[str, PurchaseFit] = field(default_factory=dict)
    family: str = PURCHASES
    customers: int = 0
    tracking: pd.DataFrame = field(default_factory=lambda: _empty(TRACKING_COLUMNS))
    holdout: pd.DataFrame = field(default_factory=lambda: _empty(HOLDOUT_COLUMNS))
    choice: pd.DataFrame = field(default_factory=lambda: _empty(CHOICE_COLUMNS))
    note: str = ""


class _CannotFitError(Exception):
    """Data valid but too thin (or too odd) for a model; the message is for people."""


def predict(
    lines: pd.DataFrame,
    as_of: dt.date,
    *,
    margin: float | pd.Series,
    monthly_discount_rate: float,
    min_customers: int = 50,
    min_repeat_customers: int = 10,
    holdout_fraction: float = 1 / 3,
    families: tuple[str, ...] = (PURCHASES,),
) -> Prediction:
    """Fit the models to ``lines`` (customer, date, amount) up to ``as_of`` and forecast.

    ``families``: the purchase-model families (of FAMILIES) fitted in the calibration
    period, each with its no-drop-out limits; the one whose holdout forecast is off by
    less is fitted to the whole history (the first when there is no check).

    ``margin`` is a gross-margin fraction, for all customers or per customer (a Series
    indexed by customer). ``monthly_discount_rate`` discounts each month's value at its
    end. Data too thin to fit gives ``fitted=False`` with the reason, never an exception.
    """
    if not 0 < holdout_fraction < 1:
        raise InputError(
            "The holdout fraction must be between 0 and 1 (a third = 0.33); "
            f"got {holdout_fraction}."
        )
    if not families or any(family not in FAMILIES for family in families):
        raise InputError(
            f"The purchase-model families must be some of {', '.join(FAMILIES)}; got {families}."
        )
    # Integer customer codes (in sorted order of the names) make the grouping several times
    # faster than strings; the names come back on the results. A missing customer stays
    # missing, for rfm_summary to name its row (the codes stay integers without one).
    codes, names = pd.factorize(lines["customer"], sort=True)
    customer = pd.Series(codes, index=lines.index)
    coded = pd.DataFrame(
        {
            "customer": customer.where(codes >= 0) if (codes < 0).any() else customer,
            "date": lines["date"],
            "amount": lines["amount"],
        }
    )
    check_orders(coded)
    history = rfm_summary(coded, TIME_UNIT, as_of)
    history.index = pd.Index(names[history.index.astype(np.int64)], name="customer")
    excluded = dict(history.attrs["excluded_rows"])
    priced = (history["frequency"] > 0) & (history["monetary_value"] > 0)
    try:
        _require_data(history, min_customers, min_repeat_customers, f"up to {as_of:%Y-%m-%d}")
        check = _calibration_check(
            coded, as_of, holdout_fraction, min_customers, min_repeat_customers, families
        )
        purchases = _fitted_purchases(check.family, history)
        spend = _fitted_spend(history["frequency"].where(priced, 0.0), history["monetary_value"])
    except _CannotFitError as problem:
        return _not_fitted(str(problem), as_of, excluded)
    unpriced = (history["frequency"] > 0) & ~priced
    monetary = history["monetary_value"].where(~unpriced, spend.model.mean_spend())
    inputs = ForecastInputs(
        purchases=purchases.model,
        spend=spend.model,
        history=history[["frequency", "recency", "T"]].assign(monetary_value=monetary),
        margins=_margins(margin, history.index),
        monthly_discount_rate=monthly_discount_rate,
    )
    customers = _customer_forecasts(inputs)
    fits = [
        _Fit(purchases.model.model_name, purchases.model, len(history), purchases.note),
        _Fit(
            spend.model.model_name,
            spend.model,
            int(priced.sum()),
            " ".join(filter(None, [spend.note, _unpriced_note(int(unpriced.sum()))])),
        ),
    ]
    fits += [
        _Fit(_calibration_label(fit), fit.model, check.customers, fit.note)
        for fit in check.fits.values()
    ]
    return Prediction(
        fitted=True,
        reason="",
        as_of=as_of,
        customers=customers,
        parameters=_parameter_table(fits),
        fit_summary=_fit_table(fits),
        tracking=check.tracking,
        holdout=check.holdout,
        validation_reason=check.reason,
        calibration_end=check.calibration_end,
        holdout_weeks=check.holdout_weeks,
        excluded_rows=excluded,
        model_choice=check.choice,
        purchase_model=purchases.model.model_name,
        spend_model=spend.model.model_name,
        notes=tuple(filter(None, [check.note, purchases.note, spend.note])),
        forecast_inputs=inputs,
    )


# ----------------------------------------------------------------------------------------------
# Fitting


def _require_data(
    history: pd.DataFrame, min_customers: int, min_repeat_customers: int, period: str
) -> None:
    """Enough customers and repeat customers for a purchase model.

    ``period`` completes "... bought <period>", e.g. "up to 2024-12-31".
    """
    customers = len(history)
    repeaters = int((history["frequency"] > 0).sum())
    if customers < min_customers:
        raise _CannotFitError(
            f"The purchase model needs at least {min_customers} customers; "
            f"{customers} bought {period}."
        )
    if repeaters < min_repeat_customers:
        raise _CannotFitError(
            f"The purchase model needs at least {min_repeat_customers} repeat customers; "
            f"{repeaters} bought again {period}."
        )


def _fitted_purchases(family: str, history: pd.DataFrame) -> PurchaseFit:
    """The family's model or its limit fitted to ``history`` (frequency, recency, T)."""
    return _purchase_fits((family,), history)[family]


def _purchase_fits(families: tuple[str, ...], history: pd.DataFrame) -> dict[str, PurchaseFit]:
    """Each family with its limits (:func:`fit_purchases`), a budget note where one ran out."""
    try:
        fits = fit_purchases(families, history["frequency"], history["recency"], history["T"])
    except NotFittedError as error:
        raise _CannotFitError(str(error)) from None
    return {family: _with_budget_note(fit) for family, fit in fits.items()}


def _with_budget_note(fit: PurchaseFit) -> PurchaseFit:
    convergence = fit.model.convergence
    if convergence is None or convergence.converged:
        return fit
    note = " ".join(filter(None, [fit.note, BUDGET_NOTE]))
    return PurchaseFit(model=fit.model, family=fit.family, note=note, candidates=fit.candidates)


def _fitted_spend(frequency: pd.Series, monetary_value: pd.Series) -> SpendFit:
    """Gamma-Gamma or its limit (:func:`fit_spend`)."""
    try:
        return fit_spend(frequency, monetary_value)
    except NotFittedError as error:
        raise _CannotFitError(str(error)) from None


def _calibration_label(fit: PurchaseFit) -> str:
    """ "BG/NBD (calibration period)", or for a limit "NBD (...) (calibration period, limit
    of BG/NBD)"."""
    if not fit.at_limit:
        return fit.family + CALIBRATION_SUFFIX
    return f"{fit.model.model_name}{CALIBRATION_SUFFIX[:-1]}, limit of {fit.family})"


def _unpriced_note(customers: int) -> str:
    if not customers:
        return ""
    return (
        f"{customers} customers bought again only for an amount of 0; the spend model leaves "
        "them out and expects the average spend per purchase from them."
    )


def _customer_forecasts(inputs: ForecastInputs) -> pd.DataFrame:
    """The per-customer forecasts of the module docstring.

    ``inputs.history["monetary_value"]`` is m_x, with the population mean E(Z) for repeat
    customers whose repeat purchases were all free: E(Z | x, E(Z)) = E(Z), so they get the
    average spend.
    """
    purchase_forecast, spend_per_purchase, revenues = _revenues(
        inputs.purchases, inputs.spend, inputs.history, inputs.monthly_discount_rate
    )
    forecasts = pd.DataFrame(index=inputs.history.index)
    forecasts["prob_alive"] = purchase_forecast.probability_alive
    forecasts["expected_purchases_12m"] = purchase_forecast.expected_purchases(HORIZON_MONTHS[0])
    forecasts["expected_spend"] = spend_per_purchase
    for months, revenue in zip(HORIZON_MONTHS, revenues, strict=True):
        forecasts[f"predicted_clv_{months}m"] = inputs.margins * revenue
    if not np.isfinite(forecasts.to_numpy()).all():
        raise _CannotFitError(
            f"The {inputs.purchases.model_name} model gives no finite forecast for some "
            "customers; their histories are too far from what it describes."
        )
    return forecasts


def _revenues(
    purchases: PurchaseModel,
    spend: GammaGamma | OwnMeanSpend,
    history: pd.DataFrame,
    monthly_discount_rate: float,
) -> tuple[PurchaseForecast, np.ndarray, np.ndarray]:
    """The purchase forecast, E(Z) per customer and the discounted expected revenue over
    each of HORIZON_MONTHS (rows) per customer (columns), before the margin."""
    purchase_forecast = forecast_purchases(
        purchases,
        history["frequency"],
        history["recency"],
        history["T"],
        periods=max(HORIZON_MONTHS),
        time_unit=TIME_UNIT,
        period_unit="months",
    )
    spend_per_purchase = spend.expected_spend(history["frequency"], history["monetary_value"])
    discounted = purchase_forecast.discounted(HORIZON_MONTHS, monthly_discount_rate)
    return purchase_forecast, spend_per_purchase, discounted * spend_per_purchase


def _margins(margin: float | pd.Series, customers: pd.Index) -> np.ndarray:
    """One margin fraction per customer."""
    if not isinstance(margin, pd.Series):
        return np.full(len(customers), float(margin))
    aligned = margin.reindex(customers).astype(float)
    missing = aligned.isna()
    if missing.any():
        raise InputError(
            f"The margin of customer {missing.idxmax()!r} is missing; give one for every customer."
        )
    return aligned.to_numpy()


# ----------------------------------------------------------------------------------------------
# The calibration/holdout check


def _calibration_check(
    lines: pd.DataFrame,
    as_of: dt.date,
    holdout_fraction: float,
    min_customers: int,
    min_repeat_customers: int,
    families: tuple[str, ...],
) -> _Check:
    """Fit each family before the holdout, compare their forecasts with the holdout and
    choose the family that was off by less."""
    lines = _by_customer_and_day(lines)
    days = _purchase_days(lines, as_of)
    start = days["day"].min()
    span_days = (pd.Timestamp(as_of) - start).days
    holdout_weeks = int(span_days * holdout_fraction // WEEK_DAYS)
    if holdout_weeks < 1:
        return _Check(
            reason=f"The purchases span only {span_days} days, too short to hold out whole weeks "
            "for checking the model.",
            family=families[0],
        )
    calibration_end = (pd.Timestamp(as_of) - pd.Timedelta(days=WEEK_DAYS * holdout_weeks)).date()
    history = rfm_summary(lines, TIME_UNIT, as_of, calibration_end)
    try:
        _require_data(
            history,
            min_customers,
            min_repeat_customers,
            f"in the calibration period (up to {calibration_end:%Y-%m-%d})",
        )
        fits = _purchase_fits(families, history)
    except _CannotFitError as problem:
        return _Check(
            reason=str(problem),
            calibration_end=calibration_end,
            holdout_weeks=holdout_weeks,
            family=families[0],
        )
    tables = {family: _holdout_table(history, fit.model) for family, fit in fits.items()}
    errors = {family: _holdout_error(table) for family, table in tables.items()}
    family = min(families, key=lambda name: (errors[name], families.index(name)))
    total = {
        family: table.set_index("frequency_group").loc[ALL_GROUPS]
        for family, table in tables.items()
    }
    choice = pd.DataFrame(
        {
            "family": list(families),
            "model": [fits[name].model.model_name for name in families],
            "holdout_actual": [total[name]["actual"] for name in families],
            "holdout_predicted": [total[name]["predicted"] for name in families],
            "holdout_error": [errors[name] for name in families],
            "chosen": [name == family for name in families],
        },
        columns=list(CHOICE_COLUMNS),
    )
    note = _choice_note(family, fits, errors, holdout_weeks)
    return _Check(
        reason="",
        calibration_end=calibration_end,
        holdout_weeks=holdout_weeks,
        fits=fits,
        family=family,
        customers=len(history),
        tracking=_tracking_curve(days, fits[family].model, as_of, calibration_end),
        holdout=tables[family],
        choice=choice,
        note=note,
    )


def _choice_note(
    family: str, fits: dict[str, PurchaseFit], errors: dict[str, float], holdout_weeks: int
) -> str:
    """Which family forecast the holdout best, by how much, and against what."""
    miss = (
        f"its forecast of the last {holdout_weeks} weeks was off by {errors[family]:.1%} of "
        "the repeat purchases (summed over the groups by repeat purchases before)"
    )
    others = [name for name in fits if name != family]
    kept = fits[family].model.model_name
    if not others:
        return f"{kept} was checked against the holdout: {miss}."
    if all(fits[name].model.model_name == kept for name in others):
        return f"{', '.join([family, *others])} all come to the {kept} model on these data; {miss}."
    against = ", ".join(f"{errors[name]:.1%} for {name}" for name in others)
    return f"{family} was chosen: {miss}, against {against}."


def _holdout_error(table: pd.DataFrame) -> float:
    """sum over the frequency groups of |actual - predicted| / the actual total (inf: none)."""
    groups = table[table["frequency_group"] != ALL_GROUPS]
    actual = float(groups["actual"].sum())
    miss = float((groups["actual"] - groups["predicted"]).abs().sum())
    return miss / actual if actual > 0 else (0.0 if miss == 0 else np.inf)


def _by_customer_and_day(lines: pd.DataFrame) -> pd.DataFrame:
    """``lines`` (integer customer codes) sorted by customer and day: the group-bys of
    rfm_summary run about twice as fast in this order.

    One integer key, customer x days spanned + day, sorts several times faster than
    ``np.lexsort`` on the two columns.
    """
    day_number = _days(lines).to_numpy().astype("datetime64[D]").astype(np.int64)
    first_day, last_day = day_number.min(), day_number.max()
    key = lines["customer"].to_numpy().astype(np.int64) * (last_day - first_day + 1) + (
        day_number - first_day
    )
    return lines.take(np.argsort(key))


def _days(lines: pd.DataFrame) -> pd.Series:
    """The day of each line: its date at midnight, as rfm_summary counts purchase days."""
    return lines["date"].dt.tz_localize(None).dt.normalize()


def _purchase_days(lines: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Distinct (customer, day) with a purchase up to ``as_of``, sorted, and ``repeat``:
    whether the day is after the customer's first purchase day.

    ``lines``: sorted by customer and day (:func:`_by_customer_and_day`), so a purchase day
    is new where the customer or the day changes from the purchase before.
    """
    day = _days(lines)
    bought = ((lines["amount"] >= 0) & (day <= pd.Timestamp(as_of))).to_numpy()
    customer, day = lines["customer"].to_numpy()[bought], day.to_numpy()[bought]
    repeat = np.concatenate([[False], customer[1:] == customer[:-1]])
    new_day = ~repeat | np.concatenate([[True], day[1:] != day[:-1]])
    return pd.DataFrame(
        {"customer": customer[new_day], "day": day[new_day], "repeat": repeat[new_day]}
    )


def _tracking_curve(
    days: pd.DataFrame, model: PurchaseModel, as_of: dt.date, calibration_end: dt.date
) -> pd.DataFrame:
    """Cumulative repeat purchases per week, actual and expected (FHL 2005, figure 1).

    ``days``: distinct purchase days (customer, day, repeat). Expected by day t (days since
    the first purchase day) = sum over customers of E[X((t - first_i) / 7)] for first_i <= t:
    the counts of new customers per day convolved with E[X] of a new customer.
    """
    start = days["day"].min()
    offsets = (days["day"] - start).dt.days.to_numpy()
    span = (pd.Timestamp(as_of) - start).days
    new_customers = np.bincount(offsets[~days["repeat"].to_numpy()], minlength=span + 1)
    repeats = np.bincount(offsets[days["repeat"].to_numpy()], minlength=span + 1)
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


# ----------------------------------------------------------------------------------------------
# Uncertainty and trust, per group of customers

INTERVAL_COLUMNS = ("customers", "low", "mid", "high")
#: Parameter draws behind an interval, and customers per group they are pushed through.
DRAWS = 100
SAMPLE_PER_GROUP = 60


def intervals_by_groupings(
    prediction: Prediction,
    groupings: pd.DataFrame,
    level: float = 0.8,
    *,
    draws: int = DRAWS,
    sample_per_group: int = SAMPLE_PER_GROUP,
    seed: int = 0,
) -> dict[Any, pd.DataFrame]:
    """For each column of ``groupings`` (indexed by customer; a column is, for example, each
    customer's channel), one table indexed by its values: the group's mean predicted CLV over
    36 months per customer, with a ``level`` interval from the uncertainty of the models'
    parameters. Every parameter set is pushed once through the forecast of the customers
    sampled for any of the groups, so many groupings cost about one.

    Columns: ``customers`` (in the group), ``mid`` (the mean of ``predicted_clv_36m``),
    ``low`` and ``high`` (mid plus the (1 - level)/2 and (1 + level)/2 quantiles of the
    change of the group's mean CLV over ``draws`` parameter sets). The parameter sets are
    drawn from the normal approximation of each model's log-parameters (their estimates
    and the inverse Hessian): ``rng = np.random.default_rng(seed)``, first ``draws`` sets
    of the purchase model's, then of the spend model's (rng.multivariate_normal); each is
    pushed through the forecast of up to ``sample_per_group`` customers of each group (all
    when fewer; a seeded random choice otherwise, from the same rng afterwards). Customers
    without a group value are left out. low and high are NaN where a model's likelihood is
    flat (no covariance). Empty, with these columns, when the prediction was not fitted.
    """
    inputs = prediction.forecast_inputs
    if not 0 < level < 1:
        raise InputError(f"The interval level must be between 0 and 1 (80% = 0.8); got {level}.")
    if not prediction.fitted or inputs is None:
        return {column: _empty(INTERVAL_COLUMNS) for column in groupings.columns}
    clv = prediction.customers["predicted_clv_36m"].to_numpy()
    coded, tables = {}, {}
    for column in groupings.columns:
        codes, labels = pd.factorize(groupings[column].reindex(inputs.history.index), sort=True)
        grouped = codes >= 0
        counts = np.bincount(codes[grouped], minlength=len(labels))
        mid = np.bincount(codes[grouped], weights=clv[grouped], minlength=len(labels)) / counts
        coded[column] = codes
        tables[column] = pd.DataFrame(
            {"customers": counts, "low": np.nan, "mid": mid, "high": np.nan},
            index=pd.Index(labels, name=column),
        )
    rng = np.random.default_rng(seed)
    models = [_parameter_draws(model, draws, rng) for model in (inputs.purchases, inputs.spend)]
    if any(model is None for model in models):
        return tables
    sample = np.unique(
        np.concatenate([_sample_per_group(c, sample_per_group, rng) for c in coded.values()])
    )
    history, margins = inputs.history.iloc[sample], inputs.margins[sample]

    def group_means(purchases: PurchaseModel, spend: GammaGamma | OwnMeanSpend) -> list:
        _, _, revenues = _revenues(purchases, spend, history, inputs.monthly_discount_rate)
        clv_36 = margins * revenues[HORIZON_MONTHS.index(36)]
        means = []
        for codes in coded.values():
            at = codes[sample]
            kept = at >= 0
            size = int(codes.max(initial=-1)) + 1
            totals = np.bincount(at[kept], weights=clv_36[kept], minlength=size)
            means.append(totals / np.maximum(np.bincount(at[kept], minlength=size), 1))
        return means

    def drawn_means(purchases: PurchaseModel, spend: GammaGamma | OwnMeanSpend) -> list:
        """A draw's group means; infinite where its spend has no finite mean (q <= 1)."""
        try:
            return group_means(purchases, spend)
        except NotFittedError:
            return [np.full(len(t), np.inf) for t in tables.values()]

    point = group_means(inputs.purchases, inputs.spend)
    shifted = [drawn_means(purchases, spend) for purchases, spend in zip(*models, strict=True)]
    for k, column in enumerate(groupings.columns):
        shifts = np.array([draw[k] - point[k] for draw in shifted])
        mid = tables[column]["mid"]
        for bound, share in (("low", (1 - level) / 2), ("high", (1 + level) / 2)):
            with np.errstate(invalid="ignore"):
                value = mid + np.quantile(shifts, share, axis=0)
            tables[column][bound] = np.where(np.isfinite(value), value, np.nan)  # unbounded
    return tables


def _parameter_draws(model: Any, draws: int, rng: np.random.Generator) -> list[Any] | None:
    """``draws`` models with log-parameters from N(log estimates, covariance); None when
    the covariance is not known."""
    covariance = model.log_covariance
    if covariance is None or not np.all(np.isfinite(covariance)):
        return None
    names = model.parameter_names
    centre = np.log([model.params[name] for name in names])
    drawn = np.exp(rng.multivariate_normal(centre, covariance, size=draws))
    return [type(model).from_params(**dict(zip(names, row, strict=True))) for row in drawn]


def _sample_per_group(codes: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of up to ``size`` customers of each group (codes >= 0), in order."""
    order = rng.permutation(len(codes))
    shuffled = codes[order]
    keep = shuffled >= 0
    rank = pd.Series(shuffled[keep]).groupby(shuffled[keep]).cumcount().to_numpy()
    return np.sort(order[keep][rank < size])


#: A segment's forecast is trusted with at least these (after Klaviyo's rule for predictive
#: analytics: 500+ customers with orders, 180+ days of order history, recent orders).
TRUST_CUSTOMERS = 500
TRUST_REPEAT_CUSTOMERS = 50
TRUST_HISTORY_DAYS = 180
TRUST_RECENT_DAYS = 30


@dataclass(frozen=True)
class Verdict:
    """Whether a group's forecast can be trusted, and the sentence why."""

    trustworthy: bool
    reason: str


def forecast_verdict(prediction: Prediction, customers: pd.Index) -> Verdict:
    """The verdict on the forecast of the ``customers`` (names, as in prediction.customers).

    Trustworthy when the group has at least TRUST_CUSTOMERS customers, TRUST_REPEAT_CUSTOMERS
    of them repeat buyers, TRUST_HISTORY_DAYS days from its first purchase to the analysis
    date and an order in the last TRUST_RECENT_DAYS days; the reason names each figure, and
    what is missing when one falls short.
    """
    inputs = prediction.forecast_inputs
    if not prediction.fitted or inputs is None:
        return Verdict(False, f"No forecast: {prediction.reason}")
    history = inputs.history.reindex(customers).dropna()
    if history.empty:
        return Verdict(False, "No forecast: none of these customers bought.")
    count = len(history)
    repeaters = int((history["frequency"] > 0).sum())
    history_days = round(float(history["T"].max()) * WEEK_DAYS)
    quiet_days = round(float((history["T"] - history["recency"]).min()) * WEEK_DAYS)
    checks = [
        (count >= TRUST_CUSTOMERS, f"{count:,} customers ({TRUST_CUSTOMERS} needed)"),
        (
            repeaters >= TRUST_REPEAT_CUSTOMERS,
            f"{repeaters:,} repeat buyers ({TRUST_REPEAT_CUSTOMERS} needed)",
        ),
        (
            history_days >= TRUST_HISTORY_DAYS,
            f"{history_days:,} days of history ({TRUST_HISTORY_DAYS} needed)",
        ),
        (
            quiet_days <= TRUST_RECENT_DAYS,
            f"the last order {quiet_days:,} days before the analysis date "
            f"(within {TRUST_RECENT_DAYS} needed)",
        ),
    ]
    short = [text for ok, text in checks if not ok]
    if short:
        return Verdict(False, "Not trustworthy: " + ", ".join(short) + ".")
    return Verdict(True, "Trustworthy: " + ", ".join(text for _, text in checks) + ".")


# ----------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class _Fit:
    """A fitted model as the tables show it: its label, customers used and extra notes."""

    label: str
    model: FittedModel
    customers: int
    note: str = ""


def _parameter_table(fits: list[_Fit]) -> pd.DataFrame:
    rows = [
        {
            "model": fit.label,
            "parameter": name,
            "estimate": fit.model.params[name],
            "std_error": fit.model.standard_errors[name],
            "unit": PARAMETER_UNITS.get(name, ""),
        }
        for fit in fits
        for name in fit.model.parameter_names
    ]
    return pd.DataFrame(rows, columns=list(PARAMETER_COLUMNS))


def _fit_table(fits: list[_Fit]) -> pd.DataFrame:
    rows = []
    for fit in fits:
        convergence = fit.model.convergence
        assert convergence is not None
        rows.append(
            {
                "model": fit.label,
                "customers": fit.customers,
                "log_likelihood": fit.model.log_likelihood,
                "converged": convergence.converged,
                "at_boundary": convergence.at_boundary,
                "iterations": convergence.iterations,
                "warnings": " ".join(filter(None, [*convergence.warnings, fit.note])),
            }
        )
    return pd.DataFrame(rows, columns=list(FIT_COLUMNS))


def _empty(columns: tuple[str, ...], index_name: str | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=float) for name in columns})
    frame.index.name = index_name
    return frame


def _not_fitted(reason: str, as_of: dt.date, excluded: dict[str, int]) -> Prediction:
    return Prediction(
        fitted=False,
        reason=reason,
        as_of=as_of,
        customers=_empty(CUSTOMER_COLUMNS, "customer"),
        parameters=_empty(PARAMETER_COLUMNS),
        fit_summary=_empty(FIT_COLUMNS),
        tracking=_empty(TRACKING_COLUMNS),
        holdout=_empty(HOLDOUT_COLUMNS),
        validation_reason=reason,
        excluded_rows=excluded,
    )
