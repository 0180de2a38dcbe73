"""Pareto/NBD's one-rate corner (`clv_xl.models.one_rate`), checked against the model's
own likelihood (the quadrature and its exact gradient) and against simulated businesses
whose customers share one buying rate and one drop-out rate."""

import numpy as np
import pytest

import clv_xl.models.pareto_nbd as pareto_nbd
from clv_xl.models import ParetoNBD
from clv_xl.models._data import compress
from clv_xl.models._mle import RIDGE_AGREEMENT
from clv_xl.models.one_rate import pareto_nbd_corner
from clv_xl.models.simulate import simulate_pareto_nbd

#: Shapes this large make the simulated rates one rate for all (their spread is 1/sqrt(shape)).
ONE = 1e6
RATE, DROP_RATE = 0.125, 1 / 40
AGES = np.random.default_rng(2).integers(20, 60, 20_000).astype(float)


@pytest.fixture(scope="module")
def one_rate():
    history = simulate_pareto_nbd(ONE, ONE / RATE, ONE, ONE / DROP_RATE, AGES, seed=1)
    history = history.assign(recency=np.round(history["recency"], 1))  # fewer distinct rows
    return compress({k: history[k].to_numpy(float) for k in ("frequency", "recency", "T")})


def _columns(rows):
    values = rows.values
    return pareto_nbd._with_pairs(values["frequency"], values["recency"], values["T"])


def test_the_corner_recovers_the_one_rate_business(one_rate) -> None:
    corner = pareto_nbd_corner(one_rate)
    assert corner["r"] / corner["alpha"] == pytest.approx(RATE, rel=0.03)
    assert corner["s"] / corner["beta"] == pytest.approx(DROP_RATE, rel=0.06)


def test_the_corner_is_the_models_best_point_at_its_limit(one_rate) -> None:
    """By Pareto/NBD's own likelihood (the quadrature and its exact gradient) at the corner:
    flat along the mean buying rate (r fixed, alpha = r / lambda) and the mean drop-out rate
    (s fixed, beta = s / mu), so no other lambda or mu at the limit does better."""
    params = tuple(pareto_nbd_corner(one_rate).values())
    _, gradient = pareto_nbd.weighted_terms(params, _columns(one_rate), one_rate.weights)
    customers = one_rate.weights.sum()
    along_rate, along_drop = -params[1] * gradient[1], -params[3] * gradient[3]
    assert abs(along_rate) / customers < 1e-5 and abs(along_drop) / customers < 1e-5


def test_a_fit_of_a_one_rate_business_ends_at_its_corner(one_rate) -> None:
    """The fit ends at the limit (r and s at the edge of their range), converged, at least as
    likely as the corner by the model's likelihood (up to the agreement of two ends)."""
    values = one_rate.values
    fit = ParetoNBD().fit(
        values["frequency"], values["recency"], values["T"], weights=one_rate.weights
    )
    assert fit.convergence.converged and min(fit.params["r"], fit.params["s"]) > 1e4
    at_corner = pareto_nbd.row_log_likelihood(
        tuple(pareto_nbd_corner(one_rate).values()), _columns(one_rate)
    )
    corner_likelihood = float(np.sum(one_rate.weights * at_corner))
    assert fit.log_likelihood >= corner_likelihood - RIDGE_AGREEMENT * abs(corner_likelihood)


def test_customers_who_differ_keep_the_fit_inside() -> None:
    """Where buying rates and drop-out rates differ (a CDNOW-like business), the corner is a
    worse start and the fit ends inside, near the truth."""
    history = simulate_pareto_nbd(0.55, 10.5, 0.6, 12.0, AGES, seed=3)
    fit = ParetoNBD().fit(history["frequency"], history["recency"], history["T"])
    assert fit.params["r"] == pytest.approx(0.55, rel=0.15)
    assert fit.params["s"] == pytest.approx(0.6, rel=0.3)
