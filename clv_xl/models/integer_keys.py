"""Pairs of whole numbers keyed as one (first x width + second), sorted and split into runs.

One integer key sorts and compares several times faster than a pair of columns; numpy's
sort of 64-bit integers is itself several times faster than its stable argsort, so a
stable order is found by sorting the keys with their positions packed into the low bits.
"""

from __future__ import annotations

import numpy as np


def stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` of non-negative 64-bit keys: each key shifted left
    and its position put in the freed bits, one sort of those numbers, the positions read
    back (the stable argsort itself where the packed numbers would not fit in 63 bits)."""
    bits = max(int(len(keys) - 1).bit_length(), 1)
    if not len(keys) or int(keys.max()) >= 1 << (63 - bits):
        return np.argsort(keys, kind="stable")
    packed = keys.astype(np.int64) << bits
    packed |= np.arange(len(keys), dtype=np.int64)
    packed.sort()
    packed &= (1 << bits) - 1
    return packed.astype(np.intp, copy=False)


def run_starts(ordered: np.ndarray) -> np.ndarray:
    """Whether each value of a sorted array starts a run of equal values (the first does)."""
    starts = np.empty(len(ordered), dtype=bool)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    return starts
