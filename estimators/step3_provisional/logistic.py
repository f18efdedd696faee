"""Ridge-penalised logistic regression (iteratively reweighted least squares), the
provisional model's solver; numpy only."""

from __future__ import annotations

import numpy as np


def logistic(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))



def fit_logistic(
    x: np.ndarray, y: np.ndarray, ridge: float, case_weight: np.ndarray | None = None,
    iterations: int = 25, start: np.ndarray | None = None,
) -> np.ndarray:
    """Ridge-penalised (case-weighted) logistic regression by iteratively reweighted least
    squares. `y` may be fractional (a probability): the same score equations then fit
    its expectation."""
    case_weight = np.ones(len(y)) if case_weight is None else case_weight
    beta = np.zeros(x.shape[1]) if start is None else start.copy()
    if len(y) == 0:
        return beta
    penalty = ridge * np.eye(x.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk

    def objective(b: np.ndarray) -> float:
        # Clipped as the probabilities are: a separable band saturates, not overflows.
        z = np.clip(x @ b, -30, 30)
        return float((case_weight * (y * z - np.logaddexp(0.0, z))).sum()
                     - 0.5 * b @ penalty @ b)

    current = objective(beta)
    for _ in range(iterations):
        p = logistic(x @ beta)
        weight = case_weight * p * (1 - p)
        # einsum, not BLAS: a multithreaded BLAS crawls on a shared, busy machine.
        hessian = np.einsum("ij,ik->jk", x * weight[:, None], x) + penalty
        gradient = x.T @ (case_weight * (y - p)) - penalty @ beta
        step = np.linalg.solve(hessian, gradient)
        # Halve the Newton step until the penalised likelihood rises: with rare events
        # and a start far off, a full step can overshoot into saturation.
        for _ in range(30):
            trial = objective(beta + step)
            if trial >= current - 1e-9 * abs(current):
                break
            step = step / 2
        beta = beta + step
        current = trial
        if np.max(np.abs(step)) < 1e-5:
            break
    return beta
