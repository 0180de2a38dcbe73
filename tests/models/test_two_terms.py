"""The log of a two-term likelihood and its second term's share."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from clv_xl.models._two_terms import log_sum_and_share


def test_log_sum_and_share_agree_with_logaddexp_and_expit() -> None:
    rng = np.random.default_rng(3)
    alive = rng.normal(0, 30, 1000)
    dropped = np.concatenate([rng.normal(0, 30, 996), [-np.inf, 800.0, -800.0, 0.0]])
    alive[-1] = 0.0
    log_sum, share = log_sum_and_share(alive, dropped)
    assert log_sum == pytest.approx(np.logaddexp(alive, dropped), rel=1e-14, abs=1e-12)
    assert share == pytest.approx(expit(dropped - alive), rel=1e-14, abs=1e-300)
    assert share[-4] == 0.0 and log_sum[-4] == alive[-4]  # no dropped term
    assert share[-1] == 0.5 and log_sum[-1] == pytest.approx(np.log(2.0))
