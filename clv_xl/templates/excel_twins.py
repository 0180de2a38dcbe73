"""The library's formulas written as Excel expressions (:class:`ExcelTwin`), and the Excel
condition for an argument's bounds, as the template workbooks use them.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

from clv_xl.functions import formulas
from clv_xl.functions.arguments import Bound, Formula


@dataclass(frozen=True)
class ExcelTwin:
    """A library formula written as an Excel expression over its own argument names.

    ``expression`` uses ``{argument}`` placeholders; arguments it leaves out take
    the library's defaults unless ``assumes`` says otherwise.
    """

    formula: Formula
    expression: str
    assumes: str = ""

    def __post_init__(self) -> None:
        unknown = self.placeholders - set(self.formula.args)
        if unknown:
            raise TypeError(f"{self.formula.__name__} has no arguments {sorted(unknown)}")

    @property
    def placeholders(self) -> set[str]:
        return {field for _, field, _, _ in string.Formatter().parse(self.expression) if field}

    def excel(self, **references: str) -> str:
        """The expression with each argument replaced by a cell reference or defined name."""
        if set(references) != self.placeholders:
            raise TypeError(f"{self.formula.__name__} needs {sorted(self.placeholders)}")
        return self.expression.format(**references)


CLV = ExcelTwin(formulas.clv, "{revenue}*{margin}/{churn}")
LIFETIME = ExcelTwin(formulas.customer_lifetime, "1/{churn}")
DISCOUNTED_CLV = ExcelTwin(
    formulas.clv_discounted,
    "{margin}*(1+{discount_rate})/(1+{discount_rate}-{retention})",
    assumes='an endless horizon, the first margin at acquisition (timing "begin", the '
    "segment report's convention), no retention cost, and the acquisition cost left out",
)
LTV_CAC = ExcelTwin(formulas.ltv_cac, "{clv}/{cac}")
CAC_PAYBACK = ExcelTwin(formulas.cac_payback, "{cac}/({revenue}*{margin})")


def bound_condition(reference: str, bound: Bound) -> str:
    """An Excel condition that is TRUE when the referenced value lies inside ``bound``."""
    parts = [f"ISNUMBER({reference})"]
    if math.isfinite(bound.low):
        parts.append(f"{reference}{'>' if bound.low_open else '>='}{bound.low:g}")
    if math.isfinite(bound.high):
        parts.append(f"{reference}{'<' if bound.high_open else '<='}{bound.high:g}")
    return f"AND({','.join(parts)})"
