"""Protect one table family by the configured method (suppression or rounding)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import polars as pl

from regmig.config import DisclosureConfig
from regmig.publish.disclosure.family import CellFamily
from regmig.publish.disclosure.primary import primary_cells
from regmig.publish.disclosure.rounding import random_round
from regmig.publish.disclosure.secondary import SuppressionResult, suppress


@dataclass
class ProtectedFamily:
    family: CellFamily
    method: str
    primary: np.ndarray
    #: Released cells whose value is not shown (primary or complementary).
    suppressed: np.ndarray
    #: What the release shows for each cell (true or rounded; meaningless if suppressed).
    shown: np.ndarray
    suppression: SuppressionResult | None
    seconds: float

    @property
    def withheld(self) -> int:
        """Tables suppressed whole to avoid disclosure by the pattern."""
        return self.suppression.withheld if self.suppression is not None else 0

    def cell_status(self) -> pl.DataFrame:
        """cell_id, primary, suppressed, shown: joined to the tables' cells by cell_id."""
        return pl.DataFrame({
            "cell_id": self.family.cells["cell_id"],
            "primary": self.primary,
            "suppressed": self.suppressed,
            "shown": self.shown.astype(np.int64),
        })


def protect(family: CellFamily, config: DisclosureConfig,
            start: np.ndarray | None = None) -> ProtectedFamily:
    """Protect a family; `start` marks cells to suppress from the outset (see suppress)."""
    started = time.perf_counter()
    primary = primary_cells(family, config)
    values = family.values
    if config.method == "rounding":
        shown = random_round(values, family.name, config)
        suppressed = np.zeros(family.n_cells, dtype=bool)
        result = None
    else:
        result = suppress(family, primary, config, start)
        suppressed = result.suppressed
        shown = values.copy()
    # Not audited here: the caller audits the release files it is about to publish.
    return ProtectedFamily(family, config.method, primary, suppressed, shown, result,
                           time.perf_counter() - started)
