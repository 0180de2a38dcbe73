"""The Pareto/NBD model of repeat buying (Schmittlein, Morrison & Colombo 1987, "Counting
Your Customers: Who Are They and What Will They Do Next?", Management Science 33(1), 1-24).

While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); her lifetime is
exponential with rate mu ~ Gamma(s, beta). With the rates integrated out (Fader & Hardie
2005, "A Note on Deriving the Pareto/NBD Model and Related Expressions", note 009), a
customer who died at tau in (t_x, T] contributes s beta^s (beta+tau)^-(s+1) times the NBD
part alpha^r G(r+x)/G(r) (alpha+tau)^-(r+x), so the likelihood needs

    G(x, t) = integral from t to infinity of (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau,

which note 009 writes with the Gauss hypergeometric function (eqs. 19-20). Here it is
computed by one fixed quadrature rule (below), together with its derivatives by the four
parameters (the derivatives of the integrand under the same rule), once per distinct pair
(x, t) of the data: the pairs (x, t_x) and (x, T) are far fewer than the customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from clv_xl.models._data import Levels, compress, mean_scale, read_history
from clv_xl.models._mle import FittedModel, fit_rows, ratio_axes
from clv_xl.models._rising import log_rising, log_scaled_power, rising_slope
from clv_xl.models._two_terms import log_sum_and_share
from clv_xl.models.one_rate import pareto_nbd_corner

_STARTS = ((1.0, 1.0, 1.0, 1.0), (0.5, 0.5, 0.5, 2.0), (2.0, 2.0, 0.3, 0.3))
#: A power k_o beyond which k_o log(shifted) less k_o log(end) would round at 1e-11 of a
#: customer's log-likelihood (next to a limit, where r or s -> infinity): the integrand's
#: exponent is then taken from shifted - end itself.
ROUNDING_POWER = 1e4
#: Nodes of the tanh-sinh rule on (0, 1), and the range of its variable u.
_NODES = 48
_NODE_RANGE = 3.5


def _tanh_sinh() -> tuple[np.ndarray, np.ndarray]:
    """log y and the weights of the tanh-sinh (double exponential) rule on (0, 1):
    y = 1/(1 + exp(-pi sinh u)), dy = pi cosh u y (1-y) du (Takahasi & Mori 1974)."""
    u = np.linspace(-_NODE_RANGE, _NODE_RANGE, _NODES)
    shift = np.pi * np.sinh(u)
    log_y = -np.logaddexp(0.0, -shift)
    log_one_minus_y = -np.logaddexp(0.0, shift)
    weights = (u[1] - u[0]) * np.pi * np.cosh(u) * np.exp(log_y + log_one_minus_y)
    return log_y, weights


_LOG_Y, _WEIGHTS = _tanh_sinh()


@dataclass(frozen=True)
class Tail:
    """log G(x, t) per pair and, when asked for, its derivatives by (r, alpha, s, beta);
    ``log_scaled``: log(alpha^r beta^s G(x, t)), computed without the cancellation of its
    terms (each about r log alpha in size, large near a limit where r or s -> infinity)."""

    log_value: np.ndarray
    gradient: np.ndarray | None
    log_scaled: np.ndarray


def tail(
    r: float, alpha: float, s: float, beta: float, x: Any, t: Any, with_gradient: bool = True
) -> Tail:
    """G(x, t) of the module docstring, by the substitution y = ((c+t)/(c+tau))^(r+s+x),
    where c is alpha when r+x >= s+1, else beta (the factor with the larger power, o the other):

        G = (c+t)^-(r+s+x) / (r+s+x) * integral over (0, 1) of ((c+tau)/(o+tau))^k_o dy,

    k_o the other factor's power; (o+tau)/(c+tau) = 1 + (o-c) y^(1/(r+s+x)) / (c+t). The
    integrand is monotone and bounded by a power y^-theta with theta < 1, which the tanh-sinh
    rule integrates to about 1e-13 for the parameters of real data. The derivatives by each
    parameter are the integrals of the integrand's derivatives (-log(alpha+tau),
    -(r+x)/(alpha+tau), -log(beta+tau), -(s+1)/(beta+tau)) by the same rule.
    """
    levels = x if isinstance(x, Levels) else Levels.of(np.asarray(x, dtype=float))
    x, t = levels.full, np.asarray(t, dtype=float)
    power_alpha, power_beta, total = r + x, s + 1.0, r + s + x
    by_alpha = power_alpha >= power_beta
    c = np.where(by_alpha, alpha, beta)
    delta = np.where(by_alpha, beta - alpha, alpha - beta)
    power_other = np.where(by_alpha, power_beta, power_alpha)
    start = c + t
    # shifted = (o+tau)/(c+tau) (c+t) = (c+t) + delta y^p = (o+t) + delta (y^p - 1), the form
    # without cancellation for delta's sign, with y^p - 1 tabled once per distinct x. The
    # integrand is monotone in y: its top is at an end, where shifted is least; for a large
    # power, shifted - end = delta (y^p - y_end^p) from the table of y^p - 1.
    values, codes = levels.values, levels.codes
    log_y_power = np.outer(1.0 / (r + s + values), _LOG_Y)
    less_one = np.expm1(log_y_power)
    growing = delta >= 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        at_ends = less_one[:, [0, -1]][codes]  # each end's shifted, in the form for delta's sign
        ends = np.where(
            growing[:, None],
            start[:, None] + delta[:, None] * (at_ends + 1.0),
            (start + delta)[:, None] + delta[:, None] * at_ends,
        )
        first = ends[:, 0] <= ends[:, 1]
        end = np.where(first, ends[:, 0], ends[:, 1])
        end_power_less_one = np.where(first, at_ends[:, 0], at_ends[:, 1])
        log_end = np.log(end)
        # log(shifted / end) at every node: in place where it can be, as arrays of pairs x
        # nodes are the cost of a fit.
        if power_other.max(initial=0.0) > ROUNDING_POWER:
            shifted = less_one[codes]
            shifted -= end_power_less_one[:, None]
            shifted *= delta[:, None]  # shifted - end, without cancellation
            log_relative = np.log1p(shifted / end[:, None])
            shifted += end[:, None]
        else:
            shifted = np.concatenate([less_one, less_one + 1.0])[codes + growing * len(values)]
            shifted *= delta[:, None]
            shifted += np.where(growing, start, start + delta)[:, None]
            log_relative = np.log(shifted)
            log_relative -= log_end[:, None]
        mass = log_relative * -power_other[:, None]  # the exponent, less its top -k_o log(end)
        top = -power_other * log_end
        np.exp(mass, out=mass)
        mass *= _WEIGHTS
        total_mass = mass.sum(axis=1)
        log_start = np.log(start)
        top += power_other * log_start
        log_value = -total * log_start - np.log(total) + top + np.log(total_mass)
        log_scaled = _log_scaled(
            (r, alpha, s, beta), by_alpha, x, t, delta, log_start, total, total_mass,
            end_power_less_one,
        )  # fmt: skip
    if not with_gradient:
        return Tail(log_value=log_value, gradient=None, log_scaled=log_scaled)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # At the nodes: log(c+tau) = log(c+t) - log y / total, 1/(c+tau) = y^p / (c+t),
        # log(o+tau) = log(c+tau) + log(shifted / (c+t)), 1/(o+tau) = y^p / shifted.
        y_power = np.exp(log_y_power)[codes]
        log_c = log_start - np.einsum("ij,j->i", mass, _LOG_Y) / total_mass / total
        log_other = (
            log_c + np.einsum("ij,ij->i", mass, log_relative) / total_mass + log_end - log_start
        )
        inverse_c = np.einsum("ij,ij->i", mass, y_power) / total_mass / start
        y_power /= shifted
        inverse_other = np.einsum("ij,ij->i", mass, y_power) / total_mass
    gradient = np.column_stack(
        [
            -np.where(by_alpha, log_c, log_other),
            -power_alpha * np.where(by_alpha, inverse_c, inverse_other),
            -np.where(by_alpha, log_other, log_c),
            -power_beta * np.where(by_alpha, inverse_other, inverse_c),
        ]
    )
    return Tail(log_value=log_value, gradient=gradient, log_scaled=log_scaled)


def _log_scaled(
    params: tuple[float, float, float, float],
    by_alpha: np.ndarray,
    x: np.ndarray,
    t: np.ndarray,
    delta: np.ndarray,
    log_start: np.ndarray,
    total: np.ndarray,
    total_mass: np.ndarray,
    end_power_less_one: np.ndarray,
) -> np.ndarray:
    """log(alpha^r beta^s G) of `tail`, term by term. With P_c, P_o the shapes of the factors
    c and o (r of alpha, s of beta), shifted_e the integrand's (o+tau)(c+t)/(c+tau) at its
    top end (``end_power_less_one`` = y^p - 1 there):

        log G = -(total - k_o) log(c+t) - k_o log shifted_e - log total + log(mass), so
        log(c^P_c o^P_o G) = -P_c log(1 + t/c) - (total - k_o - P_c) log(c+t)
                             - P_o log(1 + (shifted_e - o)/o) - (k_o - P_o) log shifted_e
                             - log total + log(mass),

    where shifted_e - o = t + (o - c)(y^p - 1): no difference of large numbers."""
    r, alpha, s, beta = params
    c_shape, o_shape = np.where(by_alpha, r, s), np.where(by_alpha, s, r)
    c, o = np.where(by_alpha, alpha, beta), np.where(by_alpha, beta, alpha)
    c_extra = np.where(by_alpha, x - 1.0, 0.0)  # total - k_o - P_c
    o_extra = np.where(by_alpha, 1.0, x)  # k_o - P_o
    excess = t + delta * end_power_less_one
    return (
        -c_shape * np.log1p(t / c)
        - c_extra * log_start
        - o_shape * np.log1p(excess / o)
        - o_extra * np.log(o + excess)
        - np.log(total)
        + np.log(total_mass)
    )


def _dropped(
    params: tuple[float, ...], data: dict[str, Any], pairs: Tail
) -> tuple[np.ndarray, np.ndarray]:
    """log of alpha^r beta^s s [G(x, t_x) - G(x, T)] (death between the last purchase and T)
    per customer, -inf where t_x = T, and G(x, T) / G(x, t_x)."""
    s = params[2]
    last, age, scaled = data["last_pair"], data["age_pair"], pairs.log_scaled
    ratio = np.exp(scaled[age] - scaled[last])
    with np.errstate(divide="ignore"):
        return np.log(s) + scaled[last] + np.log1p(-ratio), ratio


def _alive(params: tuple[float, ...], data: dict[str, Any]) -> np.ndarray:
    """log[alpha^r beta^s (alpha+T)^-(r+x) (beta+T)^-s]: alive at T, as
    -r log(1 + T/alpha) - s log(1 + T/beta) - x log(alpha+T), exact at large r and s."""
    r, alpha, s, beta = params
    age = data["T"]
    return (
        log_scaled_power(r, alpha, data["frequency"].full, age)
        - (s * np.log1p(age.values / beta))[age.codes]
    )


def _tails(params: tuple[float, ...], data: dict[str, Any], with_gradient: bool) -> Tail:
    r, alpha, s, beta = params
    return tail(r, alpha, s, beta, data["pair_frequency"], data["pair_time"], with_gradient)


def row_log_likelihood(params: tuple[float, ...], data: dict[str, Any]) -> np.ndarray:
    """Log of note 009 eq. 18 per customer:

    L = G(r+x) alpha^r beta^s / G(r) [(alpha+T)^-(r+x) (beta+T)^-s + s (G(x, t_x) - G(x, T))].
    """
    r = params[0]
    front = data["frequency"].map(lambda v: log_rising(r, v))
    dropped, _ = _dropped(params, data, _tails(params, data, False))
    return front + np.logaddexp(_alive(params, data), dropped)


def weighted_terms(
    params: tuple[float, ...], data: dict[str, Any], weights: np.ndarray
) -> tuple[float, np.ndarray]:
    """sum(weights * log L) and its derivatives by r, alpha, s and beta.

    Per customer, d log L = d front + (1 - w_D) d alive + w_D d dropped, w_D the dropped
    term's share of L; d dropped = [d G(t_x) - rho d G(T)] / (1 - rho) / G(t_x) with
    rho = G(T)/G(t_x) (and + 1/s by s). The sums over customers are taken per distinct x,
    T and (x, t) pair (bincount), so no customer-by-parameter table is built.
    """
    r, alpha, s, beta = params
    x, age = data["frequency"], data["T"]
    pairs = _tails(params, data, True)
    assert pairs.gradient is not None
    dropped, ratio = _dropped(params, data, pairs)
    log_alpha_age, log_beta_age = np.log(alpha + age.values), np.log(beta + age.values)
    alive = _alive(params, data)
    total_weight = float(weights.sum())
    x_weights = np.bincount(x.codes, weights, len(x.values))
    front = x_weights @ log_rising(r, x.values)
    log_sum, share_dropped = log_sum_and_share(alive, dropped)
    total = front + float(np.sum(weights * log_sum))
    on_alive = weights * (1 - share_dropped)
    with np.errstate(divide="ignore", invalid="ignore"):
        on_dropped = np.where(share_dropped > 0, weights * share_dropped / (1 - ratio), 0.0)
    alive_by_age = np.bincount(age.codes, on_alive, len(age.values))
    alive_x_by_age = np.bincount(age.codes, on_alive * x.full, len(age.values))
    inverse_alpha_age, inverse_beta_age = 1 / (alpha + age.values), 1 / (beta + age.values)
    count = len(pairs.log_value)
    by_pair = np.bincount(data["last_pair"], on_dropped, count) - np.bincount(
        data["age_pair"], on_dropped * ratio, count
    )
    gradient = (
        np.array(
            [
                x_weights @ rising_slope(r, x.values)
                + total_weight * np.log(alpha)
                - alive_by_age @ log_alpha_age,
                total_weight * r / alpha - (r * alive_by_age + alive_x_by_age) @ inverse_alpha_age,
                total_weight * np.log(beta)
                - alive_by_age @ log_beta_age
                + float(np.sum(weights * share_dropped)) / s,
                total_weight * s / beta - s * alive_by_age @ inverse_beta_age,
            ]
        )
        + by_pair @ pairs.gradient
    )
    return float(total), gradient


def _with_pairs(frequency: np.ndarray, recency: np.ndarray, age: np.ndarray) -> dict[str, Any]:
    """The histories (x and T as Levels) with their distinct (x, t) pairs, t_x and T alike,
    and each row's two."""
    pairs = compress(
        {"x": np.concatenate([frequency, frequency]), "t": np.concatenate([recency, age])}
    )
    count = len(frequency)
    return {
        "frequency": Levels.of(frequency),
        "T": Levels.of(age),
        "pair_frequency": Levels.of(pairs.values["x"]),
        "pair_time": pairs.values["t"],
        "last_pair": pairs.inverse[:count],
        "age_pair": pairs.inverse[count:],
    }


class ParetoNBD(FittedModel):
    """Pareto/NBD fitted by maximum likelihood: ``ParetoNBD().fit(frequency, recency, T)``.

    ``params`` holds r, alpha, s and beta (alpha and beta in the time unit of the data).
    """

    model_name = "Pareto/NBD"
    parameter_names = ("r", "alpha", "s", "beta")

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> ParetoNBD:  # noqa: N803
        """Maximum-likelihood estimates; ``weights`` counts customers with identical rows."""
        columns = read_history(self.model_name, frequency, recency, T, weights)
        rows = compress(columns.values, columns.weights)
        self._store(
            fit_rows(
                row_log_likelihood,
                _with_pairs(*(rows.values[k] for k in ("frequency", "recency", "T"))),
                rows.weights,
                self.parameter_names,
                _STARTS,
                self.model_name,
                scale=mean_scale(rows.values["T"], rows.weights),
                scaled_columns=("T", "pair_time"),
                scaled_params=("alpha", "beta"),
                weighted_terms=weighted_terms,
                axes=ratio_axes(2),  # log r, the mean rate, log s, the mean drop-out
                warm=self.params,
                limit=None if self.params else pareto_nbd_corner(rows),
            )
        )
        return self

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """P(alive | x, t_x, T) = 1 / (1 + s (G(x, t_x) - G(x, T)) (alpha+T)^(r+x) (beta+T)^s)
        (note 009 eq. 24: the alive term's share of the likelihood)."""
        columns = read_history(self.model_name, frequency, recency, T).values
        params = self._values()
        data = _with_pairs(columns["frequency"], columns["recency"], columns["T"])
        dropped, _ = _dropped(params, data, _tails(params, data, False))
        return expit(_alive(params, data) - dropped)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """E[Y(t) | x, t_x, T] (note 009 eq. 41): expected purchases in the next ``t`` units.

        = P(alive) (r+x)/(alpha+T) (beta+T)/(s-1) [1 - ((beta+T)/(beta+T+t))^(s-1)].
        """
        columns = read_history(self.model_name, frequency, recency, T).values
        x, age = columns["frequency"], columns["T"]
        alive = self.probability_alive(x, columns["recency"], age)
        return alive * self.expected_purchases_if_alive(t, x, age)

    def expected_purchases_if_alive(self, t: Any, frequency: Any, T: Any) -> np.ndarray:  # noqa: N803
        """E[Y(t) | alive, x, T] = (r+x)/(alpha+T) (beta+T)/(s-1) [1 - ((beta+T)/(beta+T+t))^(s-1)]
        (note 009 eq. 41 without P(alive)), broadcast over t, x and T."""
        r, alpha, s, beta = self._values()
        x, age = np.asarray(frequency, dtype=float), np.asarray(T, dtype=float)
        return (r + x) / (alpha + age) * _lifetime_exposure(s, beta + age, t)

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray:
        """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (note 009 eq. 27)."""
        r, alpha, s, beta = self._values()
        return r / alpha * _lifetime_exposure(s, beta, t)


def _lifetime_exposure(s: float, beta: Any, t: Any) -> np.ndarray:
    """Expected time alive within the next t: beta/(s-1) [1 - (1 + t/beta)^-(s-1)].

    Written with expm1/log1p so that it tends smoothly to beta log(1 + t/beta) at s = 1.
    """
    growth = np.log1p(np.asarray(t, dtype=float) / beta)
    if abs(s - 1) < 1e-12:
        return beta * growth
    return beta * -np.expm1(-(s - 1) * growth) / (s - 1)
