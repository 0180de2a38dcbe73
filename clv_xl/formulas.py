"""Stable entry point for the seed formulas (the README and the add-in name ``clv_xl.formulas``).

Their home is :mod:`clv_xl.functions.formulas`.
"""

from clv_xl.functions.formulas import (
    breakeven_lifetime,
    cac_payback,
    churn_rate,
    clv,
    clv_discounted,
    clv_from_lifetime,
    convert_rate,
    customer_lifetime,
    customer_value,
    gross_margin,
    grr,
    ltv_cac,
    markup,
    monthly_revenue,
    nrr,
    retention_rate,
)

__all__ = [
    "breakeven_lifetime",
    "cac_payback",
    "churn_rate",
    "clv",
    "clv_discounted",
    "clv_from_lifetime",
    "convert_rate",
    "customer_lifetime",
    "customer_value",
    "gross_margin",
    "grr",
    "ltv_cac",
    "markup",
    "monthly_revenue",
    "nrr",
    "retention_rate",
]
