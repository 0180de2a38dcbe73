"""Customer lifetimes from right-censored order data: Kaplan-Meier survival, lifetime revenue.

Months are counted from each customer's first order (month k runs from k to k + 1 times
365.25/12 days after it). A customer is *lost* once they go the churn window without an
order; the loss is dated at their last order, so their lifetime is the time from the first
to the last order. The loss only becomes visible a churn window later, at D = last order -
first order + window (in days since the first order). Before then the customer is censored:
at the analysis date we know only that D lies beyond the customer's age. That censoring is
set by the calendar, not by the customer, so Kaplan-Meier (Kaplan & Meier 1958) estimates
P(D >= d) without the bias of counting recent customers as staying; the lifetime survival is
S(k) = P(lifetime >= k months) = P(D >= k months + window).

Revenue per acquired customer in month k, R(k), is the mean over the customers whose month k
lies wholly before the analysis date (every cohort old enough counts; none is cut short).
Beyond the months the data show, survival is extrapolated at the monthly retention q of the
last observed year of S, and revenue as rho x S(k), rho the revenue per surviving customer
over the last observed year. Then

* lifetime (months) = sum over k >= 0 of S(k) (the months from the first order's to the
  last order's, counted inclusively);
* lifetime revenue = sum over k >= 0 of R(k): what a newly acquired customer is expected to
  spend, first order included;
* equivalent monthly churn = 1 / lifetime and revenue per active month = lifetime revenue /
  lifetime, so CLV = revenue per month x margin / churn (seed 003) is lifetime revenue x
  margin exactly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_xl.models.units import days_per

DAYS_PER_MONTH = days_per("months")
#: The last month of R(k) or S(k) used must be observed for this share of the group.
MIN_OBSERVED_SHARE = 0.05
#: ... and for at least this many customers.
MIN_OBSERVED_CUSTOMERS = 5
#: Months of the observed curves that set the tail (retention and revenue per survivor).
TAIL_MONTHS = 24
#: Gaps between a customer's orders longer than this share of all gaps are rare enough that
#: a loss is not mistaken for one (see :func:`detection_days`).
GAP_QUANTILE = 0.99
#: The longest time without an order after which a loss is seen (days).
MAX_DETECTION_DAYS = 365
#: The tail's monthly retention is capped here: no extrapolation beyond a 200-month
#: expected tail, however few losses the data show.
MAX_TAIL_RETENTION = 0.995


@dataclass(frozen=True)
class CustomerHistory:
    """The arrays a lifetime estimate needs, for one group of customers.

    ``age_days``: analysis date - first order, per customer; ``span_days``: last order -
    first order; ``lost``: no order within the churn window before the analysis date.
    ``line_customer``, ``line_day`` and ``line_amount``: per order line, the customer's
    position, days since that customer's first order, and the amount (refunds negative).
    """

    age_days: np.ndarray
    span_days: np.ndarray
    lost: np.ndarray
    line_customer: np.ndarray
    line_day: np.ndarray
    line_amount: np.ndarray


class LifetimeFigures(ABC):
    """What follows from an expected lifetime and lifetime revenue (seed 003's terms)."""

    @property
    @abstractmethod
    def lifetime_months(self) -> float:
        """Expected months from the first order's month to the last order's."""

    @property
    @abstractmethod
    def lifetime_revenue(self) -> float:
        """Expected revenue of a new customer over its lifetime."""

    @property
    def monthly_churn(self) -> float:
        """The constant monthly churn with the same expected lifetime: 1 / lifetime."""
        return 1.0 / self.lifetime_months

    @property
    def revenue_per_month(self) -> float:
        """Revenue per active customer-month: lifetime revenue / lifetime."""
        return self.lifetime_revenue / self.lifetime_months


@dataclass(frozen=True)
class Lifetime(LifetimeFigures):
    """Survival S(k) and revenue per acquired customer R(k), k = 0 .. len - 1, and the tail.

    ``reason`` is "" when the curves hold an estimate, else the sentence saying what the
    group lacks (then the figures are NaN). ``tail_note`` says where the tail came from
    when not from the group's own losses.
    """

    customers: int
    survival: np.ndarray
    revenue: np.ndarray
    tail_retention: float
    revenue_per_survivor: float
    reason: str = ""
    tail_note: str = ""

    @property
    def estimated(self) -> bool:
        return not self.reason

    @property
    def _tail_months(self) -> float:
        """Sum over k beyond the curves of S(k) / S(last): q / (1 - q)."""
        q = self.tail_retention
        return q / (1.0 - q)

    @property
    def lifetime_months(self) -> float:
        if not self.estimated:
            return float("nan")
        return float(self.survival.sum() + self.survival[-1] * self._tail_months)

    @property
    def lifetime_revenue(self) -> float:
        if not self.estimated:
            return float("nan")
        tail = self.revenue_per_survivor * self.survival[-1] * self._tail_months
        return float(self.revenue.sum() + tail)

    def revenue_within(self, months: int) -> float:
        """Expected revenue per acquired customer in its first ``months`` months: R(k) as
        observed, then rho x S(last) x q^(k - last) (the tail, month by month)."""
        if not self.estimated:
            return float("nan")
        n = len(self.revenue)
        beyond = np.arange(1, max(months - n, 0) + 1)
        tail = self.revenue_per_survivor * self.survival[-1] * self.tail_retention**beyond
        return float(self.revenue[:months].sum() + tail.sum())

    def remaining_revenue(self, age_days: np.ndarray) -> np.ndarray:
        """Expected revenue after ``age_days`` since the first order, per acquired customer:
        the rest of the current month's R plus every later month's, and the tail."""
        if not self.estimated:
            return np.full(len(age_days), np.nan)
        months = np.asarray(age_days, dtype=float) / DAYS_PER_MONTH
        current = np.floor(months).astype(np.int64)
        n = len(self.revenue)
        later = np.concatenate([np.cumsum(self.revenue[::-1])[::-1], [0.0]])  # sum from k on
        tail = self.revenue_per_survivor * self.survival[-1] * self._tail_months
        inside = current < n
        at = np.minimum(current, n - 1)
        elapsed = months - current
        remaining = (1.0 - elapsed) * self.revenue[at] + later[np.minimum(current + 1, n)] + tail
        # Ages beyond the curves: the tail from that month on.
        beyond_months = months - n
        beyond = (
            self.revenue_per_survivor
            * self.survival[-1]
            * self.tail_retention**beyond_months
            * self._tail_months
        )
        return np.where(inside, remaining, beyond)


def detection_days(churn_window_days: int, gaps_days: Callable[[], np.ndarray]) -> int:
    """Days without an order after which the lifetime estimate takes a customer as lost.

    The churn window, unless it is shorter than the 99th percentile of the gaps between
    consecutive orders (of one customer, on different days): then that percentile, so a
    short window does not mistake customers in a long gap for lost ones (which would bias
    the lifetime low), but never beyond 365 days or the window. The lifetime itself is
    first to last order whatever the window; the window only says when a loss can be seen.
    ``gaps_days()`` gives the gaps; it is called only for a window shorter than that (the gaps
    are a sort of every order line).
    """
    if churn_window_days >= MAX_DETECTION_DAYS:
        return churn_window_days
    gaps = gaps_days()
    if len(gaps) == 0:
        return churn_window_days
    gap = float(np.quantile(gaps, GAP_QUANTILE))
    return int(min(max(churn_window_days, np.ceil(gap)), MAX_DETECTION_DAYS))


def kaplan_meier(
    durations: np.ndarray, observed: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct times t_j, S(t_j) = prod over t_i <= t_j of (1 - d_i / n_i), and n_j.

    ``observed`` marks events (the rest are censored at their duration); n_j counts the
    durations of t_j or more, d_j the events at t_j (Kaplan & Meier 1958).
    """
    where, times = pd.factorize(durations, sort=True)  # hashed: faster than np.unique's sort
    events = np.bincount(where, weights=observed.astype(float), minlength=len(times))
    leaving = np.bincount(where, minlength=len(times))
    at_risk = len(durations) - np.concatenate([[0], np.cumsum(leaving)[:-1]])
    return times, np.cumprod(1.0 - events / at_risk), at_risk


def lifetime(
    history: CustomerHistory,
    churn_window_days: int,
    fallback_retention: float | None = None,
) -> Lifetime:
    """The group's lifetime curves (see the module docstring).

    ``fallback_retention`` (the whole base's tail retention) is used for the tail when the
    group shows no loss of its own in the months it can show them.
    """
    n = len(history.age_days)
    if n == 0:
        return _none(0, "No customers.")
    needed = max(MIN_OBSERVED_CUSTOMERS, MIN_OBSERVED_SHARE * n)
    revenue = _revenue_per_customer(history, needed)
    if revenue is None:
        return _none(n, f"Fewer than {needed:.0f} customers have a whole first month of history.")
    durations = np.where(history.lost, history.span_days + churn_window_days, history.age_days)
    survival_months = _survival(durations, history.lost, churn_window_days, needed)
    note = ""
    q = 1.0
    if survival_months is not None and len(survival_months) >= 2:
        q = _tail_retention(durations, history.lost, churn_window_days, len(survival_months))
    else:
        survival_months = np.ones(1)
    if q >= 1.0:
        if fallback_retention is None:
            return _none(
                n,
                f"No loss can be seen yet: a customer counts as lost {churn_window_days} days "
                "(the churn window) after their last order, and none has been lost in the "
                "months the data show.",
            )
        q = fallback_retention
        note = (
            "Too few losses in these customers' history to set the tail: it uses all "
            "customers' churn."
        )
    q = min(q, MAX_TAIL_RETENTION)
    survival = _extended(survival_months, len(revenue), q)
    late = slice(max(0, len(revenue) - TAIL_MONTHS), len(revenue))
    rho = float(revenue[late].sum() / survival[late].sum())
    return Lifetime(n, survival, revenue, q, rho, tail_note=note)


def _none(customers: int, reason: str) -> Lifetime:
    return Lifetime(customers, np.ones(1), np.zeros(1), 0.0, 0.0, reason=reason)


def _revenue_per_customer(history: CustomerHistory, needed: float) -> np.ndarray | None:
    """R(k) over the months observed wholly for at least ``needed`` customers."""
    whole_months = np.floor((history.age_days + 1) / DAYS_PER_MONTH).astype(np.int64)
    observed = np.bincount(whole_months)[::-1].cumsum()[::-1][1:]  # customers with > k
    months = int(np.sum(observed >= needed))
    if months == 0:
        return None
    month = np.floor(history.line_day / DAYS_PER_MONTH).astype(np.int64)
    counted = (month < whole_months[history.line_customer]) & (month < months)
    sums = np.bincount(month[counted], weights=history.line_amount[counted], minlength=months)
    return sums / observed[:months]


def _survival(
    durations: np.ndarray, lost: np.ndarray, window: int, needed: float
) -> np.ndarray | None:
    """S(k) = P(D >= k months + window) for the months with ``needed`` customers at risk."""
    times, survival, at_risk = kaplan_meier(durations, lost)
    at_risk_from = np.concatenate([at_risk, [0]])  # customers with D >= times[j]
    points = np.arange(int(durations.max() / DAYS_PER_MONTH) + 2) * DAYS_PER_MONTH + window
    before = np.searchsorted(times, points, side="left")  # times < point: before[j] of them
    months = int(np.sum(at_risk_from[before] >= needed))
    if months == 0:
        return None
    return np.concatenate([[1.0], survival])[before[:months]]


def _tail_retention(durations: np.ndarray, lost: np.ndarray, window: int, months: int) -> float:
    """Monthly retention exp(-losses / months at risk) over the last TAIL_MONTHS months of
    the observed survival (from month 1 on: the first month's drop is the one-time buyers').

    The constant-hazard maximum-likelihood estimate over that stretch: every customer at
    risk in it counts, not only the few followed to its end. 1.0 when it holds no loss.
    """
    last = months - 1
    first = max(1, last - TAIL_MONTHS)
    start, stop = first * DAYS_PER_MONTH + window, last * DAYS_PER_MONTH + window
    exposure = np.clip(durations, start, stop) - start
    losses = np.count_nonzero(lost & (durations >= start) & (durations < stop))
    if losses == 0:
        return 1.0
    return float(np.exp(-losses / (exposure.sum() / DAYS_PER_MONTH)))


def _extended(survival: np.ndarray, months: int, retention: float) -> np.ndarray:
    """S over ``months`` months: as estimated, then at ``retention`` a month."""
    if len(survival) >= months:
        return survival[:months]
    extra = survival[-1] * retention ** np.arange(1, months - len(survival) + 1)
    return np.concatenate([survival, extra])
