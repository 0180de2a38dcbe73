"""A library of order-data shapes for the tests and the benchmark, from the simulators.

Each shape is order lines (customer, date, amount) up to ``AS_OF``, as the report reads
them. The purchase histories come from :mod:`.simulate` (BG/NBD, Pareto/NBD) or from the
story named: given a customer's x repeat purchases and the time t_x of the last, the other
x - 1 fall uniformly before t_x (purchases of a Poisson process given their count).
Times are whole days, rounded up so that a repeat is never on the first purchase day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from clv_xl.models.simulate import simulate_bg_nbd, simulate_pareto_nbd

AS_OF = dt.date(2024, 12, 31)
_END = pd.Timestamp(AS_OF)


def _lines(
    first_days_back: np.ndarray,
    purchase_days: list[np.ndarray],
    amounts: Callable[[np.ndarray], np.ndarray],
) -> pd.DataFrame:
    """Order lines: customer k first buys ``first_days_back[k]`` days before AS_OF and again
    on the days after that in ``purchase_days[k]``; ``amounts(owner)`` prices each line."""
    counts = np.array([len(days) for days in purchase_days], dtype=int)
    customers = len(first_days_back)
    owner = np.concatenate([np.arange(customers), np.repeat(np.arange(customers), counts)])
    after = np.concatenate([np.zeros(customers), *purchase_days]).astype(int)
    first = _END - pd.to_timedelta(first_days_back, unit="D")
    return pd.DataFrame(
        {
            "customer": [f"C{number:06d}" for number in owner],
            "date": first[owner] + pd.to_timedelta(after, unit="D"),
            "amount": amounts(owner),
        }
    )


def _spread(
    frequency: np.ndarray, recency: np.ndarray, rng: np.random.Generator
) -> list[np.ndarray]:
    """Each customer's repeat purchase days: the last at t_x, the others uniform before it."""
    days = []
    for x, last in zip(frequency.astype(int), recency, strict=True):
        times = np.append(last * rng.random(max(x - 1, 0)), last) if x else np.empty(0)
        days.append(np.maximum(np.ceil(times), 1))
    return days


def _gamma_spend(rng: np.random.Generator, customers: int) -> Callable[[np.ndarray], np.ndarray]:
    """Gamma-Gamma spend: each line Gamma(p = 4, nu), nu ~ Gamma(q = 5, gamma = 80)."""
    nu = rng.gamma(5.0, 1 / 80.0, customers)
    return lambda owner: np.round(rng.gamma(4.0, 1 / nu[owner]), 2)


def bg_nbd(
    customers: int = 1000,
    span_days: int = 3 * 365,
    seed: int = 0,
    truth: tuple[float, float, float, float] = (0.6, 56.0, 0.7, 2.5),
    spend: Callable[[np.random.Generator, int], Callable[[np.ndarray], np.ndarray]] = _gamma_spend,
    youngest_days: int = 1,
) -> pd.DataFrame:
    """BG/NBD customers (r, alpha in days, a, b), first purchase youngest_days..span_days
    days back."""
    rng = np.random.default_rng(seed)
    ages = rng.integers(youngest_days, span_days + 1, customers)
    r, alpha, a, b = truth
    history = simulate_bg_nbd(r, alpha, a, b, T=ages, seed=seed)
    days = _spread(history["frequency"].to_numpy(), history["recency"].to_numpy(), rng)
    return _lines(ages, days, spend(rng, customers))


def pareto_nbd(
    customers: int = 1000,
    span_days: int = 3 * 365,
    seed: int = 0,
    truth: tuple[float, float, float, float] = (0.6, 20.0, 1.2, 200.0),
) -> pd.DataFrame:
    """Pareto/NBD customers (r, alpha, s, beta in days: lifetimes exponential, mean
    beta/(s-1) days), first purchase 1..span_days days back; Gamma-Gamma spend."""
    rng = np.random.default_rng(seed)
    ages = rng.integers(1, span_days + 1, customers)
    r, alpha, s, beta = truth
    history = simulate_pareto_nbd(r, alpha, s, beta, T=ages, seed=seed)
    days = _spread(history["frequency"].to_numpy(), history["recency"].to_numpy(), rng)
    return _lines(ages, days, _gamma_spend(rng, customers))


def steady(customers: int = 1000, span_days: int = 3 * 365, seed: int = 0) -> pd.DataFrame:
    """Steady buyers, no drop-out: each customer one Poisson rate, uniform 1-8 a month,
    purchase days uniform over their time since the first (a plain random generator)."""
    rng = np.random.default_rng(seed)
    ages = rng.integers(30, span_days + 1, customers)
    rates = rng.uniform(1, 8, customers) / 30.4
    counts = rng.poisson(rates * ages)
    days = [
        np.maximum(np.ceil(age * rng.random(n)), 1) for age, n in zip(ages, counts, strict=True)
    ]
    return _lines(ages, days, _gamma_spend(rng, customers))


def one_time_buyers(customers: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Mostly one-time buyers: a low buying rate and early drop-out (about 80% never return)."""
    return bg_nbd(customers, seed=seed, truth=(0.2, 120.0, 2.0, 1.0))


def subscriptions(customers: int = 1500, span_days: int = 3 * 365, seed: int = 0) -> pd.DataFrame:
    """Monthly renewals with churn: a renewal every 30 days until the customer cancels after
    a renewal with probability theta ~ Beta(1, 8) (shifted beta-geometric); a fixed fee."""
    rng = np.random.default_rng(seed)
    ages = rng.integers(30, span_days + 1, customers)
    theta = rng.beta(1.0, 8.0, customers)
    renewals = rng.geometric(theta) - 1  # renewals before cancelling
    days = [30 * np.arange(1, min(n, age // 30) + 1) for n, age in zip(renewals, ages, strict=True)]
    return _lines(ages, days, lambda owner: np.full(len(owner), 19.99))


def tiny(seed: int = 0) -> pd.DataFrame:
    """60 customers, all buying since the first year and often enough for a holdout to count."""
    return bg_nbd(60, seed=seed, truth=(2.0, 28.0, 0.5, 6.0), youngest_days=2 * 365)


def weekly_batches(customers: int = 1000, seed: int = 0) -> pd.DataFrame:
    """BG/NBD customers whose orders are all dated on the Monday of their week (heavy ties)."""
    lines = bg_nbd(customers, seed=seed)
    monday = lines["date"] - pd.to_timedelta(lines["date"].dt.day_of_week, unit="D")
    return lines.assign(date=monday)


def ten_years_daily(customers: int = 500, seed: int = 0) -> pd.DataFrame:
    """Ten years of BG/NBD customers, some buying almost daily (many distinct recencies)."""
    return bg_nbd(customers, span_days=3650, seed=seed, truth=(0.8, 20.0, 0.5, 8.0))


def fixed_price(customers: int = 1000, seed: int = 0) -> pd.DataFrame:
    """BG/NBD customers, every order EUR 25."""

    def price(rng: np.random.Generator, count: int) -> Callable[[np.ndarray], np.ndarray]:
        return lambda owner: np.full(len(owner), 25.0)

    return bg_nbd(customers, seed=seed, spend=price)


def whales(customers: int = 1000, seed: int = 0) -> pd.DataFrame:
    """BG/NBD customers with Gamma-Gamma spend, and 1 in 200 spending 100 times as much."""

    def spend(rng: np.random.Generator, count: int) -> Callable[[np.ndarray], np.ndarray]:
        usual = _gamma_spend(rng, count)
        whale = rng.random(count) < 0.005
        return lambda owner: usual(owner) * np.where(whale[owner], 100.0, 1.0)

    return bg_nbd(customers, seed=seed, spend=spend)


def cdnow(path: Path) -> pd.DataFrame:
    """The CDNOW sample's transactions (customer id, date YYYYMMDD, CDs, dollars)."""
    raw = pd.read_csv(path, sep=r"\s+", header=None, names=["customer", "x", "date", "n", "amount"])
    return pd.DataFrame(
        {
            "customer": raw["customer"].astype(str),
            "date": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
            "amount": raw["amount"].astype(float),
        }
    )


#: The shapes made by a seed alone, by name (CDNOW is read from its file).
SHAPES: dict[str, Callable[..., pd.DataFrame]] = {
    "steady buyers, no drop-out": steady,
    "BG/NBD-simulated": bg_nbd,
    "mostly one-time buyers": one_time_buyers,
    "subscription renewals with churn": subscriptions,
    "60 customers": tiny,
    "weekly batch dates": weekly_batches,
    "ten years by the day": ten_years_daily,
    "fixed price": fixed_price,
    "a few whales": whales,
}
