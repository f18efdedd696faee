"""Intervals of totals that add provisional probabilities: the Bernoulli variance of the
open crossings' outcomes plus the model's error on totals."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


@dataclass(frozen=True)
class Total:
    final: int
    expected_provisional: float
    estimate: float
    lower: float
    upper: float
    #: sum p (1 - p) over the open crossings: the variance from their outcomes alone.
    bernoulli_variance: float = 0.0


def total(
    final: int, probabilities_open: np.ndarray, model_error: float, level: float
) -> Total:
    """Final count plus the sum of the open probabilities, with its interval."""
    expected = float(probabilities_open.sum())
    bernoulli = float((probabilities_open * (1 - probabilities_open)).sum())
    variance = bernoulli + (model_error * expected) ** 2
    z = NormalDist().inv_cdf(0.5 + level / 2)
    half = z * variance**0.5
    estimate = final + expected
    return Total(final, expected, estimate, max(final, estimate - half), estimate + half,
                 bernoulli)
