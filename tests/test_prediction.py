"""Predicted CLV and the calibration/holdout check, against independent computations.

The orders are drawn from the BG/NBD story (clv_xl.models.simulate) and Gamma-Gamma spend,
then every figure is recomputed here from the order lines with plain Python: the customers'
histories by a loop over the lines, the forecasts from the models' own methods, the CLV
by a month-by-month loop and the tracking curve by counting.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from clv_xl.analysis.forecast_ranges import (
    INTERVAL_COLUMNS,
    Verdict,
    intervals_by_groupings,
    no_forecast,
    verdicts_by_group,
)
from clv_xl.analysis.holdout_check import HOLDOUT_COLUMNS, TRACKING_COLUMNS
from clv_xl.analysis.prediction import (
    CUSTOMER_COLUMNS,
    FIT_COLUMNS,
    PARAMETER_COLUMNS,
    Prediction,
    predict,
)
from clv_xl.errors import InputError
from clv_xl.models import BetaGeo, GammaGamma, ModelDataError, ParetoNBD
from clv_xl.models.clv import predicted_clv
from clv_xl.models.purchase_choice import fit_purchases
from clv_xl.models.rfm import NOT_PURCHASE
from clv_xl.models.simulate import simulate_bg_nbd
from clv_xl.orders.load import load_orders
from clv_xl.templates.sample import sample_orders

AS_OF = dt.date(2024, 12, 31)
END = pd.Timestamp(AS_OF)
TRUTH = {"r": 0.6, "alpha": 8.0, "a": 0.7, "b": 2.5}  # alpha in weeks
SPEND_TRUTH = {"p": 4.0, "q": 5.0, "gamma": 80.0}
CUSTOMERS = 4000
SPAN_DAYS = 3 * 365
REFUNDS = 150
MONTH_WEEKS = 365.25 / 12 / 7
MONTHLY_RATE = 0.008


def simulated_lines(customers: int, seed: int) -> pd.DataFrame:
    """Order lines of BG/NBD customers: first purchase 1..SPAN_DAYS days before AS_OF.

    simulate_bg_nbd (times in days) gives each customer's repeat purchases x and the time
    t_x of the last; the other x - 1 fall uniformly before it (a Poisson process given
    its count). Times become whole days, rounded up so a repeat is never on the first day.
    Each purchase is worth Gamma(p, nu), nu ~ Gamma(q, gamma) per customer.
    """
    rng = np.random.default_rng(seed)
    age_days = rng.integers(1, SPAN_DAYS + 1, customers)
    in_days = {**TRUTH, "alpha": TRUTH["alpha"] * 7}
    history = simulate_bg_nbd(**in_days, T=age_days, seed=seed)
    frequency = history["frequency"].to_numpy().astype(int)
    owner = np.repeat(np.arange(customers), frequency)
    last = np.repeat(history["recency"].to_numpy(), frequency)
    is_last = np.zeros(len(owner), dtype=bool)
    is_last[np.cumsum(frequency)[frequency > 0] - 1] = True
    repeat_days = np.ceil(np.where(is_last, last, last * rng.random(len(owner))))
    owner = np.concatenate([np.arange(customers), owner])
    day = np.concatenate([np.zeros(customers), repeat_days]).astype(int)
    nu = rng.gamma(SPEND_TRUTH["q"], 1 / SPEND_TRUTH["gamma"], customers)
    amount = np.round(rng.gamma(SPEND_TRUTH["p"], 1 / nu[owner]), 2)
    first = END - pd.to_timedelta(age_days, unit="D")
    lines = pd.DataFrame(
        {
            "customer": [f"C{number:05d}" for number in owner],
            "date": first[owner] + pd.to_timedelta(day, unit="D"),
            "amount": amount,
        }
    )
    refunded = rng.choice(len(lines), REFUNDS, replace=False)
    refunds = lines.iloc[refunded].assign(amount=lambda frame: -frame["amount"] / 2)
    lines = pd.concat([lines, refunds], ignore_index=True)
    lines["margin_amount"] = np.nan
    lines["row"] = np.arange(2, len(lines) + 2)
    return lines


def histories(lines: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """x, t_x, T (weeks), m_x and the purchases after ``end``, by a loop over the lines.

    A purchase is a day with orders of amount 0 or more (summed); customers first buying
    after ``end`` are left out.
    """
    spent: dict[str, dict[pd.Timestamp, float]] = defaultdict(lambda: defaultdict(float))
    for customer, date, amount in lines[["customer", "date", "amount"]].itertuples(index=False):
        if amount >= 0:
            spent[customer][date] += amount
    rows = {}
    for customer, by_day in spent.items():
        days = sorted(by_day)
        before = [day for day in days if day <= end]
        if not before:
            continue
        repeats = before[1:]
        rows[customer] = {
            "frequency": float(len(repeats)),
            "recency": (before[-1] - before[0]).days / 7,
            "T": (end - before[0]).days / 7,
            "monetary_value": sum(by_day[d] for d in repeats) / len(repeats) if repeats else 0.0,
            "after": float(len(days) - len(before)),
            "first": before[0],
            "repeat_days": repeats + days[len(before) :],
        }
    return pd.DataFrame.from_dict(rows, orient="index").sort_index().rename_axis("customer")


def fitted_models(prediction: Prediction, model: str) -> dict[str, float]:
    table = prediction.parameters
    rows = table[table["model"] == model]
    return dict(zip(rows["parameter"], rows["estimate"], strict=True))


@pytest.fixture(scope="module")
def lines() -> pd.DataFrame:
    return simulated_lines(CUSTOMERS, seed=3)


@pytest.fixture(scope="module")
def margins(lines: pd.DataFrame) -> pd.Series:
    customers = np.sort(lines["customer"].unique())
    return pd.Series(np.random.default_rng(9).uniform(0.2, 0.5, len(customers)), customers)


@pytest.fixture(scope="module")
def prediction(lines: pd.DataFrame, margins: pd.Series) -> Prediction:
    return predict(lines, AS_OF, margin=margins, monthly_discount_rate=MONTHLY_RATE)


@pytest.fixture(scope="module")
def full_history(lines: pd.DataFrame) -> pd.DataFrame:
    return histories(lines, END)


@pytest.fixture(scope="module")
def calibration_history(lines: pd.DataFrame, prediction: Prediction) -> pd.DataFrame:
    return histories(lines, pd.Timestamp(prediction.calibration_end))


def test_the_fit_recovers_the_simulation_parameters(prediction: Prediction) -> None:
    assert prediction.fitted and prediction.reason == ""
    table = prediction.parameters.set_index(["model", "parameter"])
    truths = {("BG/NBD", k): v for k, v in TRUTH.items()}
    truths |= {("Gamma-Gamma", k): v for k, v in SPEND_TRUTH.items()}
    for key, truth in truths.items():
        estimate, se = table.loc[key, ["estimate", "std_error"]]
        assert abs(estimate - truth) <= 3 * se, (key, estimate, se)
    assert table.loc[("BG/NBD", "alpha"), "unit"] == "weeks"
    assert table.loc[("Gamma-Gamma", "gamma"), "unit"] == "currency"


def test_the_fits_are_the_models_fitted_to_the_customers_histories(
    prediction: Prediction, full_history: pd.DataFrame, calibration_history: pd.DataFrame
) -> None:
    rfm = (full_history["frequency"], full_history["recency"], full_history["T"])
    purchases = BetaGeo().fit(*rfm)
    repeat = full_history[full_history["frequency"] > 0]
    spend = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
    calibration_rfm = [calibration_history[k] for k in ("frequency", "recency", "T")]
    expected = {
        "BG/NBD": purchases,
        "Gamma-Gamma": spend,
        "BG/NBD (calibration period)": BetaGeo().fit(*calibration_rfm),
        "Pareto/NBD (calibration period)": ParetoNBD().fit(*calibration_rfm),
    }
    assert prediction.family == "BG/NBD"
    summary = prediction.fit_summary.set_index("model")
    for name, model in expected.items():
        # Same data, same maximum, up to the optimiser's tolerance.
        assert fitted_models(prediction, name) == pytest.approx(model.params, rel=1e-6)
        assert summary.loc[name, "log_likelihood"] == pytest.approx(model.log_likelihood, rel=1e-9)
    assert list(prediction.fit_summary.columns) == list(FIT_COLUMNS)
    assert summary["customers"].to_dict() == {
        "BG/NBD": len(full_history),
        "Gamma-Gamma": len(repeat),
        "BG/NBD (calibration period)": len(calibration_history),
        "Pareto/NBD (calibration period)": len(calibration_history),
    }
    assert summary["converged"].all() and not summary["at_boundary"].any()


def test_customer_forecasts_are_the_models_own_predictions(
    prediction: Prediction, full_history: pd.DataFrame
) -> None:
    purchases = BetaGeo.from_params(**fitted_models(prediction, "BG/NBD"))
    spend = GammaGamma.from_params(**fitted_models(prediction, "Gamma-Gamma"))
    rfm = (full_history["frequency"], full_history["recency"], full_history["T"])
    customers = prediction.customers
    assert list(customers.columns) == list(CUSTOMER_COLUMNS)
    assert customers.index.equals(full_history.index)
    assert customers["prob_alive"].to_numpy() == pytest.approx(purchases.probability_alive(*rfm))
    year = 12 * MONTH_WEEKS
    assert customers["expected_purchases_12m"].to_numpy() == pytest.approx(
        purchases.expected_purchases(year, *rfm), rel=1e-9
    )
    assert customers["expected_spend"].to_numpy() == pytest.approx(
        spend.expected_spend(full_history["frequency"], full_history["monetary_value"])
    )


def test_predicted_clv_is_margin_times_spend_times_discounted_purchases(
    prediction: Prediction, full_history: pd.DataFrame, margins: pd.Series
) -> None:
    """By a plain loop over customers and months: each month's expected purchases at the
    month's start discount (the next month now), a month being 365.25/12 days."""
    purchases = BetaGeo.from_params(**fitted_models(prediction, "BG/NBD"))
    spend = GammaGamma.from_params(**fitted_models(prediction, "Gamma-Gamma"))
    for customer, row in full_history.iloc[::200].iterrows():
        history = (row["frequency"], row["recency"], row["T"])
        per_purchase = spend.expected_spend(row["frequency"], row["monetary_value"])[0]
        value, before = {}, 0.0
        discounted = 0.0
        for month in range(1, 37):
            by_then = purchases.expected_purchases(month * MONTH_WEEKS, *history)[0]
            discounted += (by_then - before) / (1 + MONTHLY_RATE) ** (month - 1)
            before = by_then
            value[month] = margins[customer] * per_purchase * discounted
        forecast = prediction.customers.loc[customer]
        assert forecast["predicted_clv_12m"] == pytest.approx(value[12], rel=1e-9)
        assert forecast["predicted_clv_36m"] == pytest.approx(value[36], rel=1e-9)


def test_the_holdout_is_the_last_third_in_whole_weeks(
    prediction: Prediction, lines: pd.DataFrame
) -> None:
    span = (END - lines.loc[lines["amount"] >= 0, "date"].min()).days
    assert prediction.holdout_weeks == span // 3 // 7
    assert END - pd.Timestamp(prediction.calibration_end) == pd.Timedelta(
        weeks=prediction.holdout_weeks
    )
    assert prediction.time_unit == "weeks" and prediction.validation_reason == ""


def test_holdout_table_counts_and_forecasts(
    prediction: Prediction, calibration_history: pd.DataFrame
) -> None:
    table = prediction.holdout.set_index("frequency_group")
    assert list(prediction.holdout.columns) == list(HOLDOUT_COLUMNS)
    assert list(table.index) == ["0", "1", "2", "3", "4", "5", "6", "7+", "All"]
    model = BetaGeo.from_params(**fitted_models(prediction, "BG/NBD (calibration period)"))
    h = calibration_history
    forecast = model.expected_purchases(
        prediction.holdout_weeks, h["frequency"], h["recency"], h["T"]
    )
    for label in table.index:
        if label == "All":
            members = np.ones(len(h), dtype=bool)
        elif label == "7+":
            members = (h["frequency"] >= 7).to_numpy()
        else:
            members = (h["frequency"] == int(label)).to_numpy()
        row = table.loc[label]
        assert row["customers"] == members.sum()
        assert row["actual"] == h["after"][members].sum()
        assert row["predicted"] == pytest.approx(forecast[members].sum(), rel=1e-9)
        assert row["predicted_per_customer"] == pytest.approx(row["predicted"] / members.sum())


def test_the_holdout_forecast_is_close_to_what_customers_bought(prediction: Prediction) -> None:
    """Within 10% in total (the calibration fit's own uncertainty moves the forecast by
    about 5% between seeds) and 25% in the groups of at least 150 customers."""
    table = prediction.holdout.set_index("frequency_group")
    total = table.loc["All"]
    assert total["predicted"] == pytest.approx(total["actual"], rel=0.1)
    for label, row in table.iterrows():
        if row["customers"] >= 150:
            assert row["predicted"] == pytest.approx(row["actual"], rel=0.25), label


def test_tracking_curve_counts_repeat_purchases_and_sums_new_customer_forecasts(
    prediction: Prediction, full_history: pd.DataFrame
) -> None:
    tracking = prediction.tracking
    assert list(tracking.columns) == list(TRACKING_COLUMNS)
    assert tracking["week_end"].iloc[-1] == END
    assert (tracking["week_end"].diff().dropna() == pd.Timedelta(days=7)).all()
    assert tracking["week_end"].iloc[0] - full_history["first"].min() < pd.Timedelta(days=7)
    holdout = tracking["week_end"] > pd.Timestamp(prediction.calibration_end)
    assert (tracking["period"] == np.where(holdout, "holdout", "calibration")).all()
    assert holdout.sum() == prediction.holdout_weeks
    model = BetaGeo.from_params(**fitted_models(prediction, "BG/NBD (calibration period)"))
    all_repeat_days = [day for days in full_history["repeat_days"] for day in days]
    for _, week in tracking.iloc[::25].iterrows():
        end = week["week_end"]
        assert week["actual"] == sum(day <= end for day in all_repeat_days)
        acquired = full_history["first"][full_history["first"] <= end]
        ages = (end - acquired).dt.days / 7
        expected = model.expected_purchases_new_customer(ages.to_numpy()).sum()
        assert week["predicted"] == pytest.approx(expected, rel=1e-9)


def test_tracking_curve_follows_the_actual_purchases(prediction: Prediction) -> None:
    late = prediction.tracking[prediction.tracking["actual"] >= 1000]
    assert late["predicted"].to_numpy() == pytest.approx(late["actual"].to_numpy(), rel=0.06)


def test_the_order_of_the_lines_does_not_matter(
    prediction: Prediction, lines: pd.DataFrame, margins: pd.Series
) -> None:
    """The check sorts the lines by customer and day; shuffled lines give the same results
    (same-day amounts summed in another order move the spend fit by rounding only)."""
    shuffled = lines.sample(frac=1.0, random_state=4)
    again = predict(shuffled, AS_OF, margin=margins, monthly_discount_rate=MONTHLY_RATE)
    pd.testing.assert_frame_equal(again.customers, prediction.customers, rtol=1e-6)
    pd.testing.assert_frame_equal(again.tracking, prediction.tracking, rtol=1e-12)
    pd.testing.assert_frame_equal(again.holdout, prediction.holdout, rtol=1e-12)


def test_a_start_ending_in_a_failed_line_search_does_not_fail_the_fit() -> None:
    """On these customers the Gamma-Gamma fit's first start stops with L-BFGS-B's failed
    line search ("ABNORMAL") a rounding error below the maximum the other two starts
    converge to: the fit is that maximum, converged."""
    prediction = predict(
        simulated_lines(1000, seed=3), AS_OF, margin=0.3, monthly_discount_rate=MONTHLY_RATE
    )
    assert prediction.fitted, prediction.reason
    assert prediction.fit_summary["converged"].all()


def test_refunds_are_reported_and_do_not_change_the_forecasts(
    prediction: Prediction, lines: pd.DataFrame, margins: pd.Series
) -> None:
    assert prediction.excluded_rows == {NOT_PURCHASE: REFUNDS}
    purchases_only = predict(
        lines[lines["amount"] >= 0], AS_OF, margin=margins, monthly_discount_rate=MONTHLY_RATE
    )
    pd.testing.assert_frame_equal(purchases_only.customers, prediction.customers)
    assert purchases_only.excluded_rows == {}


def test_one_margin_for_everyone(
    lines: pd.DataFrame, prediction: Prediction, margins: pd.Series
) -> None:
    flat = predict(lines, AS_OF, margin=0.5, monthly_discount_rate=MONTHLY_RATE)
    for column in ("predicted_clv_12m", "predicted_clv_36m"):
        assert flat.customers[column].to_numpy() == pytest.approx(
            (prediction.customers[column] / margins * 0.5).to_numpy()
        )


def test_customers_with_only_free_repeat_purchases_get_the_average_spend(
    lines: pd.DataFrame, full_history: pd.DataFrame
) -> None:
    chosen = full_history[full_history["frequency"] > 0].head(3)
    first = chosen["first"].reindex(lines["customer"]).to_numpy()
    free = (lines["date"] > first).to_numpy()  # False for other customers (NaT)
    prediction = predict(
        lines.assign(amount=lines["amount"].mask(free, 0.0)),
        AS_OF,
        margin=0.3,
        monthly_discount_rate=MONTHLY_RATE,
    )
    spend = GammaGamma.from_params(**fitted_models(prediction, "Gamma-Gamma"))
    forecast = prediction.customers.loc[chosen.index, "expected_spend"]
    assert forecast.to_numpy() == pytest.approx(spend.mean_spend())
    summary = prediction.fit_summary.set_index("model").loc["Gamma-Gamma"]
    assert "3 customers bought again only for an amount of 0" in summary["warnings"]
    assert summary["customers"] == (full_history["frequency"] > 0).sum() - 3


def interval_by_group(prediction: Prediction, groups: pd.Series, *args, **options) -> pd.DataFrame:
    """The interval table of one grouping."""
    (table,) = intervals_by_groupings(
        prediction, groups.to_frame("group"), *args, **options
    ).values()
    return table


def assert_not_fitted(prediction: Prediction, reason: str) -> None:
    assert not prediction.fitted
    assert reason in prediction.reason
    frames = {
        "customers": CUSTOMER_COLUMNS,
        "parameters": PARAMETER_COLUMNS,
        "fit_summary": FIT_COLUMNS,
        "tracking": TRACKING_COLUMNS,
        "holdout": HOLDOUT_COLUMNS,
    }
    for name, columns in frames.items():
        frame = getattr(prediction, name)
        assert frame.empty and list(frame.columns) == list(columns), name


def test_too_few_customers_is_not_fitted(lines: pd.DataFrame) -> None:
    few = lines[lines["customer"] < "C00030"]
    prediction = predict(few, AS_OF, margin=0.3, monthly_discount_rate=MONTHLY_RATE)
    assert_not_fitted(
        prediction, "The purchase model needs at least 50 customers; 30 bought up to 2024-12-31."
    )
    assert prediction.customers.index.name == "customer"


def test_too_few_repeat_customers_is_not_fitted() -> None:
    customers = [f"C{k}" for k in range(100)] + ["C1", "C2", "C3"]
    dates = pd.to_datetime(["2024-01-01"] * 100 + ["2024-06-01"] * 3)
    thin = pd.DataFrame({"customer": customers, "date": dates, "amount": 10.0})
    prediction = predict(thin, AS_OF, margin=0.3, monthly_discount_rate=MONTHLY_RATE)
    assert_not_fitted(
        prediction, "needs at least 10 repeat customers; 3 bought again up to 2024-12-31."
    )


def test_no_purchases_at_all_is_not_fitted(lines: pd.DataFrame) -> None:
    refunds = lines[lines["amount"] < 0]
    prediction = predict(refunds, AS_OF, margin=0.3, monthly_discount_rate=MONTHLY_RATE)
    assert_not_fitted(prediction, "0 bought")
    assert prediction.excluded_rows == {NOT_PURCHASE: REFUNDS}


def test_no_visible_drop_out_is_fitted_at_its_limit_and_said_so() -> None:
    """Every customer buys every week up to the analysis date: no drop-out, one rate. The
    forecast is the Poisson limit's, rate = repeat purchases / weeks since the first
    purchase over all customers (computed here from the lines), with a plain sentence."""
    rng = np.random.default_rng(1)
    starts = rng.integers(30, 400, 200)
    customer = np.repeat([f"C{k}" for k in range(200)], starts // 7 + 1)
    days_back = np.concatenate([np.arange(start, -1, -7) for start in starts])
    regular = pd.DataFrame(
        {
            "customer": customer,
            "date": END - pd.to_timedelta(days_back, unit="D"),
            "amount": 10 + rng.random(len(customer)),
        }
    )
    prediction = predict(regular, AS_OF, margin=0.3, monthly_discount_rate=MONTHLY_RATE)
    assert prediction.fitted, prediction.reason
    assert prediction.purchase_model.startswith("Poisson")
    assert any("No drop-out is visible in the data" in note for note in prediction.notes)
    summary = prediction.fit_summary.set_index("model")
    assert "No drop-out is visible" in summary.loc[prediction.purchase_model, "warnings"]
    rate = (starts // 7).sum() / (starts / 7).sum()  # repeat purchases per week
    customers = prediction.customers
    assert customers["prob_alive"].to_numpy() == pytest.approx(1.0)
    assert customers["expected_purchases_12m"].to_numpy() == pytest.approx(rate * 12 * MONTH_WEEKS)
    assert np.isfinite(customers.to_numpy()).all() and (customers["predicted_clv_36m"] > 0).all()
    total = prediction.holdout.set_index("frequency_group").loc["All"]
    assert total["predicted"] == pytest.approx(total["actual"], rel=0.15)


def test_a_holdout_shorter_than_a_week_skips_the_check(lines: pd.DataFrame) -> None:
    prediction = predict(
        lines, AS_OF, margin=0.3, monthly_discount_rate=MONTHLY_RATE, holdout_fraction=0.005
    )
    assert prediction.fitted
    assert "too short to hold out whole weeks" in prediction.validation_reason
    assert prediction.tracking.empty and prediction.holdout.empty
    # Without a check both families are fitted to the whole history; the lower AIC is kept.
    fits = prediction.fit_summary.set_index("model")
    other = next(name for name in ("BG/NBD", "Pareto/NBD") if name != prediction.family)
    assert list(fits.index) == [
        prediction.family,
        "Gamma-Gamma",
        f"{other} (whole history, not chosen)",
    ]
    aic = 8 - 2 * fits["log_likelihood"]
    assert aic[prediction.family] < aic[f"{other} (whole history, not chosen)"]
    assert any(
        note.startswith(f"Without a holdout check, {prediction.family} was kept")
        for note in prediction.notes
    )


def test_a_thin_calibration_period_skips_the_check(lines: pd.DataFrame) -> None:
    prediction = predict(
        lines, AS_OF, margin=0.3, monthly_discount_rate=MONTHLY_RATE, holdout_fraction=0.995
    )
    assert prediction.fitted
    assert "in the calibration period (up to" in prediction.validation_reason
    assert prediction.holdout.empty and list(prediction.holdout.columns) == list(HOLDOUT_COLUMNS)


def test_a_missing_customer_margin_is_named(lines: pd.DataFrame, margins: pd.Series) -> None:
    with pytest.raises(InputError, match=r"The margin of customer 'C00000' is missing"):
        predict(lines, AS_OF, margin=margins.drop("C00000"), monthly_discount_rate=0.01)


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_the_holdout_fraction_must_be_a_fraction(lines: pd.DataFrame, fraction: float) -> None:
    with pytest.raises(InputError, match="holdout fraction must be between 0 and 1"):
        predict(lines, AS_OF, margin=0.3, monthly_discount_rate=0.01, holdout_fraction=fraction)


def test_a_missing_customer_names_its_row(lines: pd.DataFrame) -> None:
    broken = lines.head(100).astype({"customer": object})
    broken.loc[5, "customer"] = None
    with pytest.raises(ModelDataError, match=r"Orders row 6 \(index 5\): the customer is missing"):
        predict(broken, AS_OF, margin=0.3, monthly_discount_rate=0.01)


def test_the_bundled_sample_fits_and_forecasts_its_holdout() -> None:
    orders = load_orders(sample_orders(customers=3000), as_of=dt.date(2026, 1, 1))
    as_of = orders.lines["date"].max().date()
    prediction = predict(orders.lines, as_of, margin=0.3, monthly_discount_rate=MONTHLY_RATE)
    assert prediction.fitted and prediction.validation_reason == ""
    assert not prediction.fit_summary["at_boundary"].any()
    assert len(prediction.customers) == orders.lines["customer"].nunique()
    assert prediction.customers.notna().all().all()
    total = prediction.holdout.set_index("frequency_group").loc["All"]
    assert total["predicted"] == pytest.approx(total["actual"], rel=0.1)
    last = prediction.tracking.iloc[-1]
    assert last["predicted"] == pytest.approx(last["actual"], rel=0.1)


@pytest.fixture(scope="module")
def small_prediction() -> Prediction:
    return predict(simulated_lines(600, seed=5), AS_OF, margin=0.3, monthly_discount_rate=0.01)


def test_the_interval_pushes_parameter_draws_through_the_clv(small_prediction: Prediction) -> None:
    """Recomputed here: draws of the log-parameters from their covariance (the documented
    order), each pushed through models.predicted_clv for every customer, group means, and
    the 10% / 90% quantiles of their change added to the group's mean CLV."""
    customers = small_prediction.customers.index
    groups = pd.Series(np.where(np.arange(len(customers)) % 2 == 0, "even", "odd"), customers)
    draws = 30
    table = interval_by_group(small_prediction, groups, draws=draws, sample_per_group=10_000)
    inputs = small_prediction.forecast_inputs
    assert inputs is not None
    rng = np.random.default_rng(0)
    drawn = []
    for model in (inputs.purchases, inputs.spend):
        centre = np.log([model.params[name] for name in model.parameter_names])
        rows = np.exp(rng.multivariate_normal(centre, model.log_covariance, size=draws))
        drawn.append(
            [
                type(model).from_params(**dict(zip(model.parameter_names, row, strict=True)))
                for row in rows
            ]
        )
    history = inputs.history

    def means(purchases: object, spend: object) -> pd.Series:
        clv = 0.3 * predicted_clv(
            purchases, spend, history["frequency"], history["recency"], history["T"],
            history["monetary_value"], horizon=36, discount_rate=0.01, time_unit="weeks",
            horizon_unit="months",
        )  # fmt: skip
        return pd.Series(clv, customers).groupby(groups).mean()

    point = means(inputs.purchases, inputs.spend)
    shifts = pd.DataFrame([means(p, s) - point for p, s in zip(*drawn, strict=True)])
    mid = small_prediction.customers["predicted_clv_36m"].groupby(groups).mean()
    assert table["mid"].to_numpy() == pytest.approx(mid.to_numpy(), rel=1e-12)
    assert table["low"].to_numpy() == pytest.approx((mid + shifts.quantile(0.1)).to_numpy())
    assert table["high"].to_numpy() == pytest.approx((mid + shifts.quantile(0.9)).to_numpy())
    assert table["customers"].tolist() == groups.value_counts().sort_index().tolist()
    assert (table["low"] < table["mid"]).all() and (table["mid"] < table["high"]).all()


def test_the_interval_narrows_with_more_customers(small_prediction: Prediction) -> None:
    """Four times the customers, about half the parameter uncertainty (1/sqrt(n))."""
    large = predict(simulated_lines(2400, seed=5), AS_OF, margin=0.3, monthly_discount_rate=0.01)
    widths = []
    for prediction in (small_prediction, large):
        everyone = pd.Series("all", prediction.customers.index)
        row = interval_by_group(prediction, everyone).iloc[0]
        widths.append((row["high"] - row["low"]) / row["mid"])
    assert 0.3 < widths[1] / widths[0] < 0.8


def test_an_interval_of_no_model_is_empty_and_the_level_is_a_fraction(
    lines: pd.DataFrame, small_prediction: Prediction
) -> None:
    few = predict(
        lines[lines["customer"] < "C00030"], AS_OF, margin=0.3, monthly_discount_rate=0.01
    )
    table = interval_by_group(few, pd.Series("all", few.customers.index))
    assert table.empty and list(table.columns) == list(INTERVAL_COLUMNS)
    with pytest.raises(InputError, match="interval level must be between 0 and 1"):
        interval_by_group(small_prediction, pd.Series("all", small_prediction.customers.index), 1.5)


def verdict_of(prediction: Prediction, customers: pd.Index) -> Verdict:
    """The verdict on one group of customers, as the report asks for a segment's."""
    inputs = prediction.forecast_inputs
    assert inputs is not None
    members = pd.Series(np.where(inputs.history.index.isin(customers), "group", None))
    return verdicts_by_group(prediction, members).get("group", no_forecast(prediction))


def test_the_verdict_names_what_a_segment_lacks(prediction: Prediction) -> None:
    everyone = prediction.customers.index
    verdict = verdict_of(prediction, everyone)
    assert verdict.trustworthy, verdict.reason
    assert f"{len(everyone):,} customers (500 needed)" in verdict.reason
    few = verdict_of(prediction, everyone[:120])
    assert not few.trustworthy
    assert "120 customers (500 needed)" in few.reason
    inputs = prediction.forecast_inputs
    assert inputs is not None
    young = inputs.history.index[inputs.history["T"] * 7 < 150]
    assert "days of history (180 needed)" in verdict_of(prediction, young).reason
    quiet = inputs.history.index[(inputs.history["T"] - inputs.history["recency"]) * 7 > 60]
    assert "within 30 needed" in verdict_of(prediction, quiet).reason


def test_the_verdicts_of_all_groups_at_once_are_each_groups_own(prediction: Prediction) -> None:
    """verdicts_by_group (one pass over the customers) against each group's figures counted
    here from the model's inputs."""
    inputs = prediction.forecast_inputs
    assert inputs is not None
    history = inputs.history
    rng = np.random.default_rng(3)
    labels = pd.Series(rng.choice(["north", "south", "west"], len(history), p=[0.8, 0.15, 0.05]))
    labels[labels.index % 97 == 0] = np.nan  # in no group
    verdicts = verdicts_by_group(prediction, labels)
    assert set(verdicts) == {"north", "south", "west"}
    for label, verdict in verdicts.items():
        members = history[(labels == label).to_numpy()]
        figures = [
            (len(members), 500, f"{len(members):,} customers"),
            (int((members["frequency"] > 0).sum()), 50, "repeat buyers"),
            (round(members["T"].max() * 7), 180, "days of history"),
        ]
        quiet = round((members["T"] - members["recency"]).min() * 7)
        short = [text for value, needed, text in figures if value < needed]
        assert verdict.trustworthy == (not short and quiet <= 30), (label, verdict)
        assert all(text in verdict.reason for text in short)


def test_no_verdict_without_a_model(lines: pd.DataFrame) -> None:
    few = predict(
        lines[lines["customer"] < "C00030"], AS_OF, margin=0.3, monthly_discount_rate=0.01
    )
    assert verdicts_by_group(few, pd.Series(["all"] * len(few.customers))) == {}
    verdict = no_forecast(few)
    assert not verdict.trustworthy and verdict.reason.startswith("No forecast: The purchase model")


def test_bg_nbd_or_pareto_nbd_by_the_holdout_check() -> None:
    """Both families fitted before the holdout; the one whose forecast of the holdout, by
    calibration repeat purchases 0..6, 7+, misses less (recomputed here from the lines) is
    fitted to the whole history, and the sheet's sentence says so."""
    lines = simulated_lines(500, seed=8)
    both = ("BG/NBD", "Pareto/NBD")
    prediction = predict(lines, AS_OF, margin=0.3, monthly_discount_rate=0.01, families=both)
    end = pd.Timestamp(prediction.calibration_end)
    history = histories(lines, end)
    history = history[history["first"] <= end]
    duration = (END - end).days / 7
    rfm = [history[k] for k in ("frequency", "recency", "T")]
    errors = {}
    for family, model in zip(both, fit_purchases(both, *rfm).values(), strict=True):
        forecast = model.model.expected_purchases(duration, *rfm)
        frame = pd.DataFrame(
            {"group": history["frequency"].clip(upper=7), "miss": history["after"] - forecast}
        )
        errors[family] = frame.groupby("group")["miss"].sum().abs().sum() / history["after"].sum()
    choice = prediction.model_choice.set_index("family")
    assert choice["holdout_error"].to_dict() == pytest.approx(errors, rel=1e-6)
    chosen = min(errors, key=errors.get)
    assert choice["chosen"].to_dict() == {family: family == chosen for family in both}
    assert prediction.purchase_model == choice.loc[chosen, "model"]
    assert any(note.startswith(f"{chosen} was chosen") for note in prediction.notes)


def test_an_unknown_family_is_named() -> None:
    with pytest.raises(InputError, match="families must be some of BG/NBD, Pareto/NBD"):
        predict(simulated_lines(100, seed=1), AS_OF, margin=0.3, monthly_discount_rate=0.01,
                families=("BTYD",))  # fmt: skip
