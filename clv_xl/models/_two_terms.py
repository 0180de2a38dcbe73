"""A likelihood of two terms, e^A + e^D (alive, dropped out), on the log scale."""

from __future__ import annotations

import numpy as np


def log_sum_and_share(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(e^A + e^D) and the share e^D / (e^A + e^D), from one exponential:
    with d = D - A and e = exp(-|d|), log(e^A + e^D) = A + max(d, 0) + log1p(e) and the
    share is 1/(1+e) where d >= 0, else e/(1+e). D = -inf gives A and a share of 0."""
    difference = second - first
    small = np.exp(-np.abs(difference))
    log_sum = first + np.maximum(difference, 0.0) + np.log1p(small)
    share = np.where(difference >= 0, 1.0, small) / (1.0 + small)
    return log_sum, share
