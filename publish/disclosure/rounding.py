"""Rounding, the alternative to suppression: every released cell to a multiple of a base.

Unbiased random rounding: a value v = q*b + r goes up to (q+1)*b with probability r/b,
else down to q*b, so totals stay unbiased and a shown value s only says that the true
value lies in [s - (b-1), s + (b-1)]. Each cell of a family is rounded once, so a cell
shared by two tables shows the same number in both; tables are therefore not additive
after rounding (a footnote says so). The audit checks the intervals this leaves.
The generator is seeded from the configuration and the family's name: a re-run
releases the same numbers.
"""

from __future__ import annotations

import zlib

import numpy as np

from regmig.config import DisclosureConfig


def random_round(values: np.ndarray, family_name: str, config: DisclosureConfig) -> np.ndarray:
    base = config.rounding_base
    if base < 2:
        raise ValueError("rounding base must be at least 2")
    rng = np.random.default_rng([config.rounding_seed, zlib.crc32(family_name.encode())])
    remainder = np.mod(values, base)
    up = rng.random(values.size) < remainder / base
    return values - remainder + np.where(up, base, 0)
