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
import pandas as pd
from scipy.optimize import minimize

from clv_xl.models._data import Compressed, mean_scale
from clv_xl.models._mle import LOG_BOUNDS, LOWER, UPPER

#: The corner's shape parameters r and s: the models' upper bound, where the ratio axes reach it.
_SHAPE = UPPER


def pareto_nbd_corner(rows: Compressed) -> dict[str, float]:
    """Pareto/NBD's r, alpha, s, beta at its best point with one lambda and one mu: L-BFGS-B
    on log lambda and log mu from lambda = sum x / sum T and one drop-out per mean age, with
    times scaled to a mean T of 1 as the models fit.

    Summed over customers, log L = X log lambda - (lambda+mu) S - N log(lambda+mu) + the sum
    of log(mu + lambda e^-(lambda+mu) d), with X the purchases, S the summed t_x and N the
    customers: only that last sum needs the rows, one per distinct d."""
    scale = mean_scale(rows.values["T"], rows.weights)
    weights, x = rows.weights, rows.values["frequency"]
    recency, age = rows.values["recency"] / scale, rows.values["T"] / scale
    inverse, rests = pd.factorize(age - recency, sort=True)
    rest_weights = np.bincount(inverse, weights, len(rests))
    customers, purchases, last = float(weights.sum()), float(weights @ x), float(weights @ recency)

    def per_customer(theta: np.ndarray) -> tuple[float, np.ndarray]:
        """-mean log L and its derivatives by log lambda and log mu."""
        rate, drop = np.exp(theta)
        both = rate + drop
        with np.errstate(all="ignore"):
            stays = np.exp(-both * rests)
            inner = drop + rate * stays
            total = (
                purchases * theta[0] - both * last - customers * math.log(both)
                + rest_weights @ np.log(inner)
            )  # fmt: skip
            by_rate = purchases / rate - last - customers / both
            by_rate += rest_weights @ (stays * (1.0 - rate * rests) / inner)
            by_drop = (
                -last - customers / both + rest_weights @ ((1.0 - rate * rests * stays) / inner)
            )
        value, slope = -total / customers, -np.array([rate * by_rate, drop * by_drop]) / customers
        if not (math.isfinite(value) and np.all(np.isfinite(slope))):
            return math.inf, np.zeros(2)
        return value, slope

    start = [math.log(max(purchases / float(weights @ age), LOWER)), 0.0]
    run = minimize(per_customer, start, jac=True, method="L-BFGS-B", bounds=[LOG_BOUNDS] * 2)
    rate, drop = np.exp(run.x)
    return {
        "r": _SHAPE,
        "alpha": float(_SHAPE / rate * scale),
        "s": _SHAPE,
        "beta": float(_SHAPE / drop * scale),
    }
