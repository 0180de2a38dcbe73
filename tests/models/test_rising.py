"""The rising factorial's log and its slope against independent sums and scipy's gamma
functions."""

import math

import numpy as np
import pytest
from scipy.special import digamma, gammaln

from clv_xl.models._rising import log_rising, rising_slope


def test_whole_counts_are_the_sums_of_their_factors_even_at_a_huge_shape() -> None:
    """At r = 1e6, gammaln(r+x) - gammaln(r) rounds at r log r's size (about 1e7); the sum
    of log(r+k) does not."""
    r, x = 1e6, np.array([0.0, 1.0, 2.0, 7.0, 3.0])
    exact = [math.fsum(math.log(r + k) for k in range(int(n))) for n in x]
    assert log_rising(r, x) == pytest.approx(exact, rel=1e-15, abs=1e-15)
    slopes = [math.fsum(1.0 / (r + k) for k in range(int(n))) for n in x]
    assert rising_slope(r, x) == pytest.approx(slopes, rel=1e-14, abs=1e-20)


@pytest.mark.parametrize("r", [0.05, 0.7, 3.0, 250.0])
def test_at_ordinary_shapes_they_equal_the_gamma_functions(r: float) -> None:
    x = np.arange(0.0, 60.0)
    assert log_rising(r, x) == pytest.approx(gammaln(r + x) - gammaln(r), rel=1e-12, abs=1e-12)
    assert rising_slope(r, x) == pytest.approx(digamma(r + x) - digamma(r), rel=1e-12, abs=1e-12)


def test_counts_that_are_not_whole_fall_back_on_the_gamma_functions() -> None:
    x = np.array([0.5, 2.25])
    assert np.array_equal(log_rising(1.5, x), gammaln(1.5 + x) - gammaln(1.5))
    assert np.array_equal(rising_slope(1.5, x), digamma(1.5 + x) - digamma(1.5))
