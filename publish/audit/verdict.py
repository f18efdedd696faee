"""The audit's verdict: what the outsider deduced, against the true counts.

A release fails when
- a primary cell (1 .. primary_max, or 0 when zeros are disclosive) is shown;
- the integer interval of an unknown primary cell is narrower than the protection
  width (upper - lower < width);
- a pattern gives cells away: a component of unknown cells holding a primary cell has
  no complement (every confidential cell in it is primary), or its confidential cells
  are forced equal.
The caller writes nothing then (`require_protected` raises, naming the first cell).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from regmig.errors import RegmigError
from regmig.publish.audit.deduce import deduce
from regmig.publish.audit.release_files import read_release


@dataclass(frozen=True)
class Protection:
    """What the audit requires (from the configuration, not from the release)."""

    primary_max: int
    width: int
    zeros_disclosive: bool
    integer_max_cells: int


@dataclass(frozen=True)
class AuditReport:
    """One row per primary cell: cell_id, key, table_id, value, lower, upper, width, ok,
    finding; and per pattern component how it was judged."""

    width: int
    findings: pl.DataFrame
    patterns: pl.DataFrame

    @property
    def passed(self) -> bool:
        return bool(self.findings["ok"].all()) if self.findings.height else True

    @property
    def failures(self) -> pl.DataFrame:
        return self.findings.filter(~pl.col("ok"))


def audit_release(release_dir: Path, truth: dict[str, pl.DataFrame],
                  protection: Protection) -> AuditReport:
    """Attack the release in `release_dir` as an outsider; judge with `truth`
    (per table: its dimension columns and `value`, every cell of the cube)."""
    system = read_release(release_dir)
    deduced = deduce(system, protection.integer_max_cells, protection.width)
    values = _true_values(system, truth)
    # A rule's own unknowns (state relation) are no count of the release: not judged.
    cells = deduced.cells.filter(pl.col("state") != "relation").join(values, on="cell",
                                                                      how="left")
    if cells["value"].null_count():
        missing = cells.filter(pl.col("value").is_null())["key"][0]
        raise RegmigError(f"disclosure audit: no true count for {missing}")
    is_primary = (pl.col("value") >= 1) & (pl.col("value") <= protection.primary_max)
    if protection.zeros_disclosive:
        is_primary = is_primary | (pl.col("value") == 0)
    cells = cells.with_columns(is_primary.alias("primary"),
                               (pl.col("upper") - pl.col("lower")).alias("width"))
    # Rounding hides nothing by choice: the pattern rule is about suppression.
    patterns = _patterns(cells, deduced.components if not system.spread
                         else deduced.components.clear())
    bad_components = patterns.filter(pl.col("finding") != "").select("component", "finding")
    findings = (
        cells.filter(pl.col("primary"))
        .join(bad_components, on="component", how="left")
        .with_columns(
            pl.when((pl.col("state") == "shown") & (system.spread == 0)).then(pl.lit("shown"))
            .when(pl.col("width") < protection.width).then(pl.lit("narrowed"))
            .otherwise(pl.col("finding").fill_null("")).alias("finding"))
        .with_columns((pl.col("finding") == "").alias("ok"))
        .select(pl.col("cell").alias("cell_id"), "key", "table_id", "value", "lower",
                "upper", "width", "ok", "finding")
    )
    return AuditReport(protection.width, findings, patterns)


def require_protected(report: AuditReport) -> None:
    """Fail closed: raise RegmigError naming the first exposed cell, if any."""
    if report.passed:
        return
    failures = report.failures
    row = failures.row(0, named=True)
    raise RegmigError(
        f"disclosure audit failed for {failures.height} cell(s); first: table "
        f"{row['table_id']}, cell {row['key']} ({row['finding']}): deduced "
        f"[{row['lower']:g}, {row['upper']:g}], protection width {report.width}; "
        "no release was written"
    )


def _true_values(system, truth: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """cell -> true value, through each table's codes."""
    frames = []
    for table in system.metadata["tables"]:
        if not table["available"]:
            continue
        dims = [d["name"] for d in table["dimensions"]]
        true = truth.get(table["table_id"])
        if true is None:
            raise RegmigError(f"disclosure audit: no true counts for {table['table_id']}")
        frames.append(true.select(
            pl.lit(table["table_id"]).alias("table_id"),
            pl.concat_str([pl.lit(f"{d}=") + pl.col(d) + pl.lit(";") for d in dims]).alias(
                "codes"),
            pl.col("value").cast(pl.Int64)))
    joined = system.members.join(pl.concat(frames), on=["table_id", "codes"], how="left")
    return joined.group_by("cell").agg(pl.col("value").first())


def _patterns(cells: pl.DataFrame, components: pl.DataFrame) -> pl.DataFrame:
    """Per component of unknown cells that are not derivable: its finding, if any."""
    if components.height == 0:
        return components.with_columns(pl.lit("").alias("finding"))
    flat = components.explode("cells").rename({"cells": "cell"}).join(
        cells.select("cell", "state", "primary"), on="cell")
    judged = flat.group_by("component").agg(
        pl.col("primary").any().alias("has_primary"),
        (pl.col("primary").not_() & (pl.col("state") == "confidential")).any().alias(
            "has_complement"),
    ).join(components.select("component", "forced_equal"), on="component")
    return judged.with_columns(
        pl.when(pl.col("has_primary") & pl.col("forced_equal"))
        .then(pl.lit("pattern: confidential cells forced equal"))
        .when(pl.col("has_primary") & ~pl.col("has_complement"))
        .then(pl.lit("pattern: every confidential cell is primary"))
        .otherwise(pl.lit("")).alias("finding"))


def exposure_counts(report: AuditReport) -> dict[str, int]:
    """Failures by finding (for benches and the run report)."""
    counts = report.failures.group_by("finding").len()
    return dict(zip(counts["finding"].to_list(), np.asarray(counts["len"]).tolist(),
                    strict=True))
