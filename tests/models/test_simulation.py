"""Data drawn from each model with known parameters is fitted back within 3 standard errors,
and the purchase models predict the holdout purchases of a simulated sample."""

import numpy as np
import pytest

from clv_xl.models import BetaGeo, GammaGamma, ParetoNBD, ShiftedBetaGeo
from clv_xl.models.simulate import (
    simulate_bg_nbd,
    simulate_pareto_nbd,
    simulate_spend,
    simulate_survivors,
)

CUSTOMERS = 10_000
WEEKS = np.random.default_rng(7).uniform(13, 52, CUSTOMERS)
BG_NBD = {"r": 0.5, "alpha": 4.0, "a": 0.7, "b": 2.5}
PARETO_NBD = {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 12.0}


def assert_within_3_se(model, truth: dict[str, float]) -> None:
    for name, value in truth.items():
        estimate, se = model.params[name], model.standard_errors[name]
        assert np.isfinite(se) and se > 0, name
        assert abs(estimate - value) <= 3 * se, (name, estimate, se, value)


@pytest.mark.parametrize("seed", [0, 1])
def test_bg_nbd_recovers_its_parameters(seed: int) -> None:
    data = simulate_bg_nbd(**BG_NBD, T=WEEKS, seed=seed)
    model = BetaGeo().fit(data["frequency"], data["recency"], data["T"])
    assert_within_3_se(model, BG_NBD)


@pytest.mark.parametrize("seed", [0, 1])
def test_pareto_nbd_recovers_its_parameters(seed: int) -> None:
    data = simulate_pareto_nbd(**PARETO_NBD, T=WEEKS, seed=seed)
    model = ParetoNBD().fit(data["frequency"], data["recency"], data["T"])
    assert_within_3_se(model, PARETO_NBD)


@pytest.mark.parametrize("seed", [0, 1])
def test_gamma_gamma_recovers_its_parameters(seed: int) -> None:
    truth = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    frequency = np.random.default_rng(seed).integers(1, 8, CUSTOMERS)
    spend = simulate_spend(**truth, frequency=frequency, seed=seed)
    assert_within_3_se(GammaGamma().fit(frequency, spend), truth)


@pytest.mark.parametrize("seed", [0, 1])
def test_sbg_recovers_its_parameters(seed: int) -> None:
    truth = {"alpha": 0.7, "beta": 1.2}
    survivors = simulate_survivors(**truth, cohort=20_000, periods=8, seed=seed)
    assert_within_3_se(ShiftedBetaGeo().fit(survivors), truth)


@pytest.mark.parametrize(
    ("model", "simulate", "truth"),
    [(BetaGeo, simulate_bg_nbd, BG_NBD), (ParetoNBD, simulate_pareto_nbd, PARETO_NBD)],
    ids=["BG/NBD", "Pareto/NBD"],
)
def test_holdout_purchases_are_predicted(model, simulate, truth) -> None:
    """Calibration / holdout: fitted on the calibration period, the expected purchases in the
    next 39 weeks match the simulated holdout purchases in total (within 3 standard errors
    of the sum of Poisson-like counts) and for the customers grouped by frequency."""
    data = simulate(**truth, T=WEEKS, holdout=39.0, seed=3)
    fitted = model().fit(data["frequency"], data["recency"], data["T"])
    predicted = fitted.expected_purchases(39.0, data["frequency"], data["recency"], data["T"])
    actual = data["frequency_holdout"].to_numpy()
    noise = np.sqrt(actual.var() * len(actual))
    assert abs(predicted.sum() - actual.sum()) <= 3 * noise
    for group in (data["frequency"] == 0, data["frequency"].between(1, 3), data["frequency"] > 3):
        assert predicted[group].mean() == pytest.approx(actual[group].mean(), rel=0.1)
