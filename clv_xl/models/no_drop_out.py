"""The no-drop-out limits of BG/NBD and Pareto/NBD: the NBD and the Poisson model.

When the data show no drop-out, BG/NBD's drop-out probability p -> 0 and Pareto/NBD's
drop-out rate mu -> 0, and both become the NBD model (Ehrenberg 1959; Morrison & Schmittlein
1988): every customer stays and buys at Poisson rate lambda ~ Gamma(r, alpha). Its limit
r, alpha -> infinity with r / alpha fixed is the Poisson model: one rate for everyone. Both
are fitted as models of their own, with the same likelihood of (x, t_x, T) as their parents
(the timing of purchases, no x!), so the log-likelihoods compare directly.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from clv_xl.models._data import Levels, compress, read_history
from clv_xl.models._errors import NotFittedError
from clv_xl.models._mle import FittedModel, closed_form, fit_histories, together
from clv_xl.models._rising import log_rising, log_scaled_power, rising_slope

_STARTS = ((1.0, 1.0), (0.3, 0.3), (5.0, 5.0))


def row_log_likelihood(params: tuple[float, ...], data: dict[str, Levels]) -> np.ndarray:
    """L = G(r+x) alpha^r / (G(r) (alpha+T)^(r+x)), the BG/NBD likelihood at p = 0."""
    r, alpha = params
    x, age = data["frequency"], data["T"]
    return x.map(lambda v: log_rising(r, v)) + log_scaled_power(r, alpha, x.full, age)


def row_gradient(params: tuple[float, ...], data: dict[str, Levels]) -> np.ndarray:
    """d/dr = psi(r+x) - psi(r) + log(alpha/(alpha+T)); d/dalpha = r/alpha - (r+x)/(alpha+T)."""
    r, alpha = params
    x, age = data["frequency"], data["T"]
    return np.column_stack(
        [
            x.map(lambda v: rising_slope(r, v)) - age.map(lambda v: np.log1p(v / alpha)),
            r / alpha - (r + x.full) * age.map(lambda v: 1 / (alpha + v)),
        ]
    )


class _Staying(FittedModel, abc.ABC):
    """What both limits share: every customer stays, so a forecast is the forecast if alive
    (`expected_purchases_if_alive`, each model's own)."""

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """Every customer stays: P(alive) = 1."""
        self._values()
        return np.ones(len(read_history(self.model_name, frequency, recency, T)))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """E[Y(t) | x, T]: the expected purchases of a customer alive (NBD: t (r+x)/(alpha+T),
        the posterior mean rate times t; Poisson: rate t, whatever the history)."""
        columns = read_history(self.model_name, frequency, recency, T).values
        return self.expected_purchases_if_alive(t, columns["frequency"], columns["T"])

    @abc.abstractmethod
    def expected_purchases_if_alive(self, t: Any, frequency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """Each limit's own."""


class NBD(_Staying):
    """The NBD model (no drop-out, rates Gamma(r, alpha)): ``NBD().fit(frequency, recency, T)``."""

    model_name = "NBD (no drop-out)"
    parameter_names = ("r", "alpha")

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> NBD:  # noqa: N803
        """Maximum-likelihood estimates; ``weights`` counts customers with identical rows."""
        columns = read_history(self.model_name, frequency, recency, T, weights)
        rows = compress({k: columns.values[k] for k in ("frequency", "T")}, columns.weights)
        fit_histories(
            self, row_log_likelihood, together(row_log_likelihood, row_gradient), rows, _STARTS
        )
        return self

    def expected_purchases_if_alive(self, t: Any, frequency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """Everyone is alive: t (r+x)/(alpha+T), broadcast over t, x and T."""
        r, alpha = self._values()
        x, age = np.asarray(frequency, dtype=float), np.asarray(T, dtype=float)
        return np.asarray(t, dtype=float) * (r + x) / (alpha + age)

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray:
        """E[X(t)] = t r / alpha."""
        r, alpha = self._values()
        return np.asarray(t, dtype=float) * r / alpha


class Poisson(_Staying):
    """One Poisson rate for every customer, no drop-out: ``Poisson().fit(frequency, recency, T)``.

    ``params`` holds ``rate``, purchases per time unit of the data.
    """

    model_name = "Poisson (no drop-out, one rate)"
    parameter_names = ("rate",)

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> Poisson:  # noqa: N803
        """rate = sum(x) / sum(T), maximising sum(x log rate - rate T); var(log rate) = 1/sum(x)."""
        columns = read_history(self.model_name, frequency, recency, T, weights)
        x, age, w = columns.values["frequency"], columns.values["T"], columns.weights
        purchases, exposure = float(np.sum(w * x)), float(np.sum(w * age))
        if purchases <= 0 or exposure <= 0:
            raise NotFittedError(
                f"The {self.model_name} model needs repeat purchases over some time; "
                "there are none."
            )
        rate = purchases / exposure
        self._store(
            closed_form(
                {"rate": rate},
                {"rate": rate / np.sqrt(purchases)},
                purchases * np.log(rate) - rate * exposure,
                np.array([[1 / purchases]]),
            )
        )
        return self

    def expected_purchases_if_alive(self, t: Any, frequency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """Everyone is alive: rate t whatever the history, broadcast over t, x and T."""
        (rate,) = self._values()
        shape = np.broadcast_shapes(np.shape(t), np.shape(frequency), np.shape(T))
        return np.broadcast_to(np.asarray(t, dtype=float) * rate, shape).copy()

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray:
        """E[X(t)] = rate t."""
        (rate,) = self._values()
        return np.asarray(t, dtype=float) * rate
