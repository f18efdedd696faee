"""The same year under each rule of the sensitivity set (config.SENSITIVITY_RULES:
12/16, 12/12 and 9/12), side by side: final, provisional and interval per rule."""

from __future__ import annotations

from datetime import date

import polars as pl

from regmig.config import SENSITIVITY_RULES, EstimateConfig, ResidenceRule
from regmig.estimators.chain import run_rule
from regmig.estimators.inputs import EstimateInputs
from regmig.estimators.step2_rule.classify import RepairedHistories
from regmig.estimators.step4_events.migration_events import migration_events
from regmig.estimators.step4_events.totals import model_errors, tabulate


def sensitivity(
    inputs: EstimateInputs,
    config: EstimateConfig,
    country: str,
    year: int,
    computed: dict[ResidenceRule, pl.DataFrame] | None = None,
    rules: tuple[ResidenceRule, ...] = SENSITIVITY_RULES,
    repaired: RepairedHistories | None = None,
    repaired_days: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Totals of `year` under each rule (long form: one row per rule and kind).

    `computed`: stats.migration_totals frames already at hand for some rules (the stage's
    own rule); the others are estimated here, through the same chain and tabulation
    (from `repaired`, step 1's result, and `repaired_days`, its `chain.known_days`, when
    given: neither depends on the rule)."""
    computed = computed or {}
    year_period = pl.DataFrame({"period": ["year"], "period_start": [date(year, 1, 1)],
                                "period_end": [date(year, 12, 31)]})
    frames = []
    for rule in rules:
        if rule in computed:
            table = computed[rule]
        else:
            run = run_rule(inputs, config, rule, country, repaired, repaired_days)
            events = migration_events(run, inputs.persons, inputs.permits, country)
            table = tabulate(events, year_period, model_errors(run), config.interval_level,
                             with_breakdowns=False)
            # Before the next rule's run: two runs at once would double the step's memory.
            del run, events
        frames.append(table.filter((pl.col("period") == "year") & (pl.col("year") == year)
                                   & (pl.col("breakdown") == "total")).with_columns(
            rule=pl.lit(rule.label), threshold_days=pl.lit(rule.threshold_days),
            window_days=pl.lit(rule.window_days)))
    return pl.concat(frames, how="diagonal_relaxed").select(
        "year", "kind", "final", "provisional_expected", "published", "estimate", "lower",
        "upper", "interval_level", "rule", "threshold_days", "window_days",
    ).sort("kind", "threshold_days", "window_days")


def side_by_side(table: pl.DataFrame) -> pl.DataFrame:
    """One row per kind, one column of estimates per rule (for reading)."""
    return table.pivot(on="rule", index=["year", "kind"], values="estimate")
