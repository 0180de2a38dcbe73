"""Predictions checked against independent computations: Monte Carlo draws from the model,
the likelihood's own decomposition, brute-force sums and algebraically different forms."""

import math
import warnings

import numpy as np
import pytest
from scipy.special import betaln, gammaln, hyp2f1

from clv_xl.models import (
    BetaGeo,
    GammaGamma,
    ModelDataError,
    ParetoNBD,
    ShiftedBetaGeo,
    predicted_clv,
)
from clv_xl.models.clv import forecast_purchases
from clv_xl.models.simulate import simulate_bg_nbd, simulate_pareto_nbd

BG = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
PARETO = ParetoNBD.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669)
SPEND = GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
HISTORY = {"frequency": [0, 1, 2, 7, 7], "recency": [0, 1.71, 30.43, 20, 38], "T": [38.86] * 5}


@pytest.mark.parametrize(
    ("model", "simulate"), [(BG, simulate_bg_nbd), (PARETO, simulate_pareto_nbd)], ids=["BG", "P"]
)
def test_new_customer_expectation_matches_monte_carlo(model, simulate) -> None:
    draws = simulate(**model.params, T=np.full(200_000, 52.0), seed=11)["frequency"]
    expected = model.expected_purchases_new_customer(52.0)
    assert abs(draws.mean() - expected) <= 4 * draws.std() / np.sqrt(len(draws))


def test_bg_nbd_probability_alive_is_the_alive_share_of_the_likelihood() -> None:
    """P(alive) = (likelihood of still being alive at T) / L, with the parts of FHL eq. 6."""
    r, alpha, a, b = BG.params.values()
    x, t_x, age = (np.asarray(HISTORY[k], dtype=float) for k in ("frequency", "recency", "T"))
    front = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    alive = np.exp(front + betaln(a, b + x) - (r + x) * np.log(alpha + age))
    dead = (x > 0) * np.exp(front + betaln(a + 1, b + x - 1) - (r + x) * np.log(alpha + t_x))
    assert BG.probability_alive(x, t_x, age) == pytest.approx(alive / (alive + dead), rel=1e-10)


@pytest.mark.parametrize("model", [BG, PARETO], ids=["BG", "P"])
def test_conditional_expectation_of_a_customer_without_history(model) -> None:
    """At T = 0 nothing is known yet: the conditional and the new-customer forecasts agree."""
    conditional = model.expected_purchases([5.0, 40.0], [0, 0], [0, 0], [0, 0])
    assert conditional == pytest.approx(model.expected_purchases_new_customer([5.0, 40.0]))


def test_pareto_probability_alive_follows_the_posterior_of_a_short_gap() -> None:
    """A customer who just bought is surely alive; a long silence lowers P(alive)."""
    alive = PARETO.probability_alive([3, 3, 3], [38.86, 30, 5], [38.86] * 3)
    assert alive[0] == pytest.approx(1.0)
    assert alive[0] > alive[1] > alive[2] > 0


def test_expected_spend_is_the_shrinkage_average() -> None:
    """Note 025: E(Z | x, m_x) = w p gamma/(q-1) + (1-w) m_x with w = (q-1)/(px+q-1)."""
    p, q, gamma = SPEND.params.values()
    x, m = np.array([0, 1, 8]), np.array([0.0, 100.0, 100.0])
    weight = (q - 1) / (p * x + q - 1)
    shrunk = weight * p * gamma / (q - 1) + (1 - weight) * m
    assert SPEND.expected_spend(x, m) == pytest.approx(shrunk)
    assert SPEND.mean_spend() == pytest.approx(15.44 * 6.25 / 2.74)


def test_sbg_retention_survival_and_derl_by_brute_force() -> None:
    model = ShiftedBetaGeo.from_params(alpha=0.704, beta=1.182)
    t = np.arange(1, 400)
    assert model.survival(t) == pytest.approx(np.cumprod(model.retention_rate(t)))
    # DERL after n-1 = 3 renewals (FH 2010): sum over t >= 4 of S(t)/S(3) / (1+d)^(t-4).
    discount = 0.1
    later = np.arange(4, 4000)
    brute = np.sum(model.survival(later) / model.survival(3) / (1 + discount) ** (later - 4))
    assert model.discounted_expected_residual_lifetime(3, discount) == pytest.approx(
        brute, rel=1e-9
    )


def test_predicted_clv_without_discount_telescopes() -> None:
    """With d = 0 the sum over months is E[purchases in 12 months] x E(spend); the data is in
    weeks and a month is 365.25/12 days."""
    monetary = [0.0, 11.77, 22.35, 40.0, 40.0]
    clv = predicted_clv(
        BG,
        SPEND,
        **HISTORY,
        monetary_value=monetary,
        horizon=12,
        discount_rate=0.0,
        time_unit="weeks",
        horizon_unit="months",
    )
    year_in_weeks = 365.25 / 7
    direct = BG.expected_purchases(year_in_weeks, **HISTORY) * SPEND.expected_spend(
        HISTORY["frequency"], monetary
    )
    assert clv == pytest.approx(direct, rel=1e-10)


def test_predicted_clv_discounts_each_month_from_its_start() -> None:
    """The next month now, as the report's formulas count a new customer's first month."""
    monetary = [0.0, 11.77, 22.35, 40.0, 40.0]
    month = 365.25 / 12 / 7
    cumulative = np.array([BG.expected_purchases(k * month, **HISTORY) for k in range(4)])
    spend = SPEND.expected_spend(HISTORY["frequency"], monetary)
    by_hand = sum(np.diff(cumulative, axis=0)[k] / 1.01**k for k in range(3)) * spend
    clv = predicted_clv(
        BG,
        SPEND,
        **HISTORY,
        monetary_value=monetary,
        horizon=3,
        discount_rate=0.01,
        time_unit="weeks",
        horizon_unit="months",
    )
    assert clv == pytest.approx(by_hand, rel=1e-12)


def test_clv_does_not_depend_on_the_time_unit_of_the_data() -> None:
    """The same customers in days, with alpha in days, give the same CLV."""
    in_days = BetaGeo.from_params(**{**BG.params, "alpha": BG.params["alpha"] * 7})
    days = {
        **HISTORY,
        "recency": np.multiply(HISTORY["recency"], 7),
        "T": np.multiply(HISTORY["T"], 7),
    }
    monetary = [0.0, 11.77, 22.35, 40.0, 40.0]
    settings = {"horizon": 24, "discount_rate": 0.01, "horizon_unit": "months"}
    weekly = predicted_clv(
        BG, SPEND, **HISTORY, monetary_value=monetary, time_unit="weeks", **settings
    )
    daily = predicted_clv(
        in_days, SPEND, **days, monetary_value=monetary, time_unit="days", **settings
    )
    assert daily == pytest.approx(weekly, rel=1e-9)


@pytest.mark.parametrize("model", [BG, PARETO], ids=["BG", "P"])
def test_one_forecast_for_several_horizons_by_a_loop_over_customers_and_months(model) -> None:
    """One forecast of 36 months gives each customer's E[Y(k)] and, for 0, 1, 12 and 36
    months, the sum of E[Y(k)] - E[Y(k-1)] at the month's start discount, as a plain loop
    over customers and months does; customers 2-4 share x and T but not t_x, and customer
    1 repeats customer 0's history."""
    history = {
        "frequency": [0, 0, 7, 7, 7, 2],
        "recency": [0, 0, 5, 20, 38.86, 30.43],
        "T": [38.86, 38.86, 38.86, 38.86, 38.86, 60],
    }
    month, rate = 365.25 / 12 / 7, 0.01
    horizons = (0, 1, 12, 36)
    forecast = forecast_purchases(
        model, **history, periods=36, time_unit="weeks", period_unit="months"
    )
    discounted = forecast.discounted(horizons, rate)
    assert forecast.probability_alive == pytest.approx(model.probability_alive(**history))
    for customer, rfm in enumerate(zip(*history.values(), strict=True)):
        by_month = [model.expected_purchases(k * month, *rfm)[0] for k in range(37)]
        for k in (1, 12, 36):
            assert forecast.expected_purchases(k)[customer] == pytest.approx(by_month[k], rel=1e-12)
        for row, horizon in enumerate(horizons):
            by_hand = sum(
                (by_month[k] - by_month[k - 1]) / (1 + rate) ** (k - 1)
                for k in range(1, horizon + 1)
            )
            assert discounted[row, customer] == pytest.approx(by_hand, rel=1e-12)


def test_a_forecast_answers_only_for_the_periods_it_covers() -> None:
    forecast = forecast_purchases(
        BG, **HISTORY, periods=12, time_unit="weeks", period_unit="months"
    )
    with pytest.raises(ModelDataError, match="covers 12 periods; 13 periods is beyond it"):
        forecast.discounted((12, 13), 0.01)
    with pytest.raises(ModelDataError, match="horizon must be a whole number"):
        forecast.expected_purchases(-1)


def _series_term(r: float, b: float, c: float, z: float, x: float) -> float:
    """(1-z)^(r+x) 2F1(r+x, b+x; c; z) summed term by term in logarithms, so that a sum far
    beyond floating point (as for heavy buyers over a long horizon) is still exact."""
    big_a, big_b = r + x, b + x
    logs, log_term, n = [0.0], 0.0, 0
    while n < 10 or log_term > max(logs) - 50:  # until the terms are below 1e-22 of the top
        log_term += math.log((big_a + n) * (big_b + n) / ((c + n) * (n + 1)) * z)
        logs.append(log_term)
        n += 1
    top = max(logs)
    log_sum = top + math.log(math.fsum(math.exp(v - top) for v in logs))
    return math.exp((r + x) * math.log1p(-z) + log_sum)


@pytest.mark.parametrize(
    "x, t, overflows", [(2, 10.0, False), (60, 39.0, False), (400, 39.0, False), (400, 400.0, True)]
)
def test_expected_purchases_of_heavy_buyers_by_the_series_itself(x, t, overflows) -> None:
    """Where 2F1 overflows, Euler's transformation must give the series' value."""
    r, alpha, a, b = (BG.params[name] for name in ("r", "alpha", "a", "b"))
    age = 38.86
    z = t / (alpha + age + t)
    with np.errstate(all="ignore"):
        direct = (1 - z) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    assert np.isfinite(direct) != overflows
    bracket = 1 - _series_term(r, b, a + b + x - 1, z, x)
    alive = BG.probability_alive(x, age, age)
    expected = (a + b + x - 1) / (a - 1) * bracket * alive
    assert BG.expected_purchases(t, x, age, age) == pytest.approx(expected, rel=1e-9)


def _integrated_if_alive(
    r: float, alpha: float, a: float, b: float, t: float, x: float, age: float
) -> float:
    """E[Y(t) | alive] = int (1 - (1 + p t/(alpha+T))^-(r+x)) / p Beta(p; a, b+x) dp, by quad."""
    from scipy.integrate import quad
    from scipy.stats import beta as beta_distribution

    def integrand(p: float) -> float:
        return -math.expm1(-(r + x) * math.log1p(p * t / (alpha + age))) / p

    return quad(lambda p: integrand(p) * beta_distribution.pdf(p, a, b + x), 0, 1, limit=200)[0]


def test_expected_purchases_is_the_integral_over_the_drop_out_probability() -> None:
    """The hypergeometric form (FHL eq. 10) and the integral over p ~ Beta(a, b+x) of the
    Gamma-mixed (1 - exp(-lambda p t)) / p are one expectation."""
    r, alpha, a, b = (BG.params[name] for name in ("r", "alpha", "a", "b"))
    for x, t in ((0, 10.0), (2, 39.0), (7, 52.0)):
        alive = BG.probability_alive(x, 38.86 if x else 0.0, 38.86)
        integral = _integrated_if_alive(r, alpha, a, b, t, x, 38.86)
        assert BG.expected_purchases(t, x, 38.86 if x else 0.0, 38.86) == pytest.approx(
            alive * integral, rel=1e-6
        )


@pytest.mark.parametrize(
    "params", [(1e5, 2e5, 2.0, 30.0), (1e6, 1e6, 1.5, 400.0), (1e5, 1e5, 1.0, 20.0)]
)
def test_expected_purchases_stay_finite_towards_the_poisson_limit(params) -> None:
    """r, alpha -> infinity (one buying rate r/alpha): 2F1 overflows and a = 1 divides by 0
    in the closed form; the forecast is the integral over p, finite."""
    r, alpha, a, b = params
    model = BetaGeo.from_params(r=r, alpha=alpha, a=a, b=b)
    x, t_x, age = np.array([5.0, 100.0]), np.array([20.0, 150.0]), np.array([30.0, 160.0])
    forecast = model.expected_purchases(10.0, x, t_x, age)
    alive = model.probability_alive(x, t_x, age)
    expected = [
        alive[i] * _integrated_if_alive(r, alpha, a, b, 10.0, x[i], age[i]) for i in range(2)
    ]
    assert np.isfinite(forecast).all()
    assert forecast == pytest.approx(expected, rel=1e-6)
    assert model.expected_purchases_new_customer(np.array([1.0, 10.0])) == pytest.approx(
        [_integrated_if_alive(r, alpha, a, b, t, 0.0, 0.0) for t in (1.0, 10.0)], rel=1e-6
    )


def test_expected_purchases_near_the_no_drop_out_limit_are_finite_and_quiet() -> None:
    """b so large that the Gauss-Jacobi rule overflows (steady buyers at a million rows):
    the drop-out probability sits at its mean, a / (a + b + x), with no warning printed."""
    from clv_xl.models import BetaGeo

    model = BetaGeo.from_params(r=2.0, alpha=10.0, a=1.0, b=1e12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = model.expected_purchases(52.0, [0, 3, 40], [0.0, 20.0, 50.0], [60.0, 60.0, 60.0])
    rate = (2.0 + np.array([0, 3, 40])) / (10.0 + 60.0)  # Poisson: (r + x) / (alpha + T) a week
    assert np.isfinite(got).all()
    assert got == pytest.approx(rate * 52.0, rel=1e-3)


def test_a_customer_long_gone_is_forecast_zero_not_nan() -> None:
    """Drop-out so fast (mean lifetime 0.1 weeks) that P(alive) of a one-time buyer after
    5,000 weeks is 0 to rounding: the forecast is 0, not 0/0."""
    model = ParetoNBD.from_params(r=0.5, alpha=10.0, s=200.0, beta=20.0)
    assert model.probability_alive([0], [0], [5000])[0] == 0.0
    forecast = forecast_purchases(
        model, [0, 3], [0, 20], [5000, 30], periods=12, time_unit="weeks", period_unit="months"
    )
    expected = forecast.expected_purchases(12)
    assert np.isfinite(expected).all() and expected[0] == 0.0 and expected[1] >= 0
