"""The spend model: Gamma-Gamma, or one of its two limits.

E(Z | x, m_x) = p (gamma + x m_x) / (p x + q - 1) (Fader & Hardie 2013, note 025, eq. 5):

* when the spends of a customer hardly vary (a fixed price, a subscription fee), the shape p
  grows without end and E(Z | x, m_x) tends to the customer's own mean m_x (`OwnMeanSpend`,
  used too when the spend has a tail too heavy for a finite mean, q <= 1);
* when customers do not differ in what they spend per purchase beyond chance (every
  customer's spends drawn alike), q and gamma grow without end at a fixed ratio and
  E(Z | x, m_x) tends to the mean of all, p gamma / q, for every customer (`CommonMeanSpend`).

The fit then ends at the edge of its range; the limit it ends towards is used, with a
sentence saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clv_xl.models._errors import NotFittedError
from clv_xl.models._mle import FittedModel, closed_form
from clv_xl.models.gamma_gamma import GammaGamma, read_spend

OWN_MEAN_NOTE = (
    "{why}, so each repeat customer is expected to keep spending their own mean per "
    "purchase (the Gamma-Gamma model's limit) and the others the mean of all repeat purchases."
)
COMMON_MEAN_NOTE = (
    "The customers' mean spends per purchase differ no more than chance makes them, so every "
    "customer is expected to spend the mean of all repeat purchases (the Gamma-Gamma model's "
    "limit of customers alike)."
)


class OwnMeanSpend(FittedModel):
    """E(Z | x, m_x) = m_x for x > 0, else the mean of all repeat purchases, sum(x m) / sum(x).

    ``params`` holds ``mean_spend`` (in the currency of the data); its standard error is
    that of a mean of the repeat customers' own means.
    """

    model_name = "Own mean spend (Gamma-Gamma limit)"
    parameter_names = ("mean_spend",)
    customers_without_repeat_purchases: float = 0.0

    def fit(self, frequency: Any, monetary_value: Any, weights: Any = None) -> OwnMeanSpend:
        """The purchase-weighted mean spend of the repeat customers."""
        columns = read_spend(self.model_name, frequency, monetary_value, weights)
        x, m, w = columns.values["frequency"], columns.values["monetary_value"], columns.weights
        repeat = x > 0
        if not repeat.any():
            raise NotFittedError(
                f"The {self.model_name} model needs customers with at least one repeat "
                "purchase; there are none."
            )
        self.customers_without_repeat_purchases = float(w[~repeat].sum())
        x, m, w = x[repeat], m[repeat], w[repeat]
        mean = float(np.sum(w * x * m) / np.sum(w * x))
        standard_error = self._standard_error(x, m, w, mean)
        self._store(
            closed_form(
                {"mean_spend": mean},
                {"mean_spend": standard_error},
                np.nan,
                np.array([[(standard_error / mean) ** 2]]),
            )
        )
        return self

    @staticmethod
    def _standard_error(x: np.ndarray, m: np.ndarray, w: np.ndarray, mean: float) -> float:
        """That of a mean of the repeat customers' own means (``w`` customers with ``x``
        repeat purchases of mean ``m``)."""
        customers = float(w.sum())
        spread = float(np.sqrt(np.sum(w * (m - np.sum(w * m) / customers) ** 2) / customers))
        return spread / np.sqrt(customers)

    def mean_spend(self) -> float:
        """The mean spend per repeat purchase."""
        (mean,) = self._values()
        return mean

    def expected_spend(self, frequency: Any, monetary_value: Any) -> np.ndarray:
        """m_x for customers with repeat purchases, else the mean spend."""
        (mean,) = self._values()
        columns = read_spend(self.model_name, frequency, monetary_value).values
        x, m = columns["frequency"], columns["monetary_value"]
        return np.where(x > 0, m, mean)


class CommonMeanSpend(OwnMeanSpend):
    """E(Z | x, m_x) = the mean of all repeat purchases, sum(x m) / sum(x), for every customer:
    Gamma-Gamma's limit of customers alike (q, gamma -> infinity at a fixed ratio, where
    E(Z | x, m_x) tends to p gamma / q).

    ``params`` holds ``mean_spend``; its standard error is that of a mean of all the repeat
    purchases: a customer's mean of x spends varies by sigma^2 / x about it, sigma^2 the
    spread of one purchase, estimated as sum(x (m_x - mean)^2) over the customers.
    """

    model_name = "Mean spend of all customers (Gamma-Gamma limit)"

    @staticmethod
    def _standard_error(x: np.ndarray, m: np.ndarray, w: np.ndarray, mean: float) -> float:
        purchases = float(np.sum(w * x))
        spread = float(np.sum(w * x * (m - mean) ** 2) / max(float(w.sum()) - 1.0, 1.0))
        return float(np.sqrt(spread / purchases))

    def expected_spend(self, frequency: Any, monetary_value: Any) -> np.ndarray:
        """The mean spend for every customer."""
        (mean,) = self._values()
        columns = read_spend(self.model_name, frequency, monetary_value).values
        return np.full(len(columns["frequency"]), mean)


@dataclass(frozen=True)
class SpendFit:
    """The spend model kept and, when it is the limit, the sentence why."""

    model: GammaGamma | OwnMeanSpend  # or CommonMeanSpend, an OwnMeanSpend
    note: str


def fit_spend(frequency: Any, monetary_value: Any) -> SpendFit:
    """Gamma-Gamma when it converges inside its range with a finite mean, else the limit it
    ends towards: customers alike when q ends at the edge and p inside, else their own means."""
    spend = GammaGamma().fit(frequency, monetary_value)
    convergence = spend.convergence
    assert convergence is not None
    why = ""
    if spend.params["q"] <= 1:
        why = "The spend per purchase has too heavy a tail for the Gamma-Gamma model"
    elif convergence.at_boundary or not convergence.converged:
        if "q" in convergence.at_edge and "p" not in convergence.at_edge:
            common = CommonMeanSpend().fit(frequency, monetary_value)
            return SpendFit(model=common, note=COMMON_MEAN_NOTE)
        why = "The spends per purchase hardly vary"
    elif any(np.isnan(list(spend.standard_errors.values()))):
        why = "The spends per purchase do not determine the Gamma-Gamma model"
    if not why:
        return SpendFit(model=spend, note="")
    limit = OwnMeanSpend().fit(frequency, monetary_value)
    return SpendFit(model=limit, note=OWN_MEAN_NOTE.format(why=why))
