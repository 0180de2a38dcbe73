"""Stable entry point for the seed formulas (the README and the add-in name ``clv_xl.formulas``).

Their home is :mod:`clv_xl.functions.formulas`.
"""

from clv_xl.functions import formulas as _home
from clv_xl.functions.formulas import *  # noqa: F403

__all__ = _home.__all__
