"""Migration totals per period: final events counted, provisional ones added by their
probabilities, with an interval."""

from __future__ import annotations

from datetime import date

import polars as pl

from regmig.estimators.chain import KINDS, RuleRun
from regmig.estimators.step3_provisional import intervals


def candidate_events(run: RuleRun) -> pl.DataFrame:
    """Crossings that are, or may be, long-term migrations: final (resolved and long-term)
    and provisional (unresolved, with a probability above zero)."""
    return run.history.filter(
        (pl.col("resolved") & pl.col("is_long_term_migration"))
        | (~pl.col("resolved") & (pl.col("probability_ltm") > 0))
    ).with_columns(
        kind=pl.col("direction").replace_strict(KINDS),
        status=pl.when("resolved").then(pl.lit("final")).otherwise(pl.lit("provisional")),
        probability=pl.col("probability_ltm"),
    )


def period_totals(
    run: RuleRun, start: date, end: date, level: float
) -> dict[str, intervals.Total]:
    """Immigration and emigration dated in [start, end]: final count plus provisional
    probabilities, with interval."""
    events = candidate_events(run).filter(pl.col("crossing_date").is_between(start, end))
    error = run.model.model_error if run.model is not None else 0.0
    out = {}
    for kind in KINDS.values():
        of_kind = events.filter(pl.col("kind") == kind)
        final = of_kind.filter(pl.col("status") == "final").height
        open_p = of_kind.filter(pl.col("status") == "provisional")["probability"].to_numpy()
        out[kind] = intervals.total(final, open_p, error, level)
    return out


def yearly_totals(run: RuleRun, level: float) -> pl.DataFrame:
    """Totals for every calendar year of the data (unit: moves)."""
    first = run.history["crossing_date"].min().year
    rows = []
    for year in range(first, run.data_end.year + 1):
        for kind, t in period_totals(run, date(year, 1, 1), date(year, 12, 31), level).items():
            rows.append(
                {"year": year, "kind": kind, "final": t.final,
                 "provisional_expected": t.expected_provisional,
                 "estimate": float(t.estimate), "lower": float(t.lower),
                 "upper": float(t.upper)}
            )
    schema = {"year": pl.Int32, "kind": pl.String, "final": pl.Int64,
              "provisional_expected": pl.Float64, "estimate": pl.Float64,
              "lower": pl.Float64, "upper": pl.Float64}
    return pl.DataFrame(rows, schema=schema).with_columns(
        rule=pl.lit(run.rule.label),
        threshold_days=pl.lit(run.rule.threshold_days),
        window_days=pl.lit(run.rule.window_days),
        interval_level=pl.lit(level),
    )
