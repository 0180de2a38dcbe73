"""Buy-till-you-die models: BG/NBD, Pareto/NBD, Gamma-Gamma spend and sBG retention.

Maximum-likelihood fits in the scikit-learn style (``fit(...)`` returns the model, with
``params``, ``standard_errors``, ``log_likelihood`` and ``convergence``), their
predictions, predicted CLV and ``rfm_summary`` to build the inputs from orders.
"""

from ._errors import ModelDataError, NotFittedError
from ._mle import Convergence
from .beta_geo import BetaGeo
from .clv import predicted_clv
from .gamma_gamma import GammaGamma
from .pareto_nbd import ParetoNBD
from .rfm import check_orders, rfm_summary
from .shifted_beta_geo import ShiftedBetaGeo
from .units import DAYS_PER_UNIT, days_per

__all__ = [
    "DAYS_PER_UNIT",
    "BetaGeo",
    "Convergence",
    "GammaGamma",
    "ModelDataError",
    "NotFittedError",
    "ParetoNBD",
    "ShiftedBetaGeo",
    "check_orders",
    "days_per",
    "predicted_clv",
    "rfm_summary",
]
