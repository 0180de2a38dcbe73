"""The sorted integer keys against numpy's own stable argsort and a loop."""

from __future__ import annotations

import numpy as np
import pytest

from clv_xl.models.integer_keys import run_starts, stable_order


@pytest.mark.parametrize(
    "keys",
    [
        np.array([3, 1, 3, 0, 1, 3, 2, 0], dtype=np.int64),  # ties in several places
        np.random.default_rng(7).integers(0, 50, 10_000),  # many ties
        np.random.default_rng(8).integers(0, 2**40, 10_000),  # packed: 40 + 14 bits
        np.array([2**61 - 1, 0, 2**61 - 1, 3], dtype=np.int64),  # the largest packed (2 bits)
        np.array([2**61, 0, 2**61, 3], dtype=np.int64),  # one too large to pack: argsort
        np.array([4, -1, 4, -3], dtype=np.int64),  # negative: argsort
        np.arange(1000) // 3,  # in order already
        np.array([7], dtype=np.int64),
        np.array([], dtype=np.int64),
    ],
)
def test_stable_order_is_the_stable_argsort(keys: np.ndarray) -> None:
    before = keys.copy()
    assert stable_order(keys).tolist() == np.argsort(keys, kind="stable").tolist()
    assert np.array_equal(keys, before)  # the keys left as they were


def test_the_stable_order_by_hand() -> None:
    """Equal keys keep their positions' order: 0 at 3 then 7, 1 at 1 then 4."""
    keys = np.array([3, 1, 3, 0, 1, 3, 2, 0], dtype=np.int64)
    assert stable_order(keys).tolist() == [3, 7, 1, 4, 6, 0, 2, 5]


def test_run_starts_marks_the_first_of_each_run() -> None:
    ordered = np.array([0, 0, 1, 4, 4, 4, 9])
    assert run_starts(ordered).tolist() == [True, False, True, True, False, False, True]
    assert run_starts(np.array([], dtype=np.int64)).tolist() == []
    assert run_starts(np.array([5])).tolist() == [True]
