"""predict fits BG/NBD and Pareto/NBD and keeps the one that forecast the holdout better.

On businesses simulated by each model's own story (known truth) the check keeps the true
family, or says that the two tie; the rule itself (least holdout error, a tie within
holdout_check.TIE broken by AIC) is checked on made-up errors and likelihoods.
"""

from __future__ import annotations

import dataclasses

import pytest

from clv_xl.analysis.holdout_check import TIE, _choose
from clv_xl.analysis.prediction import predict
from clv_xl.models import BetaGeo, ParetoNBD, shapes
from clv_xl.models.no_drop_out import NBD
from clv_xl.models.purchase_choice import PurchaseFit

BUSINESSES = {
    "BG/NBD": lambda seed: shapes.bg_nbd(1000, seed=seed),
    "Pareto/NBD": lambda seed: shapes.pareto_nbd(1000, seed=seed),
}


@pytest.mark.parametrize("truth", list(BUSINESSES))
def test_the_check_keeps_the_family_that_made_the_data_or_says_they_tie(truth: str) -> None:
    kept = []
    for seed in range(3):
        prediction = predict(
            BUSINESSES[truth](seed), shapes.AS_OF, margin=0.3, monthly_discount_rate=0.008
        )
        errors = prediction.model_choice.set_index("family")["holdout_error"]
        assert errors[prediction.family] <= errors.min() + TIE
        tie = "about equally well" in prediction.notes[0]
        assert tie == (errors.max() - errors.min() <= TIE)
        assert prediction.family == errors.idxmin() or tie
        kept.append(prediction.family)
    assert kept.count(truth) >= 2, kept


def fit(model: object, family: str, log_likelihood: float) -> PurchaseFit:
    return PurchaseFit(
        model=dataclasses.replace(model, log_likelihood=log_likelihood),
        family=family,
        note="",
        candidates=(),
    )


BG = BetaGeo.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
PARETO = ParetoNBD.from_params(r=0.55, alpha=10.6, s=0.61, beta=11.7)


def test_the_least_holdout_error_wins_and_a_tie_goes_to_the_lower_aic() -> None:
    fits = {"BG/NBD": fit(BG, "BG/NBD", -100.0), "Pareto/NBD": fit(PARETO, "Pareto/NBD", -90.0)}
    family, note = _choose(fits, {"BG/NBD": 0.05, "Pareto/NBD": 0.08}, 26)
    assert family == "BG/NBD"
    assert note.startswith("BG/NBD was chosen: its forecast of the last 26 weeks was off by 5.0%")
    assert "against 8.0% for Pareto/NBD" in note
    family, note = _choose(fits, {"BG/NBD": 0.05, "Pareto/NBD": 0.055}, 26)
    assert family == "Pareto/NBD"  # AIC 188 against 208
    assert "about equally well" in note and "AIC 188.0 against 208.0 for BG/NBD" in note
    limit = {
        "BG/NBD": fit(NBD.from_params(r=1.0, alpha=2.0), "BG/NBD", -95.0),
        "Pareto/NBD": fit(PARETO, "Pareto/NBD", -94.0),
    }
    family, _ = _choose(limit, {"BG/NBD": 0.05, "Pareto/NBD": 0.052}, 26)
    assert family == "BG/NBD"  # two parameters against four: AIC 194 against 196


def test_a_forecast_that_is_no_number_loses_the_choice() -> None:
    """A NaN forecast made the holdout error NaN, and the choice raised ValueError."""
    import numpy as np
    import pandas as pd

    from clv_xl.analysis.holdout_check import _holdout_error

    table = pd.DataFrame(
        {"frequency_group": ["0", "1", "All"], "actual": [5.0, 3.0, 8.0],
         "predicted": [np.nan, 3.0, np.nan]}
    )  # fmt: skip
    assert _holdout_error(table) == np.inf
    fits = {"BG/NBD": fit(BG, "BG/NBD", -100.0), "Pareto/NBD": fit(PARETO, "Pareto/NBD", -90.0)}
    family, _ = _choose(fits, {"BG/NBD": _holdout_error(table), "Pareto/NBD": 0.08}, 26)
    assert family == "Pareto/NBD"
