"""Primary suppression: the cells too small to publish.

A cell counting 1 .. threshold-1 units (1 .. threshold with `threshold_inclusive`, the
IOM tables' "up to 5") could point at identifiable people; with
`zeros_disclosive` an empty cell is sensitive too (it tells that nobody in a group did
something). Hidden cells (never released, e.g. "citizens not naturalised") are primary
by the same rule: differencing two published cells must not reveal them either.
"""

from __future__ import annotations

import numpy as np

from regmig.config import DisclosureConfig
from regmig.publish.disclosure.family import CellFamily


def primary_mask(values: np.ndarray, config: DisclosureConfig) -> np.ndarray:
    """True for the values that must not be published or deducible."""
    small = (values >= 1) & (values <= config.primary_max)
    if config.zeros_disclosive:
        small |= values == 0
    return small


def primary_cells(family: CellFamily, config: DisclosureConfig) -> np.ndarray:
    """Primary cells of a family (sensitive cells only: a slack is not a group of people)."""
    return primary_mask(family.values, config) & family.sensitive
