"""Data drawn from the models' own stories, for validation and benchmarks.

Each function draws every customer's latent traits, then their purchases (or renewals),
with a seeded numpy Generator. Purchase histories come back as a DataFrame with
frequency, recency and T, plus frequency_holdout: the purchases in the ``holdout`` time
after T.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

_TINY_RATE = 1e-300


def simulate_bg_nbd(
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: Any,  # noqa: N803
    holdout: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """BG/NBD: buying rate lambda ~ Gamma(r, alpha), drop-out p ~ Beta(a, b) after each purchase."""
    rng = np.random.default_rng(seed)
    age = np.asarray(T, dtype=float)
    count = len(age)
    rate = np.maximum(rng.gamma(r, 1.0 / alpha, count), _TINY_RATE)
    dropout = rng.beta(a, b, count)
    end = age + holdout
    clock = np.zeros(count)
    frequency, recency, in_holdout = np.zeros(count), np.zeros(count), np.zeros(count)
    active = np.arange(count)
    while active.size:
        clock[active] += rng.exponential(1.0 / rate[active])
        active = active[clock[active] <= end[active]]
        calibration = clock[active] <= age[active]
        frequency[active[calibration]] += 1
        recency[active[calibration]] = clock[active[calibration]]
        in_holdout[active[~calibration]] += 1
        active = active[rng.random(active.size) >= dropout[active]]
    return _histories(frequency, recency, age, in_holdout)


def simulate_pareto_nbd(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: Any,  # noqa: N803
    holdout: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Pareto/NBD: lambda ~ Gamma(r, alpha), lifetime ~ Exponential(mu), mu ~ Gamma(s, beta)."""
    rng = np.random.default_rng(seed)
    age = np.asarray(T, dtype=float)
    count = len(age)
    rate = rng.gamma(r, 1.0 / alpha, count)
    lifetime = rng.exponential(1.0 / np.maximum(rng.gamma(s, 1.0 / beta, count), _TINY_RATE))
    alive_in_calibration = np.minimum(lifetime, age)
    frequency = rng.poisson(rate * alive_in_calibration).astype(float)
    # The last of x uniform purchase times on (0, L) is L U^(1/x).
    last = alive_in_calibration * rng.random(count) ** (1.0 / np.maximum(frequency, 1))
    recency = np.where(frequency > 0, last, 0.0)
    alive_in_holdout = np.clip(np.minimum(lifetime, age + holdout) - age, 0.0, None)
    in_holdout = rng.poisson(rate * alive_in_holdout).astype(float)
    return _histories(frequency, recency, age, in_holdout)


def simulate_spend(p: float, q: float, gamma: float, frequency: Any, seed: int = 0) -> np.ndarray:
    """Gamma-Gamma: the mean of x transaction values Gamma(p, nu), nu ~ Gamma(q, gamma); 0 at x = 0.

    The mean of x independent Gamma(p, nu) values is Gamma(p x, nu x).
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=float)
    nu = rng.gamma(q, 1.0 / gamma, len(x))
    repeat = x > 0
    mean = np.zeros(len(x))
    mean[repeat] = rng.gamma(p * x[repeat], 1.0 / (nu[repeat] * x[repeat]))
    return mean


def simulate_survivors(
    alpha: float, beta: float, cohort: int, periods: int, seed: int = 0
) -> np.ndarray:
    """sBG: each customer cancels at the end of a period with probability theta ~ Beta(alpha, beta).

    Returns the customers active at the start of periods 0..periods (cohort first).
    """
    rng = np.random.default_rng(seed)
    cancels_in = rng.geometric(rng.beta(alpha, beta, cohort))
    return np.array([(cancels_in > t).sum() for t in range(periods + 1)], dtype=float)


def _histories(
    frequency: np.ndarray, recency: np.ndarray, age: np.ndarray, in_holdout: np.ndarray
) -> pd.DataFrame:
    return pd.DataFrame(
        {"frequency": frequency, "recency": recency, "T": age, "frequency_holdout": in_holdout}
    )
