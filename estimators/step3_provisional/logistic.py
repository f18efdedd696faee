"""Penalised logistic regression (Newton's method with step halving), the provisional
model's solver; numpy only (with threadpoolctl to keep its BLAS on few threads).

The penalty shrinks the coefficients towards a prior, not towards zero: each lag band's
model towards the next band's, so a band with few crossings to learn from stays close
to its neighbour instead of separating its handful of cases perfectly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits


@contextmanager
def blas_threads(threads: int) -> Iterator[None]:
    """numpy's BLAS on at most `threads` threads while the block runs (0: its default)."""
    if threads <= 0:
        yield
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def logistic(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_logistic(
    x: np.ndarray, y: np.ndarray, ridge: float, case_weight: np.ndarray | None = None,
    iterations: int = 25, start: np.ndarray | None = None, prior: np.ndarray | None = None,
) -> np.ndarray:
    """Coefficients maximising the case-weighted log-likelihood less
    ridge / 2 * |beta - prior|^2 (prior 0 when not given),
    from `start` (else the prior). `y` may be fractional (a probability): the same score
    equations then fit its expectation."""
    case_weight = np.ones(len(y)) if case_weight is None else case_weight
    prior = np.zeros(x.shape[1]) if prior is None else prior
    beta = (prior if start is None else start).copy()
    if len(y) == 0:
        return beta
    # The intercept is shrunk too: a band whose few rows all failed would otherwise
    # drive it to minus infinity.
    penalty = ridge * np.ones(x.shape[1])

    def evaluate(b: np.ndarray) -> tuple[float, np.ndarray]:
        # Clipped as the probabilities are: a separable band saturates, not overflows.
        z = np.clip(x @ b, -30, 30)
        value = float((case_weight * (y * z - np.logaddexp(0.0, z))).sum()
                      - 0.5 * (penalty * (b - prior) ** 2).sum())
        return value, z

    current, z = evaluate(beta)
    for _ in range(iterations):
        p = logistic(z)
        weight = case_weight * p * (1 - p)
        # A BLAS product, run on one thread by the caller (`training.fit_at`): with
        # threads it crawls on a shared, busy machine, and einsum is 5 times slower.
        hessian = (x * weight[:, None]).T @ x + np.diag(penalty)
        gradient = x.T @ (case_weight * (y - p)) - penalty * (beta - prior)
        step = np.linalg.solve(hessian, gradient)
        # Halve the Newton step until the penalised likelihood rises: with rare events
        # and a start far off, a full step can overshoot into saturation.
        for _ in range(30):
            trial, z_trial = evaluate(beta + step)
            if trial >= current - 1e-9 * abs(current):
                break
            step = step / 2
        beta = beta + step
        current, z = trial, z_trial
        if np.max(np.abs(step)) < 1e-5:
            break
    return beta
