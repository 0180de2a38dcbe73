"""Invalid data raises the library's exception naming the first bad row; valid but awkward
data (no drop-out, duplicated rows) fits without an exception."""

import numpy as np
import pandas as pd
import pytest

from clv_xl.errors import ClvError
from clv_xl.models import (
    BetaGeo,
    GammaGamma,
    ModelDataError,
    NotFittedError,
    ParetoNBD,
    ShiftedBetaGeo,
    predicted_clv,
)
from clv_xl.models.simulate import simulate_bg_nbd


@pytest.mark.parametrize("model", [BetaGeo, ParetoNBD])
@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1, -2, 0], [1, 2, 0], [5, 5, 5], "Row 2: frequency -2 is negative."),
        ([1, 2, 0], [1, 6, 0], [5, 5, 5], "Row 2: recency 6 is more than T 5."),
        ([1, 2, 0], [1, 2, 3], [5, 5, 5], "Row 3: recency 3 is above 0 but frequency is 0"),
        ([1, 2.5, 0], [1, 2, 0], [5, 5, 5], "Row 2: frequency 2.5 is not a whole number."),
        ([1, None, 0], [1, 2, 0], [5, 5, 5], "Row 2: frequency is missing or not a number."),
        ([1, 2], [1, 2, 0], [5, 5, 5], "must have the same length"),
    ],
)
def test_invalid_histories_name_the_first_bad_row(model, frequency, recency, T, message) -> None:  # noqa: N803
    with pytest.raises(ModelDataError, match=message.replace("(", r"\(")) as raised:
        model().fit(frequency, recency, T)
    assert isinstance(raised.value, ClvError) and isinstance(raised.value, ValueError)


def test_series_rows_are_named_by_their_index() -> None:
    index = pd.Index(["A", "B"], name="customer")
    with pytest.raises(ModelDataError, match=r"Customer 'B': recency 9 is more than T 5\."):
        BetaGeo().fit(pd.Series([1, 1], index), pd.Series([1, 9], index), pd.Series([5, 5], index))


def test_gamma_gamma_rejects_non_positive_spend_of_repeat_buyers() -> None:
    with pytest.raises(ModelDataError, match="Row 2: monetary_value 0 is not above 0"):
        GammaGamma().fit([1, 2, 0], [10.0, 0.0, 0.0])


def test_sbg_rejects_growing_survivors() -> None:
    with pytest.raises(ModelDataError, match="Row 3: survivors 700 is more than the 600"):
        ShiftedBetaGeo().fit([1000, 600, 700])


def test_predictions_need_parameters() -> None:
    with pytest.raises(NotFittedError, match="fit it to data first"):
        BetaGeo().probability_alive([1], [1], [2])


def test_bad_clv_arguments_are_named() -> None:
    bg = BetaGeo.from_params(r=0.2, alpha=4, a=0.8, b=2.4)
    spend = GammaGamma.from_params(p=6, q=4, gamma=15)
    arguments = {"frequency": [1], "recency": [1], "T": [2], "monetary_value": [10.0]}
    with pytest.raises(ModelDataError, match="time unit must be one of days, weeks"):
        predicted_clv(
            bg,
            spend,
            **arguments,
            horizon=12,
            discount_rate=0.01,
            time_unit="fortnights",
            horizon_unit="months",
        )
    with pytest.raises(ModelDataError, match="horizon must be a whole number"):
        predicted_clv(
            bg,
            spend,
            **arguments,
            horizon=1.5,
            discount_rate=0.01,
            time_unit="weeks",
            horizon_unit="months",
        )


def test_no_visible_drop_out_returns_the_boundary_estimate_with_a_warning() -> None:
    model = ShiftedBetaGeo().fit([500, 500, 500, 500])
    assert model.convergence.at_boundary
    assert any("edge of its range" in warning for warning in model.convergence.warnings)
    assert model.survival(3) == pytest.approx(1.0, abs=1e-4)


def test_bg_nbd_without_repeat_buyers_fits_with_an_edge_warning() -> None:
    """Without repeat purchases the likelihood prod (alpha/(alpha+T))^r has no maximum."""
    ages = np.array([10.0, 20.0, 30.0, 40.0])
    model = BetaGeo().fit([0, 0, 0, 0], [0, 0, 0, 0], ages)
    r, alpha = model.params["r"], model.params["alpha"]
    assert model.log_likelihood == pytest.approx(-r * np.log1p(ages / alpha).sum())
    assert model.convergence.at_boundary
    assert "No customer bought again" in model.convergence.warnings[0]


def test_bg_nbd_with_repeat_buyers_is_not_at_the_edge() -> None:
    data = simulate_bg_nbd(r=0.5, alpha=4, a=0.7, b=2.5, T=np.full(300, 30.0), seed=5)
    model = BetaGeo().fit(data["frequency"], data["recency"], data["T"])
    assert not model.convergence.at_boundary and not model.convergence.warnings


def test_weights_equal_repeated_rows() -> None:
    data = simulate_bg_nbd(r=0.5, alpha=4, a=0.7, b=2.5, T=np.full(300, 30.0), seed=5)
    data["recency"] = data["recency"].round()
    repeated = BetaGeo().fit(data["frequency"], data["recency"], data["T"])
    counted = data.value_counts(["frequency", "recency", "T"]).reset_index()
    weighted = BetaGeo().fit(
        counted["frequency"], counted["recency"], counted["T"], counted["count"]
    )
    assert weighted.log_likelihood == pytest.approx(repeated.log_likelihood, rel=1e-9)
    for name, value in repeated.params.items():
        assert weighted.params[name] == pytest.approx(value, rel=1e-4)


@pytest.mark.parametrize(
    "params",
    [[0.3, 5.0, 0.9, 2.0], [8e5, 8e5 / 0.2, 3e5, 3e5 / 0.05]],
    ids=["inside", "next to the limits"],
)
def test_bg_nbd_gradient_matches_finite_differences(params: list[float]) -> None:
    """The weighted BG/NBD log-likelihood and the exact gradient used by the optimiser
    against the per-customer log-likelihood and its central differences (steps 1e-5 in
    log p). Next to the limits (r and a, b near a million: one buying rate and one drop-out
    chance for all) alpha^r, G(r+x)/G(r) and the beta functions are each about 1e7 in size:
    their rounding, summed over customers, would be noise that stops the line searches
    there."""
    from clv_xl.models._data import Levels
    from clv_xl.models.beta_geo import row_log_likelihood, weighted_terms

    history = simulate_bg_nbd(r=0.5, alpha=4, a=0.7, b=2.5, T=np.full(500, 30.0), seed=4)
    data = {name: Levels.of(history[name].to_numpy()) for name in ("frequency", "recency", "T")}
    weights = np.random.default_rng(5).integers(20, 60, 500).astype(float)  # 20,000 customers
    point = np.array(params)

    def summed(p: np.ndarray) -> float:
        return float(np.sum(weights * row_log_likelihood(tuple(p), data)))

    total, exact = weighted_terms(tuple(point), data, weights)
    assert total == pytest.approx(summed(point), rel=1e-12)
    numeric = []
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-5
        numeric.append((summed(point * np.exp(step)) - summed(point * np.exp(-step))) / 2e-5)
    assert point * exact == pytest.approx(numeric, rel=1e-3, abs=1e-3)


def test_gamma_gamma_gradient_matches_finite_differences() -> None:
    """The Gamma-Gamma weighted log-likelihood and its exact gradient, summed per distinct x,
    against the per-customer log-likelihood and scipy's finite differences of it."""
    from scipy.optimize import approx_fprime

    from clv_xl.models._data import Levels
    from clv_xl.models.gamma_gamma import row_log_likelihood, weighted_terms

    rng = np.random.default_rng(6)
    frequency = rng.integers(1, 12, 400).astype(float)
    monetary = rng.gamma(4.0, 1 / rng.gamma(5.0, 1 / 80.0, 400))
    weights = rng.integers(1, 4, 400).astype(float)
    data = {"frequency": Levels.of(frequency), "monetary_value": monetary}
    params = np.array([3.0, 4.0, 60.0])

    def summed(p: np.ndarray) -> float:
        return float(np.sum(weights * row_log_likelihood(tuple(p), data)))

    total, exact = weighted_terms(tuple(params), data, weights)
    assert total == pytest.approx(summed(params), rel=1e-12)
    assert exact == pytest.approx(approx_fprime(params, summed, 1e-6), rel=1e-4)


def test_a_fit_along_a_ridge_ends_within_its_evaluation_budget() -> None:
    """The log-likelihood keeps rising along p1 = p2 towards the edge: no maximum inside.
    The likelihood is evaluated at most the budget per start (plus the Hessian's and the
    limits' few), and the end point is reported, not an error."""
    from clv_xl.models._mle import EVALUATION_BUDGET, maximise

    calls = [0]

    def ridge(params: np.ndarray) -> float:
        calls[0] += 1
        log_p = np.log(params)
        return float(-1e4 * (log_p[0] - log_p[1]) ** 2 + 1e-3 * log_p[0])

    starts = ((1.0, 2.0), (0.5, 0.3), (3.0, 1.0))
    fit = maximise(ridge, ("p1", "p2"), starts, 1.0, "ridge")
    hessian_and_limits = 1 + 2 * 2 + 4 + 2
    assert calls[0] <= len(starts) * (EVALUATION_BUDGET + 30) + hessian_and_limits
    assert np.isfinite(fit.log_likelihood)


def test_a_later_start_stops_where_it_reaches_an_earlier_end() -> None:
    """Along a ridge towards a bound, a second start stops at the first iteration within
    RIDGE_AGREEMENT of where the first ended (gaining less than that), converged, instead
    of taking the ridge's many short last steps again. (The ridge is gentle enough that a
    run without an earlier end reaches the bound before L-BFGS-B's own relative-gain rule
    stops it on any processor; a sharper one, 1e2, stops short of the band on some.)"""
    from clv_xl.models._mle import RIDGE_AGREEMENT, _run_from

    def ridge(theta: np.ndarray) -> tuple[float, np.ndarray]:
        along = np.exp(-theta[0])
        value = 1e1 * (theta[0] - theta[1]) ** 2 + along
        slope = 2e1 * (theta[0] - theta[1]) * np.array([1.0, -1.0]) + np.array([-along, 0.0])
        return float(value), slope

    def objective(theta: np.ndarray) -> float:
        return ridge(theta)[0]

    first = _run_from(objective, np.array([0.5, 0.0]), ridge)
    again = _run_from(objective, np.array([-1.0, 0.2]), ridge)
    settled = _run_from(objective, np.array([-1.0, 0.2]), ridge, earlier_end=first.value)
    assert abs(again.value - first.value) <= RIDGE_AGREEMENT / 10  # both reach the bound
    assert settled.converged
    assert abs(settled.value - first.value) <= RIDGE_AGREEMENT
    assert settled.iterations < again.iterations
    assert again.value < settled.value  # it did stop before the end


def test_a_later_start_that_passes_an_earlier_end_goes_on_to_its_own() -> None:
    """Crawling a ridge towards a bound (the objective e^-theta), a run given an earlier end
    either stops short of it (within RIDGE_AGREEMENT) or, having passed it, goes on to the
    end of its own ridge: it never stops past an earlier end that it has beaten."""
    from clv_xl.models._mle import RIDGE_AGREEMENT, _run_from

    def ridge(theta: np.ndarray) -> tuple[float, np.ndarray]:
        along = np.exp(-theta[0])
        return float(along + theta[1] ** 2), np.array([-along, 2.0 * theta[1]])

    def objective(theta: np.ndarray) -> float:
        return ridge(theta)[0]

    alone = _run_from(objective, np.array([0.0, 1.0]), ridge)
    for earlier_end in np.geomspace(1e-7, 1e-3, 200):
        run = _run_from(objective, np.array([0.0, 1.0]), ridge, earlier_end=earlier_end)
        short = earlier_end <= run.value <= earlier_end + RIDGE_AGREEMENT
        assert short or run.value == pytest.approx(alone.value, abs=1e-12)


def test_nbd_gradient_matches_finite_differences() -> None:
    from scipy.optimize import approx_fprime

    from clv_xl.models._data import Levels
    from clv_xl.models.no_drop_out import row_gradient, row_log_likelihood

    history = simulate_bg_nbd(r=0.5, alpha=4, a=0.7, b=2.5, T=np.full(500, 30.0), seed=4)
    data = {name: Levels.of(history[name].to_numpy()) for name in ("frequency", "T")}
    params = np.array([0.8, 3.0])
    exact = row_gradient(tuple(params), data).sum(axis=0)
    numeric = approx_fprime(params, lambda p: row_log_likelihood(tuple(p), data).sum(), 1e-7)
    assert exact == pytest.approx(numeric, rel=1e-5)


def test_no_drop_out_is_the_nbd_limit_and_drop_out_keeps_the_family() -> None:
    """Customers of one Gamma(r, alpha) rate mix, never leaving: the NBD limit wins, with
    BG/NBD's likelihood no higher than the NBD's plus its two extra parameters' worth; NBD
    estimates recover the truth. BG/NBD data keep BG/NBD."""
    from clv_xl.models.no_drop_out import NBD
    from clv_xl.models.purchase_choice import fit_purchases

    rng = np.random.default_rng(3)
    ages = rng.uniform(10, 100, 3000)
    rates = rng.gamma(2.0, 1 / 4.0, 3000)  # r = 2, alpha = 4
    frequency = rng.poisson(rates * ages).astype(float)
    recency = np.where(frequency > 0, ages * rng.random(3000) ** (1 / np.maximum(frequency, 1)), 0)
    (staying,) = fit_purchases(["BG/NBD"], frequency, recency, ages).values()
    assert isinstance(staying.model, NBD) and staying.at_limit
    assert "No drop-out is visible in the data" in staying.note
    assert staying.model.params["r"] == pytest.approx(2.0, rel=0.15)
    assert staying.model.params["alpha"] == pytest.approx(4.0, rel=0.15)
    family = next(c for c in staying.candidates if c.name == "BG/NBD")
    assert family.log_likelihood <= staying.model.log_likelihood + 2.0
    data = simulate_bg_nbd(r=0.5, alpha=4, a=0.7, b=2.5, T=np.full(2000, 30.0), seed=5)
    (leaving,) = fit_purchases(["BG/NBD"], data["frequency"], data["recency"], data["T"]).values()
    assert isinstance(leaving.model, BetaGeo) and leaving.note == ""


def _alike_spenders(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2,000 customers with 0-5 repeat purchases, every spend drawn from one Gamma(p = 4,
    scale 20) (mean 80): customers differ in their mean spend by chance alone. The
    frequencies, mean spends and every spend."""
    rng = np.random.default_rng(seed)
    frequency = rng.integers(0, 6, size=2000).astype(float)
    spends = [rng.gamma(4.0, 20.0, size=int(x)) for x in frequency]
    monetary = np.array([s.mean() if len(s) else 0.0 for s in spends])
    return frequency, monetary, np.concatenate(spends)


def test_customers_who_spend_alike_get_the_mean_of_all() -> None:
    """Gamma-Gamma's heterogeneity q runs to its edge (seed 0): the limit of customers alike,
    the mean of every repeat purchase for every customer, with the standard error of a mean
    of all the purchases (sd / sqrt(purchases) of the simulated spends)."""
    from clv_xl.models.spend_choice import CommonMeanSpend, fit_spend

    frequency, monetary, spends = _alike_spenders(0)
    spend = fit_spend(frequency, monetary)
    assert isinstance(spend.model, CommonMeanSpend)
    assert "differ no more than chance" in spend.note
    assert spend.model.mean_spend() == pytest.approx(spends.mean(), rel=1e-12)
    assert spend.model.expected_spend([0, 1, 5], [0, 10.0, 200.0]) == pytest.approx(
        [spends.mean()] * 3
    )
    truth = spends.std(ddof=1) / np.sqrt(len(spends))
    assert spend.model.standard_errors["mean_spend"] == pytest.approx(truth, rel=0.1)


@pytest.mark.parametrize("seed", range(4))
def test_alike_spenders_are_expected_to_spend_the_mean_whichever_model_is_kept(seed) -> None:
    """Whether q ends at its edge (the limit) or inside it (Gamma-Gamma kept), a customer whose
    five purchases averaged 200 is expected to spend nearer the mean of all (about 80) than
    their own mean: the old rule took any edge for spends that hardly vary and gave 200."""
    from clv_xl.models.spend_choice import fit_spend

    frequency, monetary, spends = _alike_spenders(seed)
    expected = fit_spend(frequency, monetary).model.expected_spend([5.0], [200.0])[0]
    assert abs(expected - spends.mean()) < abs(expected - 200.0)


def test_identical_spends_use_each_customers_own_mean() -> None:
    """60 customers, every order EUR 25 (Gamma-Gamma's shape runs to its edge): the limit,
    each repeat customer's own mean, and the purchase-weighted mean for the others."""
    from clv_xl.models.spend_choice import OwnMeanSpend, fit_spend

    frequency = np.tile([0.0, 1.0, 2.0, 5.0], 15)
    spend = fit_spend(frequency, np.where(frequency > 0, 25.0, 0.0))
    assert isinstance(spend.model, OwnMeanSpend)
    assert "hardly vary" in spend.note and "own mean per purchase" in spend.note
    assert spend.model.expected_spend([0, 3], [0, 25.0]) == pytest.approx([25.0, 25.0])
    varied = np.where(frequency > 0, 20 + 10 * (np.arange(60) % 3), 0.0)
    weighted = np.sum(frequency * varied) / frequency.sum()
    own = OwnMeanSpend().fit(frequency, varied)
    assert own.mean_spend() == pytest.approx(weighted)
    assert own.expected_spend([0, 2], [0, 40.0]) == pytest.approx([weighted, 40.0])
