"""Intervals of totals that add provisional probabilities.

A total is final events plus the sum of the open crossings' probabilities. It can miss
the final figure for two reasons, shown apart:

- chance: each open crossing turns out long-term or not, a Bernoulli outcome; with
  independent outcomes the variance is sum p (1 - p) (`chance_sd`);
- the model: the probabilities themselves are off, by an error shared by the crossings of
  a total (a changed population, a feature the model lacks). Its size, a relative
  standard deviation of totals, is measured by validation on earlier crossings
  (`training`), so `model_sd` = that ratio times the expected provisional count.

The interval is normal with both variances added, and never reaches below the final
count. These are SQL expressions so that the one tabulation (`step4_events.totals`) says
how every interval is made.
"""

from __future__ import annotations

from statistics import NormalDist


def z_score(level: float) -> float:
    """The normal quantile of a two-sided interval of coverage `level` (1.96 at 0.95)."""
    return NormalDist().inv_cdf(0.5 + level / 2)


def _half_width(chance_sd: str, model_sd: str, z: str) -> str:
    return f"{z} * sqrt({chance_sd} * {chance_sd} + {model_sd} * {model_sd})"


def lower_sql(final: str, estimate: str, chance_sd: str, model_sd: str, z: str) -> str:
    return f"greatest({final}, {estimate} - {_half_width(chance_sd, model_sd, z)})"


def upper_sql(estimate: str, chance_sd: str, model_sd: str, z: str) -> str:
    return f"{estimate} + {_half_width(chance_sd, model_sd, z)}"
