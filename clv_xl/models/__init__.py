"""Buy-till-you-die models: BG/NBD, Pareto/NBD and their no-drop-out limits (NBD, Poisson),
Gamma-Gamma spend and its limit (each customer's own mean), sBG retention.

Maximum-likelihood fits in the scikit-learn style (``fit(...)`` returns the model, with
``params``, ``standard_errors``, ``log_likelihood`` and ``convergence``), their
predictions, predicted CLV and ``rfm_summary`` to build the inputs from orders.
"""

from clv_xl.models._errors import ModelDataError, NotFittedError
from clv_xl.models._mle import Convergence
from clv_xl.models.beta_geo import BetaGeo
from clv_xl.models.clv import predicted_clv
from clv_xl.models.gamma_gamma import GammaGamma
from clv_xl.models.no_drop_out import NBD, Poisson
from clv_xl.models.pareto_nbd import ParetoNBD
from clv_xl.models.purchase_choice import fit_purchases
from clv_xl.models.rfm import PurchaseDays, check_orders, purchase_days, rfm_summary, summarise
from clv_xl.models.shifted_beta_geo import ShiftedBetaGeo
from clv_xl.models.spend_choice import CommonMeanSpend, OwnMeanSpend, fit_spend
from clv_xl.models.units import DAYS_PER_UNIT, days_per

__all__ = [
    "DAYS_PER_UNIT",
    "NBD",
    "BetaGeo",
    "CommonMeanSpend",
    "Convergence",
    "GammaGamma",
    "ModelDataError",
    "NotFittedError",
    "OwnMeanSpend",
    "ParetoNBD",
    "Poisson",
    "PurchaseDays",
    "ShiftedBetaGeo",
    "check_orders",
    "days_per",
    "fit_purchases",
    "fit_spend",
    "predicted_clv",
    "purchase_days",
    "rfm_summary",
    "summarise",
]
