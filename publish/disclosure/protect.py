"""Protect one table family by the configured method, then audit it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import polars as pl
from regmig.config import DisclosureConfig
from regmig.publish.disclosure.audit import AuditReport, audit
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
    report: AuditReport
    suppression: SuppressionResult | None
    seconds: float

    def cell_status(self) -> pl.DataFrame:
        """cell_id, primary, suppressed, shown: joined to the tables' cells by cell_id."""
        return pl.DataFrame({
            "cell_id": self.family.cells["cell_id"],
            "primary": self.primary,
            "suppressed": self.suppressed,
            "shown": self.shown.astype(np.int64),
        })


def protect(family: CellFamily, config: DisclosureConfig) -> ProtectedFamily:
    started = time.perf_counter()
    primary = primary_cells(family, config)
    values = family.values
    released = family.released
    if config.method == "rounding":
        shown = random_round(values, family.name, config)
        suppressed = np.zeros(family.n_cells, dtype=bool)
        report = audit(family, primary, released, shown, config.threshold,
                       rounding_base=config.rounding_base)
        result = None
    else:
        result = suppress(family, primary, config)
        suppressed = result.suppressed
        shown = values.copy()
        report = audit_suppression(family, primary, suppressed, config.threshold)
    return ProtectedFamily(family, config.method, primary, suppressed, shown, report, result,
                           time.perf_counter() - started)


def audit_suppression(
    family: CellFamily, primary: np.ndarray, suppressed: np.ndarray, threshold: int
) -> AuditReport:
    """Audit a suppression pattern: the release shows every released, unsuppressed cell."""
    published = family.released & ~suppressed
    return audit(family, primary, published, family.values, threshold)
