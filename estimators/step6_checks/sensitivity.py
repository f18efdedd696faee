"""The same year under each rule of the sensitivity set (config.SENSITIVITY_RULES:
12/16, 12/12 and 9/12), side by side: final, provisional and interval per rule."""

from __future__ import annotations

import polars as pl

from regmig.config import SENSITIVITY_RULES, EstimateConfig, ResidenceRule
from regmig.estimators.chain import run_rule
from regmig.estimators.inputs import EstimateInputs
from regmig.estimators.step4_events.totals import yearly_totals


def sensitivity(
    inputs: EstimateInputs,
    config: EstimateConfig,
    country: str,
    year: int,
    computed: dict[ResidenceRule, pl.DataFrame] | None = None,
    rules: tuple[ResidenceRule, ...] = SENSITIVITY_RULES,
) -> pl.DataFrame:
    """Totals of `year` under each rule (long form: one row per rule and kind).

    `computed`: yearly totals already at hand for some rules (the stage's own rule)."""
    computed = computed or {}
    frames = [
        computed[rule] if rule in computed
        else yearly_totals(run_rule(inputs, config, rule, country), config.interval_level)
        for rule in rules
    ]
    return pl.concat(frames).filter(pl.col("year") == year).sort("kind", "threshold_days",
                                                                  "window_days")


def side_by_side(table: pl.DataFrame) -> pl.DataFrame:
    """One row per kind, one column of estimates per rule (for reading)."""
    return table.pivot(on="rule", index=["year", "kind"], values="estimate")
