"""The NBD terms of the purchase models without rounding noise at their limits: the log of
the rising factorial, log G(r+x)/G(r) = log r(r+1)...(r+x-1), with its derivative by r, and
log[alpha^r (alpha+t)^-(r+x)]. Written as gammaln(r+x) - gammaln(r) and r log alpha -
(r+x) log(alpha+t), each is a difference of numbers about r log r in size, so near the
one-rate limit (r -> infinity) its rounding would be noise that stops a line search
(rising factorial: Abramowitz & Stegun 6.1.22).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from clv_xl.models._data import Levels

#: Longest product summed term by term (whole x beyond it, or x not whole: gammaln).
MOST_TERMS = 100_000


def _whole(x: np.ndarray) -> bool:
    return bool(np.all(x == np.round(x)) and x.max(initial=0.0) <= MOST_TERMS)


def log_rising(r: float, x: np.ndarray) -> np.ndarray:
    """log G(r+x) - log G(r) = sum over k < x of log(r+k), for each x >= 0."""
    x = np.asarray(x, dtype=float)
    if not _whole(x):
        return gammaln(r + x) - gammaln(r)
    terms = np.log(r + np.arange(int(x.max(initial=0.0))))
    return np.concatenate([[0.0], np.cumsum(terms)])[x.astype(np.int64)]


def rising_slope(r: float, x: np.ndarray) -> np.ndarray:
    """d/dr of `log_rising`: digamma(r+x) - digamma(r) = sum over k < x of 1/(r+k)."""
    x = np.asarray(x, dtype=float)
    if not _whole(x):
        return digamma(r + x) - digamma(r)
    terms = 1.0 / (r + np.arange(int(x.max(initial=0.0))))
    return np.concatenate([[0.0], np.cumsum(terms)])[x.astype(np.int64)]


def log_scaled_power(r: float, alpha: float, x: np.ndarray, time: Levels) -> np.ndarray:
    """log[alpha^r (alpha+t)^-(r+x)] per row = -r log(1 + t/alpha) - x log(alpha+t)."""
    return (-r * np.log1p(time.values / alpha))[time.codes] - x * np.log(alpha + time.values)[
        time.codes
    ]
