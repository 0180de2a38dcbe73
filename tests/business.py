"""Simulated businesses whose true CLV is known, for testing the estimators against a truth.

Customers are acquired month by month (growing, flat or shrinking), each in a channel with
its own monthly churn c: a customer's life is exponential with rate -ln(1 - c) a month, so
the share still alive after k months is (1 - c)^k. A customer places a first order when
acquired and then orders as a Poisson process at ``orders_per_month`` while alive, each
order worth a gamma-distributed amount with mean ``mean_order``. So the true expected
lifetime revenue of a new customer is mean_order x (1 + orders_per_month / rate).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

START = dt.date(2022, 1, 1)
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Channel:
    name: str
    monthly_churn: float
    share: float  # of acquisitions
    orders_per_month: float = 0.8
    mean_order: float = 50.0

    @property
    def true_lifetime_revenue(self) -> float:
        rate = -math.log(1.0 - self.monthly_churn)
        return self.mean_order * (1.0 + self.orders_per_month / rate)


def simulate(
    channels: tuple[Channel, ...],
    *,
    months: int = 36,
    first_month_customers: int = 150,
    monthly_growth: float = 0.0,
    seed: int = 0,
) -> tuple[pd.DataFrame, dt.date]:
    """Order lines (Customer ID, Order date, Amount, Channel) and the analysis date."""
    rng = np.random.default_rng(seed)
    end_day = months * DAYS_PER_MONTH
    frames = []
    next_id = 0
    for month in range(months):
        count = rng.poisson(first_month_customers * (1.0 + monthly_growth) ** month)
        for channel in channels:
            n = rng.binomial(count, channel.share)
            start = (month + rng.random(n)) * DAYS_PER_MONTH
            rate = -math.log(1.0 - channel.monthly_churn)
            death = start + rng.exponential(1.0 / rate, n) * DAYS_PER_MONTH
            stop = np.minimum(death, end_day)
            repeat = rng.poisson(channel.orders_per_month * (stop - start) / DAYS_PER_MONTH)
            who = np.repeat(np.arange(n), 1 + repeat)
            days = np.where(
                np.concatenate([[True], who[1:] != who[:-1]]),
                start[who],
                start[who] + rng.random(len(who)) * (stop - start)[who],
            )
            amounts = rng.gamma(4.0, channel.mean_order / 4.0, len(who))
            frames.append(
                pd.DataFrame(
                    {
                        "Customer ID": [f"C{next_id + k}" for k in who],
                        "Order date": pd.Timestamp(START) + pd.to_timedelta(np.floor(days), "D"),
                        "Amount": amounts.round(2),
                        "Channel": channel.name,
                    }
                )
            )
            next_id += n
    lines = pd.concat(frames, ignore_index=True)
    as_of = START + dt.timedelta(days=int(end_day) - 1)
    lines = lines[lines["Order date"] <= pd.Timestamp(as_of)]
    return lines.sort_values("Order date", kind="stable").reset_index(drop=True), as_of
