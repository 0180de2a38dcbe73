"""The buy-till-you-die models as checked worksheet formulas, over :mod:`clv_xl.models`.

Two kinds, both called like :class:`~clv_xl.functions.arguments.Formula` (the library call raises
:class:`~clv_xl.errors.FormulaError`; ``evaluate(...).cells()`` is what Excel gets):

* predictions per cell (``prob_alive``, ``expected_purchases``, ``expected_spend``,
  ``sbg_retention``, ``sbg_survival``): broadcasting formulas whose arguments are declared
  like the closed-form ones, so a bad cell gets its own Excel error. The maths is the
  models' own: each distinct set of parameters becomes ``Model.from_params(...)``.
* fits over whole columns (``bgnbd_fit``, ``gg_fit``, ``sbg_fit``): a labelled table of
  the maximum-likelihood estimates, their standard errors and the log-likelihood. Every
  cell is checked with the same declarations as the predictions; one bad cell, or data
  the model cannot fit, fails the whole fit with one Excel error.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from clv_xl.errors import NUM, VALUE, ClvError, FormulaError
from clv_xl.functions.arguments import Arg, Bound, Formula, Grid, Rule, formula
from clv_xl.models import BetaGeo, GammaGamma, ShiftedBetaGeo

if TYPE_CHECKING:
    from clv_xl.models._mle import FittedModel

ESTIMATE, STD_ERROR = "estimate", "std. error"
LOG_LIKELIHOOD, CONVERGED, NOTES = "log-likelihood", "converged", "notes"

COUNT = Bound("a whole number of zero or more", low=0.0)
DURATION = Bound("zero or more, in the time unit of the data (e.g. weeks)", low=0.0)
AMOUNT = Bound("zero or more, in currency", low=0.0)
PARAMETER = Bound("above 0, as estimated by the fit", low=0.0, low_open=True)
SPEND_SHAPE = Bound(
    "above 1 (at 1 or below the expected spend is infinite)", low=1.0, low_open=True
)
RENEWAL_PERIOD = Bound("a whole period number from 1", low=1.0)
SURVIVAL_PERIOD = Bound("a whole period number from 0", low=0.0)

FREQUENCY = Arg("Repeat purchases per customer: purchases after the first (whole numbers)", COUNT)
RECENCY = Arg(
    "Time from the customer's first to last purchase; 0 without repeat purchases", DURATION
)
AGE = Arg("T: time from the customer's first purchase to the end of the data", DURATION)
MONETARY_VALUE = Arg(
    "Mean value of the customer's repeat purchases, in currency (0 without repeats)", AMOUNT
)
SURVIVORS = Arg("Customers still active at the start of each period, cohort size first", COUNT)
BG_NBD = {
    "r": Arg("BG/NBD r (shape of the buying rates), from BGNBD_FIT", PARAMETER),
    "alpha": Arg(
        "BG/NBD alpha (scale, in the time unit of recency and T), from BGNBD_FIT", PARAMETER
    ),
    "a": Arg("BG/NBD a (drop-out shape), from BGNBD_FIT", PARAMETER),
    "b": Arg("BG/NBD b (drop-out shape), from BGNBD_FIT", PARAMETER),
}
GAMMA_GAMMA = {
    "p": Arg("Gamma-Gamma p (shape of a transaction's value), from GG_FIT", PARAMETER),
    "q": Arg("Gamma-Gamma q (shape across customers), from GG_FIT", SPEND_SHAPE),
    "gamma": Arg("Gamma-Gamma gamma (scale, in currency), from GG_FIT", PARAMETER),
}
SBG = {
    "alpha": Arg("sBG alpha (churn-probability shape), from SBG_FIT", PARAMETER),
    "beta": Arg("sBG beta (churn-probability shape), from SBG_FIT", PARAMETER),
}


def _fractional_frequency(frequency, **_):
    return frequency != np.round(frequency)


def _recency_after_age(recency, T, **_):  # noqa: N803
    return recency > T


def _recency_without_repeats(frequency, recency, **_):
    return (frequency == 0) & (recency > 0)


def _repeats_worth_nothing(frequency, monetary_value, **_):
    return (frequency > 0) & (monetary_value <= 0)


def _fractional_period(t, **_):
    return t != np.round(t)


WHOLE_FREQUENCY = Rule(_fractional_frequency, NUM, "frequency must be a whole number")
HISTORY = (
    WHOLE_FREQUENCY,
    Rule(_recency_after_age, NUM, "recency cannot be more than T"),
    Rule(
        _recency_without_repeats,
        NUM,
        "recency must be 0 for a customer without repeat purchases (frequency 0)",
    ),
)
SPEND = (
    WHOLE_FREQUENCY,
    Rule(
        _repeats_worth_nothing,
        NUM,
        "monetary_value must be above 0 for a customer with repeat purchases",
    ),
)
WHOLE_PERIOD = Rule(_fractional_period, NUM, "t must be a whole number of periods")


# Predictions per cell ---------------------------------------------------------------------------
def _usable(
    cells: dict[str, np.ndarray], args: dict[str, Arg], rules: Sequence[Rule]
) -> np.ndarray:
    """Where every argument is a number inside its bound and no rule is broken."""
    usable = np.ones(np.shape(next(iter(cells.values()))), dtype=bool)
    with np.errstate(invalid="ignore"):
        for name, spec in args.items():
            usable &= np.isfinite(cells[name])
            if spec.bound is not None:
                usable &= ~spec.bound.outside(cells[name])
        for rule in rules:
            usable &= ~rule.broken(**cells)
    return usable


def model_formula(
    rules: Sequence[Rule] = (), **args: Arg
) -> Callable[[Callable[..., np.ndarray]], Formula]:
    """:func:`clv_xl.functions.arguments.formula` for a model's prediction.

    The models check a whole column and raise for one bad row; here the prediction
    sees only the cells that pass every check, as flat arrays, and the others get
    their Excel error from the declarations.
    """

    def wrap(predict: Callable[..., np.ndarray]) -> Formula:
        @functools.wraps(predict)
        def compute(**values: np.ndarray) -> np.ndarray:
            cells = dict(zip(values, np.broadcast_arrays(*values.values()), strict=True))
            usable = _usable(cells, args, rules)
            result = np.full(usable.shape, np.nan)
            if usable.any():
                result[usable] = predict(**{name: cell[usable] for name, cell in cells.items()})
            return result

        return formula(rules, **args)(compute)

    return wrap


def _each_model(
    model_class: type[FittedModel],
    params: dict[str, np.ndarray],
    predict: Callable[[Any, np.ndarray], np.ndarray],
) -> np.ndarray:
    """``predict(model, rows)`` for each distinct set of parameters; ``rows`` selects its cells."""
    table = np.column_stack(list(params.values()))
    if (table == table[0]).all():  # the usual case: the parameters are single cells
        distinct, inverse = table[:1], np.zeros(len(table), dtype=int)
    else:
        distinct, inverse = np.unique(table, axis=0, return_inverse=True)
    result = np.empty(len(table))
    for index, values in enumerate(distinct):
        rows = np.ravel(inverse) == index
        model = model_class.from_params(**dict(zip(params, values.tolist(), strict=True)))
        result[rows] = predict(model, rows)
    return result


@model_formula(rules=HISTORY, frequency=FREQUENCY, recency=RECENCY, T=AGE, **BG_NBD)
def prob_alive(frequency, recency, T, r, alpha, a, b):  # noqa: N803
    """Probability that a customer is still active (alive), under the BG/NBD model.

    P = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)): Fader, Hardie & Lee
    (2008), note 021, as computed by :meth:`BetaGeo.probability_alive`.
    """
    return _each_model(
        BetaGeo,
        {"r": r, "alpha": alpha, "a": a, "b": b},
        lambda model, rows: model.probability_alive(frequency[rows], recency[rows], T[rows]),
    )


@model_formula(
    rules=HISTORY,
    # Not "t": VBA ignores case, so t and T would be one name in the classic add-in.
    horizon=Arg("The time ahead to count purchases in, in the time unit of T", DURATION),
    frequency=FREQUENCY,
    recency=RECENCY,
    T=AGE,
    **BG_NBD,
)
def expected_purchases(horizon, frequency, recency, T, r, alpha, a, b):  # noqa: N803
    """Expected purchases of a customer in the next t = horizon time units, under BG/NBD.

    E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
    2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] x P(alive): Fader, Hardie & Lee (2005) eq. 10,
    as computed by :meth:`BetaGeo.expected_purchases` (by the same expectation as an
    integral over the drop-out probability where that form is not finite, as at a = 1).
    """
    return _each_model(
        BetaGeo,
        {"r": r, "alpha": alpha, "a": a, "b": b},
        lambda model, rows: model.expected_purchases(
            horizon[rows], frequency[rows], recency[rows], T[rows]
        ),
    )


@model_formula(rules=SPEND, frequency=FREQUENCY, monetary_value=MONETARY_VALUE, **GAMMA_GAMMA)
def expected_spend(frequency, monetary_value, p, q, gamma):
    """Expected value of a customer's future purchases, under the Gamma-Gamma model.

    E(Z | x, m_x) = p (gamma + x m_x) / (p x + q - 1): Fader & Hardie (2013), note 025
    eq. 5, as computed by :meth:`GammaGamma.expected_spend`.
    """
    return _each_model(
        GammaGamma,
        {"p": p, "q": q, "gamma": gamma},
        lambda model, rows: model.expected_spend(frequency[rows], monetary_value[rows]),
    )


@model_formula(
    rules=(WHOLE_PERIOD,),
    t=Arg("Period number: 1 for the first renewal", RENEWAL_PERIOD),
    **SBG,
)
def sbg_retention(t, alpha, beta):
    """Share of the previous period's customers who renew in period t, under the sBG model.

    r_t = (beta + t - 1) / (alpha + beta + t - 1): Fader & Hardie (2007) eq. 4, as computed
    by :meth:`ShiftedBetaGeo.retention_rate`.
    """
    return _each_model(
        ShiftedBetaGeo,
        {"alpha": alpha, "beta": beta},
        lambda model, rows: model.retention_rate(t[rows]),
    )


@model_formula(
    rules=(WHOLE_PERIOD,),
    t=Arg("Period number: 0 for the start (everyone active)", SURVIVAL_PERIOD),
    **SBG,
)
def sbg_survival(t, alpha, beta):
    """Share of a cohort still active at the start of period t, under the sBG model.

    S(t) = B(alpha, beta + t) / B(alpha, beta): Fader & Hardie (2007) eq. 3, as computed by
    :meth:`ShiftedBetaGeo.survival`.
    """
    return _each_model(
        ShiftedBetaGeo,
        {"alpha": alpha, "beta": beta},
        lambda model, rows: model.survival(t[rows]),
    )


# Fits over whole columns -------------------------------------------------------------------------
@dataclass(frozen=True)
class FitTable:
    """A fitted model and its labelled table: a header row, the estimates, the std. errors."""

    model: FittedModel
    rows: list[list[Any]]

    def cells(self) -> Grid:
        """The table for Excel: a number that is not finite (no std. error) becomes #NUM!."""
        grid = Grid([list(row) for row in self.rows])
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                if isinstance(value, float) and not np.isfinite(value):
                    row[j] = NUM
                    grid.error_cells.append((i, j))
        return grid


def parameter_table(model: FittedModel, counts: dict[str, int]) -> list[list[Any]]:
    """Header, estimate and std. error rows; the first column labels them."""
    names = model.parameter_names
    convergence = model.convergence
    assert convergence is not None, "a fitted model has its convergence"
    header = [model.model_name, *names, LOG_LIKELIHOOD, *counts, CONVERGED, NOTES]
    estimate = [
        ESTIMATE,
        *(model.params[name] for name in names),
        model.log_likelihood,
        *counts.values(),
        convergence.converged,
        " ".join(convergence.warnings),
    ]
    errors = [STD_ERROR, *(model.standard_errors[name] for name in names)]
    return [header, estimate, errors + [""] * (len(header) - len(errors))]


def _blank(cells: np.ndarray) -> np.ndarray:
    return np.array(
        [cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells]
    )


class ModelFit:
    """A model fitted to worksheet columns, checked cell by cell like a :class:`Formula`.

    ``fit(*float_columns)`` returns the fitted model and the counts to show (customers
    used, left out). ``columns`` declares and checks every cell; rows blank in every
    column at the end of the ranges are not data and are left out.
    """

    __name__: str  # the wrapped function's, set by functools.update_wrapper

    def __init__(
        self,
        fit: Callable[..., tuple[FittedModel, dict[str, int]]],
        columns: Formula,
    ) -> None:
        self.fit = fit
        self.columns = columns
        self.args = columns.args
        self.signature = inspect.signature(fit)
        if list(self.signature.parameters) != list(self.args):
            raise TypeError(f"{fit.__name__}: columns must be declared as {list(self.args)}")
        functools.update_wrapper(self, fit)

    @property
    def summary(self) -> str:
        """The docstring's first line: what Excel's function wizard shows."""
        return (self.__doc__ or "").strip().splitlines()[0]

    def __call__(self, *columns: Any) -> FitTable:
        return self.evaluate(*columns)

    def evaluate(self, *columns: Any) -> FitTable:
        """Fit the model; any bad cell, or data the model cannot fit, raises FormulaError."""
        if len(columns) != len(self.args):
            raise FormulaError(f"{self.__name__} takes the columns {', '.join(self.args)}")
        cells = self._filled_rows(columns)
        self.columns(*cells)  # raises FormulaError naming the first bad cell
        try:
            model, counts = self.fit(*(cell.astype(float) for cell in cells))
        except ClvError as problem:
            raise FormulaError(f"{self.__name__}: {problem}", NUM) from None
        return FitTable(model=model, rows=parameter_table(model, counts))

    def _filled_rows(self, columns: Sequence[Any]) -> list[np.ndarray]:
        try:
            cells = [np.ravel(np.asarray(column, dtype=object)) for column in columns]
        except ValueError:  # ragged nested lists
            raise FormulaError(f"{self.__name__}: each column must be a range of cells") from None
        lengths = {len(column) for column in cells}
        if len(lengths) > 1:
            sizes = ", ".join(f"{n} {len(c)}" for n, c in zip(self.args, cells, strict=True))
            raise FormulaError(f"{self.__name__}: the columns must be equally long ({sizes})")
        filled = ~np.logical_and.reduce([_blank(column) for column in cells])
        if not filled.any():
            raise FormulaError(f"{self.__name__}: the columns hold no data", VALUE)
        end = len(filled) - int(np.argmax(filled[::-1]))
        return [column[:end] for column in cells]


def model_fit(columns: Formula) -> Callable[[Callable[..., Any]], ModelFit]:
    """Declare a fit over worksheet columns, checked by the formula ``columns``."""

    def wrap(fit: Callable[..., Any]) -> ModelFit:
        return ModelFit(fit, columns)

    return wrap


@formula(rules=HISTORY, frequency=FREQUENCY, recency=RECENCY, T=AGE)
def purchase_history(frequency, recency, T):  # noqa: N803
    """The checks on one customer's purchase history; its weight in a fit is 1."""
    return np.ones(np.shape(frequency))


@formula(rules=SPEND, frequency=FREQUENCY, monetary_value=MONETARY_VALUE)
def spend_history(frequency, monetary_value):
    """The checks on one customer's spend; its weight in a fit is 1."""
    return np.ones(np.shape(frequency))


@formula(survivors=SURVIVORS)
def survival_count(survivors):
    """The check on one count of a survival table: customers, zero or more."""
    return np.ones(np.shape(survivors))


@model_fit(purchase_history)
def bgnbd_fit(frequency, recency, T):  # noqa: N803
    """Fit the BG/NBD model to customers' histories; spills r, alpha, a, b with std. errors.

    Maximum likelihood, Fader, Hardie & Lee (2005) eq. 6, by :meth:`BetaGeo.fit`.
    """
    return BetaGeo().fit(frequency, recency, T), {"customers": len(frequency)}


@model_fit(spend_history)
def gg_fit(frequency, monetary_value):
    """Fit the Gamma-Gamma spend model; spills p, q, gamma with std. errors.

    Maximum likelihood on the customers with repeat purchases, Fader & Hardie (2013) note
    025 eq. 3, by :meth:`GammaGamma.fit`; the others are counted as left out.
    """
    model = GammaGamma().fit(frequency, monetary_value)
    left_out = int(model.customers_without_repeat_purchases)
    return model, {"customers": len(frequency) - left_out, "left out (no repeats)": left_out}


@model_fit(survival_count)
def sbg_fit(survivors):
    """Fit the sBG retention model to a survival table; spills alpha, beta with std. errors.

    Maximum likelihood, Fader & Hardie (2007) eq. B3, by :meth:`ShiftedBetaGeo.fit`.
    """
    return ShiftedBetaGeo().fit(survivors), {"periods": len(survivors) - 1}


#: Every model worksheet function, grouped by model: fit first, then its predictions.
ALL = (
    bgnbd_fit,
    prob_alive,
    expected_purchases,
    gg_fit,
    expected_spend,
    sbg_fit,
    sbg_retention,
    sbg_survival,
)
