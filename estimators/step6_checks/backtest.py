"""Backtest of the provisional estimates: the revision table.

The data are cut at earlier dates; at each cut the stage's estimate of the 12 months
ending on it (final events plus provisional probabilities) is the first estimate, and
the same months counted on the full data, once every window has closed, are the final
figure. Cuts lie where both are possible: after the start of the data by W plus some
training time (the model learns from crossings whose window has closed by the cut), and
at least W before the end of the data (so the final figure is final).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from regmig.config import EstimateConfig
from regmig.estimators.chain import RuleRun, run_rule
from regmig.estimators.inputs import EstimateInputs, truncate
from regmig.estimators.step4_events.totals import candidate_events, run_totals

REVISION_COLUMNS = (
    "cut_date", "period_start", "period_end", "kind", "first_estimate", "lower", "upper",
    "final", "revision", "relative_revision", "covered",
)


def cut_dates(inputs: EstimateInputs, config: EstimateConfig) -> list[date]:
    w = config.rule.window_days
    earliest = inputs.observation_start + timedelta(
        days=max(w + config.backtest_min_training_days, config.backtest_period_days)
    )
    latest = inputs.data_end - timedelta(days=w)
    if earliest > latest or config.backtest_cuts < 1:
        return []
    if config.backtest_cuts == 1:
        return [latest]
    span = (latest - earliest).days
    steps = config.backtest_cuts - 1
    return sorted({earliest + timedelta(days=round(span * k / steps)) for k in range(steps + 1)})


def revisions(
    inputs: EstimateInputs, final_run: RuleRun, config: EstimateConfig, country: str
) -> pl.DataFrame:
    """One row per cut and kind: first estimate with interval against the final figure."""
    return revision_details(inputs, final_run, config, country).select(REVISION_COLUMNS)


def revision_details(
    inputs: EstimateInputs, final_run: RuleRun, config: EstimateConfig, country: str
) -> pl.DataFrame:
    """The revision table plus, per row, bernoulli_sd: the standard deviation of the
    first estimate from the Bernoulli outcomes of its open crossings alone,
    sqrt(sum p (1 - p)), which even a perfectly calibrated model would miss by."""
    final_events = candidate_events(final_run).filter(pl.col("status") == "final")
    rows = []
    for cut in cut_dates(inputs, config):
        start = cut - timedelta(days=config.backtest_period_days - 1)
        early = run_rule(truncate(inputs, cut), config, config.rule, country)
        window = pl.DataFrame({"period": ["backtest"], "period_start": [start],
                               "period_end": [cut]})
        for first in run_totals(early, window, config.interval_level).iter_rows(named=True):
            kind = first["kind"]
            final = final_events.filter(
                (pl.col("kind") == kind) & pl.col("crossing_date").is_between(start, cut)
            ).height
            rows.append({
                "cut_date": cut,
                "period_start": start,
                "period_end": cut,
                "kind": kind,
                "first_estimate": first["estimate"],
                "lower": first["lower"],
                "upper": first["upper"],
                "final": final,
                "revision": final - first["estimate"],
                "relative_revision": (final - first["estimate"]) / final if final else None,
                "covered": first["lower"] <= final <= first["upper"],
                "bernoulli_sd": first["chance_sd"],
            })
    schema = {
        "cut_date": pl.Date, "period_start": pl.Date, "period_end": pl.Date,
        "kind": pl.String, "first_estimate": pl.Float64, "lower": pl.Float64,
        "upper": pl.Float64, "final": pl.Int64, "revision": pl.Float64,
        "relative_revision": pl.Float64, "covered": pl.Boolean, "bernoulli_sd": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)
