"""Uncertainty and trust per group of customers: an interval of a group's mean predicted
CLV from the parameters' covariance (:func:`intervals_by_groupings`), and whether each group's
forecast can be trusted (:func:`verdicts_by_group`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clv_xl.alongside import alongside
from clv_xl.analysis.model_fits import WEEK_DAYS, empty_frame
from clv_xl.analysis.prediction import HORIZON_MONTHS, Prediction, revenues
from clv_xl.errors import InputError
from clv_xl.models import GammaGamma, NotFittedError
from clv_xl.models.clv import PurchaseModel
from clv_xl.models.spend_choice import OwnMeanSpend

NONE_BOUGHT = "No forecast: none of these customers bought."
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
    without_value: pd.Series | None = None,
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

    ``without_value`` (True per customer, indexed as ``groupings``): customers whose CLV is 0
    whatever the parameters (the analysis' fully refunded customers), counted as 0 in the
    group's mean and in every draw's.
    """
    inputs = prediction.forecast_inputs
    if not 0 < level < 1:
        raise InputError(f"The interval level must be between 0 and 1 (80% = 0.8); got {level}.")
    if not prediction.fitted or inputs is None:
        return {column: empty_frame(INTERVAL_COLUMNS) for column in groupings.columns}
    counted = np.ones(len(inputs.history))
    if without_value is not None:
        counted[without_value.reindex(inputs.history.index, fill_value=False).to_numpy()] = 0.0
    clv = prediction.customers["predicted_clv_36m"].to_numpy() * counted
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
    history, margins = inputs.history.iloc[sample], inputs.margins[sample] * counted[sample]

    def group_means(purchases: PurchaseModel, spend: GammaGamma | OwnMeanSpend) -> list:
        _, _, by_horizon = revenues(purchases, spend, history, inputs.monthly_discount_rate)
        clv_36 = margins * by_horizon[HORIZON_MONTHS.index(36)]
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

    # the draws in two halves, the later in a second thread (`alongside`: scipy's 2F1 and
    # numpy's loops hold no GIL)
    pairs = list(zip(*models, strict=True))
    half = len(pairs) // 2
    with alongside(lambda: [drawn_means(*pair) for pair in pairs[half:]]) as later:
        point = group_means(inputs.purchases, inputs.spend)
        shifted = [drawn_means(*pair) for pair in pairs[:half]] + later.result()
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


def no_forecast(prediction: Prediction) -> Verdict:
    """The verdict on a group without a customer who bought (on every group, without a
    fitted model)."""
    if not prediction.fitted or prediction.forecast_inputs is None:
        return Verdict(False, f"No forecast: {prediction.reason}")
    return Verdict(False, NONE_BOUGHT)


def verdicts_by_group(prediction: Prediction, groups: pd.Series) -> dict[Any, Verdict]:
    """The verdict on the forecast of every group at once: ``groups`` holds a group label per
    row of prediction.customers, in its order (NaN: in none); a group without a customer who
    bought is not in the result (its verdict is `no_forecast`).

    Trustworthy when the group has at least TRUST_CUSTOMERS customers, TRUST_REPEAT_CUSTOMERS
    of them repeat buyers, TRUST_HISTORY_DAYS days from its first purchase to the analysis
    date and an order in the last TRUST_RECENT_DAYS days; the reason names each figure, and
    what is missing when one falls short.
    """
    inputs = prediction.forecast_inputs
    if not prediction.fitted or inputs is None:
        return {}
    history = inputs.history
    frequency, recency, age = (history[k].to_numpy() for k in ("frequency", "recency", "T"))
    codes, names = pd.factorize(groups)  # Arrow text and categories by their own codes
    codes = np.where(np.isnan(frequency + recency + age), -1, codes)  # in no group
    counted = codes >= 0
    group, n = codes[counted], len(names)
    count = np.bincount(group, minlength=n)
    repeaters = np.bincount(group, weights=frequency[counted] > 0, minlength=n)
    latest_first = np.full(n, -np.inf)  # the longest history: the largest T
    np.maximum.at(latest_first, group, age[counted])
    quiet = np.full(n, np.inf)  # the most recent order: the least T - recency
    np.minimum.at(quiet, group, (age - recency)[counted])
    return {
        names[i]: _verdict(
            int(count[i]),
            int(repeaters[i]),
            round(float(latest_first[i]) * WEEK_DAYS),
            round(float(quiet[i]) * WEEK_DAYS),
        )
        for i in range(n)
        if count[i]
    }


def _verdict(count: int, repeaters: int, history_days: int, quiet_days: int) -> Verdict:
    """The verdict and its reason from a group's figures (see `verdicts_by_group`)."""
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
