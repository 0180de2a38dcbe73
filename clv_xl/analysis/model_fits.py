"""The fits behind the predictions: enough data for a model, each purchase-model family
with its no-drop-out limits (:func:`clv_xl.models.purchase_choice.fit_purchases`) and the
spend model or its limit (:func:`clv_xl.models.spend_choice.fit_spend`). Time is in weeks."""

from __future__ import annotations

import pandas as pd

from clv_xl.models import NotFittedError, days_per
from clv_xl.models.purchase_choice import PurchaseFit, fit_purchases
from clv_xl.models.spend_choice import SpendFit, fit_spend

TIME_UNIT = "weeks"
WEEK_DAYS = int(days_per(TIME_UNIT))
PURCHASES = "BG/NBD"
PARETO = "Pareto/NBD"
#: The purchase-model families predict compares.
FAMILIES = (PURCHASES, PARETO)
BUDGET_NOTE = (
    "The fit used up its budget of likelihood evaluations before the maximum was pinned "
    "down; its estimates are the best found."
)


class CannotFitError(Exception):
    """Data valid but too thin (or too odd) for a model; the message is for people."""


def require_data(
    history: pd.DataFrame, min_customers: int, min_repeat_customers: int, period: str
) -> None:
    """Enough customers and repeat customers for a purchase model.

    ``period`` completes "... bought <period>", e.g. "up to 2024-12-31".
    """
    customers = len(history)
    repeaters = int((history["frequency"] > 0).sum())
    if customers < min_customers:
        raise CannotFitError(
            f"The purchase model needs at least {min_customers} customers; "
            f"{customers} bought {period}."
        )
    if repeaters < min_repeat_customers:
        raise CannotFitError(
            f"The purchase model needs at least {min_repeat_customers} repeat customers; "
            f"{repeaters} bought again {period}."
        )


def purchase_fits(
    families: tuple[str, ...], history: pd.DataFrame, like: dict[str, PurchaseFit] | None = None
) -> dict[str, PurchaseFit]:
    """Each family with its limits (:func:`fit_purchases`), a budget note where one ran out;
    starting from the models kept in ``like`` (fits of similar data) when given."""
    warm = {fit.model.model_name: fit.model.params for fit in (like or {}).values()}
    try:
        fits = fit_purchases(families, history["frequency"], history["recency"], history["T"], warm)
    except NotFittedError as error:
        raise CannotFitError(str(error)) from None
    return {family: _with_budget_note(fit) for family, fit in fits.items()}


def _with_budget_note(fit: PurchaseFit) -> PurchaseFit:
    convergence = fit.model.convergence
    if convergence is None or convergence.converged:
        return fit
    note = " ".join(filter(None, [fit.note, BUDGET_NOTE]))
    return PurchaseFit(model=fit.model, family=fit.family, note=note, candidates=fit.candidates)


def fitted_spend(frequency: pd.Series, monetary_value: pd.Series) -> SpendFit:
    """Gamma-Gamma or its limit (:func:`fit_spend`)."""
    try:
        return fit_spend(frequency, monetary_value)
    except NotFittedError as error:
        raise CannotFitError(str(error)) from None


def empty_frame(columns: tuple[str, ...], index_name: str | None = None) -> pd.DataFrame:
    """A table with these columns and no rows (a model or a check that could not be made)."""
    frame = pd.DataFrame({name: pd.Series(dtype=float) for name in columns})
    frame.index.name = index_name
    return frame
