"""Cohorts: acquisition month x months since the first order, and revenue retention per
year (NRR and GRR, the library's formulas)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from clv_xl.functions import formulas
from clv_xl.functions.formulas import MONTHS_PER_YEAR
from clv_xl.models.integer_keys import run_starts


def cohort_matrices(
    lines: pd.DataFrame, customers: pd.DataFrame, as_of: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Acquisition month x months since first order: the share of the cohort's customers
    who bought in that month, and the revenue to date per cohort customer. Months after the
    analysis date are left empty."""
    # The cohorts (months of first order), each customer's as a position in them, sizes.
    cohort_of, cohorts = pd.factorize(_month_number(customers["first_order"].to_numpy()), sort=True)
    sizes = np.bincount(cohort_of, minlength=len(cohorts))
    counts = pd.Series(sizes, index=cohorts)
    # Each line's customer as a position in ``customers`` (-1: refunds of no customer), and
    # its month, once for both matrices; 32 bits: at millions of lines each array is tens of MB.
    position = customers.index.get_indexer(lines["customer"].cat.categories).astype(np.int32)
    customer = position[lines["customer"].cat.codes.to_numpy()]
    known = customer >= 0
    customer = customer[known]
    month = _month_number(lines["date"].to_numpy()[known]).astype(np.int32)
    amount = lines["amount"].to_numpy()[known]
    del known
    share = _buyers(customer, month, amount >= 0, cohorts, cohort_of).div(counts, axis=0)
    revenue = _revenue(customer, month, amount, cohorts, cohort_of)
    revenue = revenue.cumsum(axis=1).div(counts, axis=0)
    return _observed(share, as_of, fill_forward=False), _observed(revenue, as_of, fill_forward=True)


def _buyers(
    customer: np.ndarray,
    month: np.ndarray,
    buys: np.ndarray,
    cohorts: np.ndarray,
    cohort_of: np.ndarray,
) -> pd.DataFrame:
    """Per cohort and month since the first order, the customers who bought: the distinct
    (customer, month) pairs of purchases, keyed as one (first x width + second)."""
    first, span = int(month.min()), int(month.max()) + 1 - int(month.min())
    keys = customer[buys].astype(np.int64)
    keys *= span
    keys += month[buys]
    keys -= first
    keys.sort()  # in place: a tenth of the time and a fifth of the memory of hashing
    pairs = keys[run_starts(keys)]
    del keys
    cohort = cohort_of[pairs // span]
    age = pairs % span + first - cohorts[cohort]
    width = age.max() + 1
    buyers = np.bincount(cohort * width + age, minlength=len(cohorts) * width)
    return pd.DataFrame(buyers.reshape(len(cohorts), width), index=cohorts)


def _revenue(
    customer: np.ndarray,
    month: np.ndarray,
    amount: np.ndarray,
    cohorts: np.ndarray,
    cohort_of: np.ndarray,
) -> pd.DataFrame:
    """Per cohort and month since the first order (refunds before it at negative months),
    the lines' amounts summed in row order."""
    cohort = cohort_of.astype(np.int32)[customer]
    age = month - cohorts.astype(np.int32)[cohort]
    low, width = int(age.min()), int(age.max()) + 1 - int(age.min())
    cell = cohort.astype(np.int64)
    cell *= width
    cell += age
    cell -= low
    revenue = np.bincount(cell, amount, minlength=len(cohorts) * width)
    return pd.DataFrame(
        revenue.reshape(len(cohorts), width), index=cohorts, columns=range(low, low + width)
    )


def _observed(matrix: pd.DataFrame, as_of: dt.date, fill_forward: bool) -> pd.DataFrame:
    """A cohort matrix over the months 0 on that some cohort can be seen in by ``as_of`` (a
    month without lines 0, or the month before's figure with ``fill_forward``), empty where
    the cohort cannot be seen yet; cohorts labelled YYYY-MM."""
    observable = (
        _month_number(np.array([as_of], dtype="datetime64[ns]"))[0] - matrix.index.to_numpy()
    )
    ages = np.arange(int(observable.max()) + 1 if len(observable) else 0)
    matrix = matrix.reindex(columns=ages)
    matrix = matrix.ffill(axis=1) if fill_forward else matrix.fillna(0.0)
    matrix = matrix.where(ages[None, :] <= observable[:, None])
    matrix.index = [f"{n // MONTHS_PER_YEAR}-{n % MONTHS_PER_YEAR + 1:02d}" for n in matrix.index]
    matrix.index.name = "cohort"
    matrix.columns.name = "months since first order"
    return matrix


def _month_number(dates: np.ndarray) -> np.ndarray:
    """Year x 12 + month - 1 of each datetime64."""
    return dates.astype("datetime64[M]").astype(np.int64) + 1970 * MONTHS_PER_YEAR


def revenue_retention(lines: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Per 12-month year up to the analysis date: NRR and GRR of last year's buyers.

    For the customers with revenue in the previous year: start = that revenue;
    a customer with none this year churned it all; less is contraction, more is
    expansion. NRR = (start + expansion - contraction - churned) / start and
    GRR = (start - contraction - churned) / start (the library's nrr and grr).
    """
    after_end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    data_start = lines["date"].min().to_period("M").to_timestamp()  # a year may start that month
    years = 0  # 12-month years, counted back from the analysis date, that the data cover
    while after_end - pd.DateOffset(years=years + 1) >= data_start:
        years += 1
    edges = [after_end - pd.DateOffset(years=k) for k in range(years, -1, -1)]  # oldest first
    year = np.searchsorted(np.array(edges, dtype="datetime64[ns]"), lines["date"], side="right")
    # Row: customer code; column y: revenue in the year ending at edges[y] (0 = before the
    # first edge). Summed by one key, customer x width + year, each key's lines in order.
    width = years + 2
    codes = lines["customer"].cat.codes.to_numpy()
    key = codes.astype(np.int64)  # built in place: at millions of lines each array is 40 MB
    key *= width
    key += year
    del year
    amount = lines["amount"].to_numpy()
    if (codes < 0).any():
        key, amount = key[codes >= 0], amount[codes >= 0]
    revenue = np.bincount(
        key, weights=amount, minlength=len(lines["customer"].cat.categories) * width
    )
    revenue = pd.DataFrame(revenue.reshape(-1, width))
    rows = []
    for y in range(2, years + 1):
        before, now = revenue[y - 1], revenue[y]
        before, now = before[before > 0], now[before > 0].clip(lower=0)
        change = now - before
        stayed = now > 0
        row = {
            "year_to": (edges[y] - pd.Timedelta(days=1)).date(),
            "customers_at_start": len(before),
            "customers_retained": int(stayed.sum()),
            "start_revenue": before.sum(),
            "expansion": change[stayed & (change > 0)].sum(),
            "contraction": -change[stayed & (change < 0)].sum(),
            "churned": before[~stayed].sum(),
        }
        rows.append(row)
    table = pd.DataFrame(
        rows,
        columns=[
            "year_to", "customers_at_start", "customers_retained", "start_revenue",
            "expansion", "contraction", "churned",
        ],
    )  # fmt: skip
    # A year after one without buyers has no start revenue: its NRR and GRR stay blank.
    rates = (table["start_revenue"], table["expansion"], table["contraction"], table["churned"])
    table["nrr"] = formulas.nrr.evaluate(*(r.to_numpy() for r in rates)).values
    table["grr"] = formulas.grr.evaluate(*(r.to_numpy() for r in rates[:1] + rates[2:])).values
    return table


def curves_by_year(matrix: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Average the monthly cohorts of each acquisition year, weighted by cohort size.

    Only cohorts observed that many months count towards each point.
    """
    sizes = customers.groupby("cohort_month").size().reindex(matrix.index)
    years = matrix.index.str[:4]
    weights = matrix.notna().mul(sizes, axis=0)
    totals = matrix.fillna(0.0).mul(sizes, axis=0).groupby(years).sum()
    curves = (totals / weights.groupby(years).sum().where(lambda w: w > 0)).T
    curves.index.name = "months since first order"
    curves.columns.name = "acquisition year"
    return curves
