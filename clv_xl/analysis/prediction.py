"""Predicted CLV per customer from the buy-till-you-die models, and the check of the model.

The purchase model is BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy
Way") or Pareto/NBD (Schmittlein, Morrison & Colombo 1987), whichever forecast the holdout
better, or their no-drop-out limit (NBD, Poisson) when the data show no drop-out
(:mod:`clv_xl.models.purchase_choice`); the spend model Gamma-Gamma (Fader, Hardie & Lee
2005, "RFM and CLV"; Fader & Hardie 2013, note 025) or one of its limits, each customer's own
mean spend or the mean of all (:mod:`clv_xl.models.spend_choice`); all from
:mod:`clv_xl.models`. Time is in weeks (7 days); a month is 365.25/12 days. A purchase is a
day with orders of amount 0 or more (refunds are not purchases), as in
:func:`clv_xl.models.rfm_summary`.

Per customer, with the models fitted on the whole history up to the analysis date:

* ``prob_alive`` = P(alive | x, t_x, T);
* ``expected_purchases_12m`` = E[Y(t) | x, t_x, T] for t = 12 months;
* ``expected_spend`` = E(Z | x, m_x), the expected value of one purchase (before refunds);
* ``predicted_clv_12m`` / ``_36m`` = margin x sum over months k of E[purchases in month k]
  x E(Z) / (1 + monthly discount rate)^(k-1), the next month now
  (:func:`clv_xl.models.predicted_clv`; both horizons and the expected purchases from one
  :func:`clv_xl.models.clv.forecast_purchases`).

The check (:mod:`clv_xl.analysis.holdout_check`): each family is fitted before a holdout
at the end of the span and the one that forecast the holdout better is fitted to the whole
history (``model_choice``). The fits themselves: :mod:`clv_xl.analysis.model_fits`;
intervals and verdicts per group of customers: :mod:`clv_xl.analysis.forecast_ranges`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from clv_xl.alongside import alongside
from clv_xl.analysis.holdout_check import (
    CHOICE_COLUMNS,
    HOLDOUT_COLUMNS,
    TRACKING_COLUMNS,
    by_likelihood,
    calibration_check,
)
from clv_xl.analysis.model_fits import (
    FAMILIES,
    TIME_UNIT,
    CannotFitError,
    empty_frame,
    fitted_spend,
    purchase_fits,
    require_data,
)
from clv_xl.errors import InputError
from clv_xl.models import GammaGamma, purchase_days, summarise
from clv_xl.models._mle import FittedModel
from clv_xl.models.clv import PurchaseForecast, PurchaseModel, forecast_purchases
from clv_xl.models.purchase_choice import PurchaseFit
from clv_xl.models.spend_choice import OwnMeanSpend

HORIZON_MONTHS = (12, 36)
CALIBRATION_SUFFIX = " (calibration period)"
NOT_CHOSEN_SUFFIX = " (whole history, not chosen)"
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
PARAMETER_UNITS = {
    "alpha": TIME_UNIT,
    "beta": TIME_UNIT,
    "gamma": "currency",
    "mean_spend": "currency",
    "rate": f"per {TIME_UNIT[:-1]}",
}


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
    kept for it in the calibration period (the family's own or a no-drop-out limit), its
    parameters (text) and log-likelihood there, holdout_actual and holdout_predicted repeat
    purchases, holdout_error (sum over the
    frequency groups of |actual - predicted|, over the actual total) and chosen.
    ``family`` is the purchase-model family chosen (``purchase_model`` may be its limit).
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
    model_choice: pd.DataFrame = field(default_factory=lambda: empty_frame(CHOICE_COLUMNS))
    purchase_model: str = ""
    family: str = ""
    spend_model: str = ""
    notes: tuple[str, ...] = ()
    forecast_inputs: ForecastInputs | None = None


def predict(
    lines: pd.DataFrame,
    as_of: dt.date,
    *,
    margin: float | pd.Series,
    monthly_discount_rate: float,
    min_customers: int = 50,
    min_repeat_customers: int = 10,
    holdout_fraction: float = 1 / 3,
    families: tuple[str, ...] = FAMILIES,
) -> Prediction:
    """Fit the models to ``lines`` (customer, date, amount) up to ``as_of`` and forecast.

    ``families``: the purchase-model families (of FAMILIES) fitted in the calibration
    period, each with its no-drop-out limits; the one whose holdout forecast is off by
    less (:mod:`clv_xl.analysis.holdout_check`) is fitted to the whole history. Without a
    check every family is fitted to the whole history and the best by AIC kept.

    ``margin`` is a gross-margin fraction, for all customers or per customer (a Series
    indexed by customer). ``monthly_discount_rate`` discounts each month's value from its
    start (the next month now: the report's one convention). Data too thin to fit gives
    ``fitted=False`` with the reason, never an exception.
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
    # Categories in sorted order are such codes already (the analysis' customers are).
    column = lines["customer"]
    if (
        isinstance(column.dtype, pd.CategoricalDtype)
        and column.cat.categories.is_monotonic_increasing
    ):
        codes, names = column.cat.codes.to_numpy(), column.cat.categories
    else:
        codes, names = pd.factorize(column, sort=True)
        if isinstance(names, pd.CategoricalIndex):  # the names, not categories again
            names = names.categories.take(names.codes)
    customer = pd.Series(codes, index=lines.index, copy=False)
    coded = pd.DataFrame(
        {
            "customer": customer.where(codes >= 0) if (codes < 0).any() else customer,
            "date": lines["date"],
            "amount": lines["amount"],
        },
        copy=False,
    )
    days = purchase_days(coded, as_of)  # once, for the whole history and the calibration
    history = summarise(days, TIME_UNIT)
    history.index = pd.Index(names[history.index.astype(np.int64)], name="customer")
    excluded = dict(history.attrs["excluded_rows"])
    priced = (history["frequency"] > 0) & (history["monetary_value"] > 0)
    try:
        require_data(history, min_customers, min_repeat_customers, f"up to {as_of:%Y-%m-%d}")
        check = calibration_check(
            days, as_of, holdout_fraction, min_customers, min_repeat_customers, families
        )
        # the spend model (numpy) in a second thread while the purchase model is refitted
        spending = partial(
            fitted_spend, history["frequency"].where(priced, 0.0), history["monetary_value"]
        )
        with alongside(spending) as spend_fit:
            chosen = families if check.reason else (check.family,)
            whole = purchase_fits(chosen, history, check.fits)
            spend = spend_fit.result()
    except CannotFitError as problem:
        return _not_fitted(str(problem), as_of, excluded)
    family, choice_note = by_likelihood(whole) if check.reason else (check.family, check.note)
    purchases = whole[family]
    unpriced = (history["frequency"] > 0) & ~priced
    monetary = history["monetary_value"].where(~unpriced, spend.model.mean_spend())
    inputs = ForecastInputs(
        purchases=purchases.model,
        spend=spend.model,
        history=history[["frequency", "recency", "T"]].assign(monetary_value=monetary),
        margins=_margins(margin, history.index),
        monthly_discount_rate=monthly_discount_rate,
    )
    try:
        customers = _customer_forecasts(inputs)
    except CannotFitError as problem:
        return _not_fitted(str(problem), as_of, excluded)
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
        _Fit(f"{name}{NOT_CHOSEN_SUFFIX}", fit.model, len(history), fit.note)
        for name, fit in whole.items()
        if name != family
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
        family=family,
        spend_model=spend.model.model_name,
        notes=tuple(filter(None, [choice_note, purchases.note, spend.note])),
        forecast_inputs=inputs,
    )


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
    purchase_forecast, spend_per_purchase, by_horizon = revenues(
        inputs.purchases, inputs.spend, inputs.history, inputs.monthly_discount_rate
    )
    forecasts = pd.DataFrame(index=inputs.history.index)
    forecasts["prob_alive"] = purchase_forecast.probability_alive
    forecasts["expected_purchases_12m"] = purchase_forecast.expected_purchases(HORIZON_MONTHS[0])
    forecasts["expected_spend"] = spend_per_purchase
    for months, revenue in zip(HORIZON_MONTHS, by_horizon, strict=True):
        forecasts[f"predicted_clv_{months}m"] = inputs.margins * revenue
    if not np.isfinite(forecasts.to_numpy()).all():
        raise CannotFitError(
            f"The {inputs.purchases.model_name} model gives no finite forecast for some "
            "customers; their histories are too far from what it describes."
        )
    return forecasts


def revenues(
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


def _not_fitted(reason: str, as_of: dt.date, excluded: dict[str, int]) -> Prediction:
    return Prediction(
        fitted=False,
        reason=reason,
        as_of=as_of,
        customers=empty_frame(CUSTOMER_COLUMNS, "customer"),
        parameters=empty_frame(PARAMETER_COLUMNS),
        fit_summary=empty_frame(FIT_COLUMNS),
        tracking=empty_frame(TRACKING_COLUMNS),
        holdout=empty_frame(HOLDOUT_COLUMNS),
        validation_reason=reason,
        excluded_rows=excluded,
    )
