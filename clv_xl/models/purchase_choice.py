"""A purchase model and its no-drop-out limits, fitted together; the best one kept.

BG/NBD and Pareto/NBD both tend to the NBD model as drop-out vanishes, and the NBD model
to the Poisson model as the spread of buying rates vanishes (:mod:`.no_drop_out`). At such
a limit the parent's likelihood only approaches its supremum along a ridge, so the parent's
fit ends somewhere on the way; fitting the limits as models of their own makes the limit an
answer. The one kept has the lowest AIC = 2k - 2 log L (Akaike 1974): a limit wins when
the parent's extra parameters gain less than one unit of log-likelihood each.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clv_xl.models._data import compress, read_history
from clv_xl.models._errors import NotFittedError
from clv_xl.models._mle import FittedModel
from clv_xl.models.beta_geo import BetaGeo
from clv_xl.models.no_drop_out import NBD, Poisson
from clv_xl.models.pareto_nbd import ParetoNBD

FAMILIES: dict[str, type[BetaGeo] | type[ParetoNBD]] = {
    BetaGeo.model_name: BetaGeo,
    ParetoNBD.model_name: ParetoNBD,
}
NO_DROP_OUT = (
    "No drop-out is visible in the data: customers are modelled as staying{rate}; "
    "the predicted CLV then rests on the horizon."
)


@dataclass(frozen=True)
class Candidate:
    """One model fitted in the choice: its name, log-likelihood, parameter count and AIC."""

    name: str
    log_likelihood: float
    parameters: int

    @property
    def aic(self) -> float:
        """2k - 2 log L."""
        return 2 * self.parameters - 2 * self.log_likelihood


@dataclass(frozen=True)
class PurchaseFit:
    """The purchase model kept, the family it came from and a sentence when it is a limit."""

    model: Any  # a fitted BetaGeo, ParetoNBD, NBD or Poisson
    family: str
    note: str
    candidates: tuple[Candidate, ...]

    @property
    def at_limit(self) -> bool:
        """Whether the model kept is a no-drop-out limit of the family."""
        return self.model.model_name != self.family


def fit_purchases(
    families: Sequence[str],
    frequency: Any,
    recency: Any,
    T: Any,  # noqa: N803
    warm: dict[str, dict[str, float]] | None = None,
) -> dict[str, PurchaseFit]:
    """Fit each family ("BG/NBD", "Pareto/NBD"), NBD and Poisson once; per family, the one
    of the family's model and the two limits with the lowest AIC.

    The histories are read and their identical rows counted once, for every fit. ``warm``:
    parameters of similar data by model name (the calibration period's), to start from.
    """
    warm = warm or {}

    def model(kind: type[FittedModel]) -> Any:
        known = warm.get(kind.model_name)
        return kind.from_params(**known) if known else kind()

    columns = read_history("purchase", frequency, recency, T)
    rows = compress(columns.values, columns.weights)
    history = (*(rows.values[k] for k in ("frequency", "recency", "T")), rows.weights)
    limits: list[FittedModel] = []
    for limit in (model(NBD), Poisson()):
        try:
            limits.append(limit.fit(*history))
        except NotFittedError:
            continue
    chosen = {}
    for family in families:
        fitted = list(limits)
        with contextlib.suppress(NotFittedError):
            fitted.insert(0, model(FAMILIES[family]).fit(*history))
        if not fitted:
            raise NotFittedError(
                f"The {family} model and its limits cannot be fitted: no customer bought again."
            )
        candidates = tuple(
            Candidate(fit.model_name, fit.log_likelihood, len(fit.parameter_names))
            for fit in fitted
        )
        kept = fitted[min(range(len(fitted)), key=lambda i: candidates[i].aic)]
        note = ""
        if kept.model_name != family:
            rate = " and as buying at one common rate" if isinstance(kept, Poisson) else ""
            note = NO_DROP_OUT.format(rate=rate)
        chosen[family] = PurchaseFit(model=kept, family=family, note=note, candidates=candidates)
    return chosen
