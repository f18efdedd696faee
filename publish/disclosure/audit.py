"""The disclosure audit: what can an attacker deduce from everything released?

Independent of the suppression (secondary.py) on purpose: it does not look at how the
pattern was chosen, nor reuse its model. It takes only what is released (the published
values, or for rounding the rounded values), the family's additive relations and
non-negativity, and asks HiGHS, for every primary cell, for the smallest and largest
value the cell can take. The attacker's model here is the true one: unpublished cells
are only known to be >= 0 (no artificial upper bound), a rounded cell r to base b lies in
[r - (b - 1), r + (b - 1)].

An interval narrower than the threshold fails the audit; the caller must then write no
release at all (`require_protected` raises, naming the cell).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import polars as pl

from regmig.errors import RegmigError
from regmig.publish.disclosure.family import CellFamily


@dataclass(frozen=True)
class AuditReport:
    """One row per primary cell: cell_id, key, table_id, value, lower, upper, width, ok."""

    family: str
    threshold: int
    findings: pl.DataFrame

    @property
    def passed(self) -> bool:
        return bool(self.findings["ok"].all()) if self.findings.height else True

    @property
    def failures(self) -> pl.DataFrame:
        return self.findings.filter(~pl.col("ok"))


def audit(
    family: CellFamily,
    primary: np.ndarray,
    published: np.ndarray,
    published_values: np.ndarray,
    threshold: int,
    rounding_base: int | None = None,
) -> AuditReport:
    """Interval of every primary cell given the release.

    `published` marks the cells whose value the release shows; `published_values` holds
    what it shows (true values under suppression, rounded values under rounding, in
    which case `rounding_base` is set and every published value is uncertain).
    """
    n = family.n_cells
    if rounding_base is None:
        unknown = ~published
        lower = np.zeros(n)
        upper = np.full(n, np.inf)
    else:
        unknown = np.ones(n, dtype=bool)
        spread = rounding_base - 1
        lower = np.where(published, np.maximum(published_values - spread, 0.0), 0.0)
        upper = np.where(published, published_values + spread, np.inf)
    targets = np.flatnonzero(primary)
    lows, highs = _intervals(family, unknown, published_values, lower, upper, targets)
    cells = family.cells[targets.tolist()]
    findings = pl.DataFrame({
        "cell_id": cells["cell_id"],
        "key": cells["key"],
        "table_id": cells["table_id"],
        "value": cells["value"],
        "lower": lows,
        "upper": highs,
    }).with_columns((pl.col("upper") - pl.col("lower")).alias("width"))
    findings = findings.with_columns((pl.col("width") >= threshold - 1e-6).alias("ok"))
    return AuditReport(family.name, threshold, findings)


def require_protected(reports: list[AuditReport]) -> None:
    """Fail closed: raise RegmigError naming the first exposed cell, if any."""
    failures = [(r, r.failures) for r in reports if not r.passed]
    if not failures:
        return
    total = sum(f.height for _, f in failures)
    report, first = failures[0]
    row = first.row(0, named=True)
    raise RegmigError(
        f"disclosure audit failed for {total} cell(s); first: table {row['table_id']}, "
        f"cell {row['key']} can be narrowed to [{row['lower']:g}, {row['upper']:g}] "
        f"(width {row['width']:g} < threshold {report.threshold}); no release was written"
    )


_UNBOUNDED = (
    highspy.HighsModelStatus.kUnbounded,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
)


def _intervals(
    family: CellFamily,
    unknown: np.ndarray,
    shown: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    targets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """min and max of each target cell over {t : relations hold, bounds hold}."""
    lows = np.zeros(targets.size)
    highs = np.zeros(targets.size)
    if targets.size == 0:
        return lows, highs
    column = np.full(family.n_cells, -1, dtype=np.int64)
    variables = np.flatnonzero(unknown)
    column[variables] = np.arange(variables.size)
    rows, cols, coefs = family.rel_row, family.rel_col, family.rel_coef
    is_var = column[cols] >= 0
    # Each relation: sum over unknown cells = - sum over published cells.
    n_rel = family.n_relations
    constant = np.bincount(rows[~is_var], weights=coefs[~is_var] * shown[cols[~is_var]],
                           minlength=n_rel)
    used_rows = np.unique(rows[is_var])
    row_index = np.full(n_rel, -1, dtype=np.int64)
    row_index[used_rows] = np.arange(used_rows.size)

    lp = highspy.HighsLp()
    lp.num_col_ = variables.size
    lp.num_row_ = used_rows.size
    lp.col_cost_ = np.zeros(variables.size)
    lp.col_lower_ = lower[variables]
    lp.col_upper_ = np.where(np.isinf(upper[variables]), highspy.kHighsInf, upper[variables])
    lp.row_lower_ = -constant[used_rows]
    lp.row_upper_ = -constant[used_rows]
    var_cols = column[cols[is_var]]
    order = np.argsort(var_cols, kind="stable")
    starts = np.searchsorted(var_cols[order], np.arange(variables.size + 1))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = starts.astype(np.int64)
    lp.a_matrix_.index_ = row_index[rows[is_var]][order].astype(np.int64)
    lp.a_matrix_.value_ = coefs[is_var][order].astype(np.float64)
    solver = highspy.Highs()
    solver.silent()
    solver.setOptionValue("threads", 1)
    solver.passModel(lp)

    for k, cell in enumerate(targets):
        j = column[cell]
        if j < 0:  # a published primary cell: the attacker reads it
            lows[k] = highs[k] = shown[cell]
            continue
        for sense, out in ((1.0, lows), (-1.0, highs)):
            solver.changeColsCost(1, np.array([j]), np.array([sense]))
            solver.run()
            status = solver.getModelStatus()
            if status in _UNBOUNDED:
                out[k] = -sense * np.inf
            elif status == highspy.HighsModelStatus.kOptimal:
                out[k] = sense * solver.getInfo().objective_function_value
            else:
                raise RegmigError(
                    f"disclosure audit: the solver could not bound cell "
                    f"{family.cells['key'][int(cell)]} ({solver.modelStatusToString(status)})"
                    "; no release was written"
                )
            solver.changeColsCost(1, np.array([j]), np.array([0.0]))
    return lows, highs
