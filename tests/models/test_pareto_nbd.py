"""Pareto/NBD's likelihood by quadrature: its integral against note 009's hypergeometric
form, its exact gradient against central finite differences, and its optimum on CDNOW
against the published estimates and lifetimes' ParetoNBDFitter."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from clv_xl.models import ParetoNBD, rfm_summary, shapes
from clv_xl.models.pareto_nbd import _with_pairs, row_log_likelihood, tail, weighted_terms
from clv_xl.models.simulate import simulate_pareto_nbd

CDNOW = (
    Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"
)
#: Points (r, alpha, s, beta): CDNOW's optimum, alpha < beta and alpha > beta far apart,
#: near the no-drop-out limit (s / beta -> 0) and near the one-rate limit (r, alpha large).
POINTS = [
    (0.553, 10.578, 0.606, 11.669),
    (0.3, 0.05, 2.0, 40.0),
    (4.0, 30.0, 0.2, 0.4),
    (0.8, 3.0, 1e-4, 1e3),
    (300.0, 500.0, 0.7, 2.0),
]


def hypergeometric_tail(r: float, alpha: float, s: float, beta: float, x, t) -> np.ndarray:
    """log of the integral from t to infinity of (alpha+tau)^-(r+x) (beta+tau)^-(s+1), by
    note 009 eqs. 19-20: 2F1(k, s+1; k+1; (alpha-beta)/(alpha+t)) / (k (alpha+t)^k) for
    alpha >= beta, (alpha, s+1) and (beta, r+x) swapped otherwise, k = r+s+x."""
    k = r + s + x
    larger, smaller, second = (alpha, beta, s + 1) if alpha >= beta else (beta, alpha, r + x)
    q = larger + t
    return np.log(hyp2f1(k, second, k + 1, (larger - smaller) / q)) - k * np.log(q) - np.log(k)


@pytest.mark.parametrize("point", POINTS)
def test_the_quadrature_matches_the_hypergeometric_form(point: tuple[float, ...]) -> None:
    x = np.array([0.0, 0.0, 1.0, 3.0, 12.0, 40.0])
    t = np.array([0.0, 1.5, 0.2, 0.9, 0.05, 1.0])
    assert tail(*point, x, t).log_value == pytest.approx(
        hypergeometric_tail(*point, x, t), abs=1e-8
    )


def finite_difference_gradient(params: np.ndarray, data: dict, weights: np.ndarray) -> np.ndarray:
    """Central differences of the summed log-likelihood by the log-parameters (steps 1e-5),
    as the optimiser sees it: d/d log p = p d/dp."""
    gradient = np.empty(len(params))
    for i in range(len(params)):
        step = np.zeros(len(params))
        step[i] = 1e-5
        up = np.sum(weights * row_log_likelihood(tuple(params * np.exp(step)), data))
        down = np.sum(weights * row_log_likelihood(tuple(params * np.exp(-step)), data))
        gradient[i] = (up - down) / 2e-5
    return gradient


@pytest.mark.parametrize("point", POINTS)
def test_the_gradient_matches_central_differences(point: tuple[float, ...]) -> None:
    history = simulate_pareto_nbd(0.55, 10.6, 0.6, 11.7, T=np.linspace(1, 40, 300), seed=2)
    data = _with_pairs(*(history[k].to_numpy() for k in ("frequency", "recency", "T")))
    weights = np.random.default_rng(0).integers(1, 4, len(history)).astype(float)
    total, gradient = weighted_terms(point, data, weights)
    assert total == pytest.approx(np.sum(weights * row_log_likelihood(point, data)), rel=1e-12)
    numeric = finite_difference_gradient(np.array(point), data, weights)
    assert point * gradient == pytest.approx(numeric, rel=1e-6, abs=1e-5)


def test_the_cdnow_optimum_is_the_published_one_and_lifetimes() -> None:
    """FHL (2005) section 7: r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669,
    LL = -9595.0; lifetimes 0.11.3's ParetoNBDFitter on the same file (run in its own
    venv): r = 0.55327, alpha = 10.5777, s = 0.60620, beta = 11.6681."""
    cdnow = pd.read_csv(CDNOW)
    model = ParetoNBD().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    lifetimes = {"r": 0.55327, "alpha": 10.5777, "s": 0.60620, "beta": 11.6681}
    for name, value in lifetimes.items():
        assert model.params[name] == pytest.approx(value, rel=2e-3), name
    assert model.log_likelihood == pytest.approx(-9595.0, abs=0.05)
    assert model.convergence is not None and model.convergence.converged


def test_one_buying_rate_for_all_is_reached_as_a_limit() -> None:
    """Monthly renewals: every customer buys at one rate while subscribed, so the likelihood
    rises towards r, alpha -> infinity at a fixed mean rate r / alpha. The fit gets there
    (the optimiser works along log r and log r/alpha) instead of stopping on the ridge, and
    going ten times further gains almost nothing."""
    lines = shapes.subscriptions(customers=600)
    codes, _ = pd.factorize(lines["customer"], sort=True)
    history = rfm_summary(lines.assign(customer=codes), "weeks", shapes.AS_OF)
    rfm = [history[k] for k in ("frequency", "recency", "T")]
    model = ParetoNBD().fit(*rfm)
    assert model.convergence is not None and model.convergence.converged
    assert model.convergence.at_boundary and model.params["r"] > 1e5
    data = _with_pairs(*(column.to_numpy() for column in rfm))
    p = model.params
    further = row_log_likelihood((10 * p["r"], 10 * p["alpha"], p["s"], p["beta"]), data).sum()
    assert further - model.log_likelihood < 0.01


@pytest.mark.parametrize("point", POINTS)
def test_the_scaled_tail_is_alpha_to_the_r_beta_to_the_s_times_the_tail(
    point: tuple[float, ...],
) -> None:
    r, alpha, s, beta = point
    x = np.array([0.0, 0.0, 1.0, 3.0, 12.0, 40.0])
    t = np.array([0.0, 1.5, 0.2, 0.9, 0.05, 1.0])
    pairs = tail(*point, x, t)
    shift = r * np.log(alpha) + s * np.log(beta)
    assert pairs.log_scaled == pytest.approx(pairs.log_value + shift, abs=1e-9)


def test_the_likelihood_is_smooth_next_to_the_one_rate_one_lifetime_limit() -> None:
    """r and s near a million (every customer one buying rate, one drop-out rate): the
    terms alpha^r, G(r+x)/G(r) and the tail's powers are each about r log alpha, 1e7, in size.
    Summed as such their rounding (1e-9 a customer) would be noise that stops every line
    search there; taken in per customer's terms, the likelihood's central differences at
    steps of 1e-5 agree with its exact gradient."""
    history = simulate_pareto_nbd(0.55, 10.6, 0.6, 11.7, T=np.linspace(1, 40, 300), seed=2)
    data = _with_pairs(*(history[k].to_numpy() for k in ("frequency", "recency", "T")))
    weights = np.full(len(history), 50.0)  # 15,000 customers
    point = np.array([8e5, 8e5 / 0.05, 4e5, 4e5 / 0.02])
    _, gradient = weighted_terms(tuple(point), data, weights)
    numeric = finite_difference_gradient(point, data, weights)
    assert point * gradient == pytest.approx(numeric, rel=1e-3, abs=1e-3)


def test_the_exponent_taken_from_shifted_less_end_agrees_with_the_plain_logarithm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beyond ROUNDING_POWER the tail's integrand comes from shifted - end; at powers just
    past it (the smaller factor's power k_o = min(r + x, s + 1) at 1.2e4) both ways give the
    same tail and gradient, to the plain way's rounding."""
    from clv_xl.models import pareto_nbd

    x = np.array([0.0, 1.0, 3.0, 12.0, 40.0])
    t = np.array([0.0, 0.2, 0.9, 0.05, 1.0])
    point = (5e4, 5e4 / 0.5, 1.2e4, 1.2e4 / 0.25)
    assert min(point[0], point[2] + 1) > pareto_nbd.ROUNDING_POWER
    careful = tail(*point, x, t)
    monkeypatch.setattr(pareto_nbd, "ROUNDING_POWER", np.inf)
    plain = tail(*point, x, t)
    assert careful.log_value == pytest.approx(plain.log_value, rel=1e-9)
    assert careful.gradient == pytest.approx(plain.gradient, rel=1e-6, abs=1e-9)
