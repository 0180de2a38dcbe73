"""A model with parameters (a fit of similar data) is refitted from them first: one start
when it converges there, and the same maximum as a fit from the usual starts."""

from pathlib import Path

import pandas as pd
import pytest

from clv_xl.models import BetaGeo, ParetoNBD

CDNOW = (
    Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"
)


@pytest.mark.parametrize(
    ("kind", "near"),
    [
        (BetaGeo, {"r": 0.25, "alpha": 4.5, "a": 0.8, "b": 2.5}),
        (ParetoNBD, {"r": 0.56, "alpha": 10.5, "s": 0.6, "beta": 11.5}),
    ],
)
def test_a_warm_start_alone_reaches_the_usual_maximum(kind, near) -> None:
    cdnow = pd.read_csv(CDNOW)
    rfm = (cdnow["x"], cdnow["t_x"], cdnow["T"])
    cold = kind().fit(*rfm)
    warm = kind.from_params(**near).fit(*rfm)
    assert cold.convergence.starts_tried >= 2
    assert warm.convergence.starts_tried == 1 and warm.convergence.converged
    assert warm.params == pytest.approx(cold.params, rel=1e-4)
    assert warm.log_likelihood == pytest.approx(cold.log_likelihood, abs=1e-4)
