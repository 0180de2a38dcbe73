"""The bundled sample orders: a realistic web retailer, made reproducibly from a seed.

Customers arrive over the period (more of them later, as the business grows),
each through one channel and in one country. Purchases follow the BG/NBD story
(Fader, Hardie & Lee 2005): while alive, a customer buys at a Poisson rate drawn
from a gamma distribution, and after each purchase drops out with a probability
drawn from a beta distribution. Order values are lognormal around a customer's
own mean (Gamma-Gamma in spirit), which depends on the channel; costs leave a 25
to 45% margin, and about 2% of orders are later refunded (credit note "CR-..."
for order "SO-..."). Everything is drawn with one numpy Generator, vectorised:
100,000 customers (about a million rows) take a few seconds.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from clv_xl.report.fastsheet import LargeTable, fill
from clv_xl.report.style import font

COLUMNS = ("Order ID", "Customer ID", "Order date", "Amount", "Cost", "Channel", "Country")
CHANNELS = ("Webshop", "Marketplace", "Retail store", "Newsletter")
CHANNEL_SHARES = (0.45, 0.25, 0.18, 0.12)
CHANNEL_ORDER_VALUES = (70.0, 45.0, 95.0, 60.0)  # median order value of a typical customer, EUR
CHANNEL_RATE_FACTORS = (1.0, 0.8, 0.7, 1.4)  # newsletter customers buy most often
COUNTRIES = ("NL", "BE", "DE", "FR")
COUNTRY_SHARES = (0.50, 0.25, 0.15, 0.10)
ACQUISITION_GROWTH = 1.25  # acquisition density grows as t ** 0.25 over the period
PURCHASE_RATE_SHAPE, PURCHASE_RATE_SCALE = 1.5, 8.0  # gamma, purchases a year while alive
DROPOUT_A, DROPOUT_B = 1.5, 24.0  # beta, chance of dropping out after each purchase
CUSTOMER_VALUE_SIGMA = 0.35  # lognormal spread of customers' mean order values
ORDER_VALUE_SIGMA = 0.5  # lognormal spread of one customer's order values
MINIMUM_ORDER = 1.0
MARGIN_LOW, MARGIN_HIGH = 0.25, 0.45
REFUND_SHARE = 0.02
PARTIAL_REFUND_SHARE = 0.3  # refunds of half the order; the rest refund all of it
REFUND_DELAY_DAYS = (1, 30)
DAYS_PER_YEAR = 365.25
DATE_FORMAT = "dd-mm-yyyy"
MONEY_FORMAT = '"€" #,##0.00;[Red]"€" -#,##0.00'


def sample_orders(
    customers: int = 3000, seed: int = 7, start: dt.date = dt.date(2023, 1, 1), years: int = 3
) -> pd.DataFrame:
    """The sample orders table, sorted by date: one row per order or refund, columns COLUMNS."""
    rng = np.random.default_rng(seed)
    days = (dt.date(start.year + years, start.month, start.day) - start).days
    acquired = days * rng.power(ACQUISITION_GROWTH, customers)  # day of the first purchase
    channel = rng.choice(len(CHANNELS), customers, p=CHANNEL_SHARES)
    country = rng.choice(len(COUNTRIES), customers, p=COUNTRY_SHARES)
    rate = rng.gamma(PURCHASE_RATE_SHAPE, PURCHASE_RATE_SCALE, customers)
    rate *= np.take(CHANNEL_RATE_FACTORS, channel) / DAYS_PER_YEAR
    purchases_alive = rng.geometric(rng.beta(DROPOUT_A, DROPOUT_B, customers))
    owner, day = _purchase_days(rng, acquired, days - acquired, rate, purchases_alive - 1)

    typical_value = np.take(CHANNEL_ORDER_VALUES, channel) * rng.lognormal(
        0.0, CUSTOMER_VALUE_SIGMA, customers
    )
    value = typical_value[owner] * rng.lognormal(
        -(ORDER_VALUE_SIGMA**2) / 2, ORDER_VALUE_SIGMA, len(owner)
    )
    amount = np.maximum(np.round(value, 2), MINIMUM_ORDER)
    cost = np.round(amount * (1 - rng.uniform(MARGIN_LOW, MARGIN_HIGH, len(owner))), 2)
    order = np.lexsort((owner, day))  # by day, then customer
    owner, day, amount, cost = owner[order], day[order], amount[order], cost[order]
    number = np.arange(1, len(owner) + 1)

    refunded = np.flatnonzero(rng.random(len(owner)) < REFUND_SHARE)
    refund_day = day[refunded] + rng.integers(*REFUND_DELAY_DAYS, len(refunded), endpoint=True)
    refunded, refund_day = refunded[refund_day < days], refund_day[refund_day < days]
    share = np.where(rng.random(len(refunded)) < PARTIAL_REFUND_SHARE, 0.5, 1.0)

    customer_number = np.empty(customers, dtype=np.int64)
    customer_number[np.argsort(acquired, kind="stable")] = np.arange(1, customers + 1)
    owner = np.concatenate([owner, owner[refunded]])
    frame = pd.DataFrame(
        {
            "Order ID": np.concatenate([_codes("SO-", number), _codes("CR-", number[refunded])]),
            "Customer ID": _codes("C", customer_number[owner], width=6),
            "Order date": pd.Timestamp(start)
            + pd.to_timedelta(np.concatenate([day, refund_day]), unit="D"),
            "Amount": np.concatenate([amount, -np.round(amount[refunded] * share, 2)]),
            "Cost": np.concatenate([cost, -np.round(cost[refunded] * share, 2)]),
            "Channel": np.take(CHANNELS, channel[owner]),
            "Country": np.take(COUNTRIES, country[owner]),
        }
    )
    frame["Order date"] = frame["Order date"].astype("datetime64[ns]")
    return frame.sort_values(["Order date", "Order ID"], kind="stable", ignore_index=True)


def _purchase_days(
    rng: np.random.Generator,
    first_day: np.ndarray,
    window: np.ndarray,
    rate: np.ndarray,
    repeats_alive: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(customer index, whole day) of every purchase: the first, then the repeat purchases.

    A live customer's repeat purchases in the window are a Poisson process: their
    number is Poisson(rate x window) and their times are uniform order statistics,
    drawn as normalised cumulative exponential spacings (U_(j) = S_j / S_(n+1)). A
    customer who drops out after ``repeats_alive`` repeats keeps only the first ones.
    """
    possible = rng.poisson(rate * window)
    repeats = np.minimum(possible, repeats_alive)
    owner = np.repeat(np.arange(len(first_day)), repeats)
    spacing_sums = np.concatenate([[0.0], np.cumsum(rng.exponential(size=repeats.sum()))])
    group_end = np.cumsum(repeats)
    before = spacing_sums[group_end - repeats]
    within = spacing_sums[1:] - np.repeat(before, repeats)
    total = spacing_sums[group_end] - before + rng.gamma(possible - repeats + 1.0)
    repeat_day = first_day[owner] + window[owner] * within / total[owner]
    owners = np.concatenate([np.arange(len(first_day)), owner])
    return owners, np.floor(np.concatenate([first_day, repeat_day])).astype(np.int64)


def _codes(prefix: str, numbers: np.ndarray, width: int = 7) -> np.ndarray:
    """'SO-0000042' style codes."""
    return (prefix + pd.Series(numbers).astype("str").str.zfill(width)).to_numpy(dtype=object)


def write_orders(frame: pd.DataFrame, path: Path) -> Path:
    """Write an orders table as .xlsx (sheet "Orders", real dates, euro amounts) or as .csv
    the way Excel saves it in Dutch locales (";" separator, decimal comma, BOM, 31-01-2024)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        frame.to_csv(
            path,
            sep=";",
            decimal=",",
            index=False,
            encoding="utf-8-sig",
            date_format="%d-%m-%Y",
            float_format="%.2f",
        )
        return path
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Orders"
    sheet.freeze_panes = "A2"
    for column, name in enumerate(frame.columns, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = max(12, len(str(name)) + 4)
        sheet.cell(1, column, name).font = font(bold=True)
        values = frame[name]
        template = sheet.cell(2, column)  # the first row, whose styles every row takes
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            template.value, template.number_format = values.iloc[0].date(), DATE_FORMAT
        elif pd.api.types.is_float_dtype(values.dtype):
            template.value, template.number_format = float(values.iloc[0]), MONEY_FORMAT
        else:
            template.value = values.iloc[0]
    workbook.save(path)
    fill(path, [LargeTable("Orders", frame)])
    return path


def write_sample_orders(path: Path, *, customers: int = 3000, seed: int = 7) -> Path:
    """Write `sample_orders(customers, seed)` to ``path`` (.xlsx, or .csv in Dutch style)."""
    return write_orders(sample_orders(customers, seed), path)
