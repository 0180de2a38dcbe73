"""The curvature at a maximum: the Hessian by central differences (of an exact gradient, or
of the function itself) and the covariance of the estimates as its inverse."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

HESSIAN_STEP = 1e-4


def log_covariance(hessian: np.ndarray) -> np.ndarray:
    """Covariance of the log-parameters, the inverse Hessian; NaN if it is not definite."""
    if not np.all(np.isfinite(hessian)) or np.linalg.eigvalsh(hessian).min() <= 0:
        return np.full(hessian.shape, np.nan)
    covariance = np.linalg.inv(hessian)
    if np.any(np.diag(covariance) <= 0):
        return np.full(hessian.shape, np.nan)
    return covariance


def jacobian_of(
    gradient: Callable[[np.ndarray], np.ndarray], x: np.ndarray, step: float = HESSIAN_STEP
) -> np.ndarray:
    """Hessian as the symmetrised central-difference Jacobian of an exact gradient."""
    unit = np.eye(len(x)) * step
    columns = [(gradient(x + unit[i]) - gradient(x - unit[i])) / (2 * step) for i in range(len(x))]
    jacobian = np.column_stack(columns)
    return (jacobian + jacobian.T) / 2


def numerical_hessian(
    function: Callable[[np.ndarray], float], x: np.ndarray, step: float = HESSIAN_STEP
) -> np.ndarray:
    """Central-difference Hessian of a scalar function (second order in ``step``)."""
    n = len(x)
    hessian = np.empty((n, n))
    centre = function(x)
    unit = np.eye(n) * step
    for i in range(n):
        hessian[i, i] = (function(x + unit[i]) - 2 * centre + function(x - unit[i])) / step**2
        for j in range(i):
            mixed = (
                function(x + unit[i] + unit[j])
                - function(x + unit[i] - unit[j])
                - function(x - unit[i] + unit[j])
                + function(x - unit[i] - unit[j])
            ) / (4 * step**2)
            hessian[i, j] = hessian[j, i] = mixed
    return hessian
