"""Pareto/NBD's limit where every customer has the same rates, as a start for its fit.

As r, alpha -> infinity at a fixed r / alpha, every customer buys at one Poisson rate
lambda; as s, beta -> infinity at a fixed s / beta, every customer drops out at one
exponential rate mu. Where the data look like that (customers who differ by chance alone),
the model's maximum is this corner of its ratio axes (:func:`clv_xl.models._mle.ratio_axes`),
and a run of the optimiser from inside crawls a ridge towards it, about one unit of log r
a step. The corner's best point comes from two parameters and a likelihood without the
quadrature, and the fit starts there (:func:`clv_xl.models._mle.maximise`'s ``limit``).

With d = T - t_x, the limit's likelihood of a history (x, t_x, T) is

    L = lambda^x e^-(lambda+mu) t_x (mu + lambda e^-(lambda+mu) d) / (lambda+mu),

alive at T (lambda^x e^-(lambda+mu) T) or dropped out at some tau in (t_x, T]: note 009's
eq. 18 (Fader & Hardie 2005) with each rate's distribution at one point.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize

from clv_xl.models._data import Compressed, mean_scale
from clv_xl.models._mle import LOWER, UPPER

#: The corner's shape parameters r and s: the models' upper bound, where the ratio axes reach it.
_SHAPE = UPPER
_BOUNDS = [(math.log(LOWER), math.log(UPPER))] * 2


def pareto_nbd_corner(rows: Compressed) -> dict[str, float]:
    """Pareto/NBD's r, alpha, s, beta at its best point with one lambda and one mu: L-BFGS-B
    on log lambda and log mu from lambda = sum x / sum T and one drop-out per mean age, with
    times scaled to a mean T of 1 as the models fit."""
    scale = mean_scale(rows.values["T"], rows.weights)
    x, weights = rows.values["frequency"], rows.weights
    recency, age = rows.values["recency"] / scale, rows.values["T"] / scale
    rest, customers = age - recency, float(weights.sum())

    def per_customer(theta: np.ndarray) -> tuple[float, np.ndarray]:
        """-mean log L and its derivatives by log lambda and log mu."""
        rate, drop = np.exp(theta)
        both = rate + drop
        with np.errstate(all="ignore"):
            stays = np.exp(-both * rest)
            inner = drop + rate * stays
            log_l = x * theta[0] - both * recency + np.log(inner) - np.log(both)
            by_rate = x / rate - recency + stays * (1.0 - rate * rest) / inner - 1.0 / both
            by_drop = -recency + (1.0 - rate * rest * stays) / inner - 1.0 / both
        value = -float(weights @ log_l) / customers
        slope = -np.array([rate * weights @ by_rate, drop * weights @ by_drop]) / customers
        if not (math.isfinite(value) and np.all(np.isfinite(slope))):
            return math.inf, np.zeros(2)
        return value, slope

    start = [math.log(max(float(weights @ x) / float(weights @ age), LOWER)), 0.0]
    run = minimize(per_customer, start, jac=True, method="L-BFGS-B", bounds=_BOUNDS)
    rate, drop = np.exp(run.x)
    return {
        "r": _SHAPE,
        "alpha": float(_SHAPE / rate * scale),
        "s": _SHAPE,
        "beta": float(_SHAPE / drop * scale),
    }
