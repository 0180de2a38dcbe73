"""The log of the rising factorial, log G(r+x)/G(r) = log r(r+1)...(r+x-1), and its
derivative by r, for whole x without the cancellation of gammaln(r+x) - gammaln(r): both
terms are about r log r, so at r near the no-heterogeneity limit (r -> infinity) their
difference would carry rounding noise that stops a line search (Abramowitz & Stegun 6.1.22).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

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
