"""Migration totals: for every period, kind and breakdown category, the final events, the
expected number of provisional ones, the interval with its chance and model parts, and
the published integer (final + counted events).

This is the one tabulation of migration figures (stats.migration_totals): the run report,
the demo summary, the release's margins, the sensitivity table and the backtest all read
its numbers, so a figure has one value everywhere. It is plain SQL over an `events`
relation, so the same text can run on another engine.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from regmig.estimators.chain import KINDS, RuleRun
from regmig.estimators.step3_provisional import intervals

#: Breakdowns of the yearly figures (the release's variables); quarters and months carry
#: the total alone.
BREAKDOWNS = ("sex", "age", "citizenship", "country_of_birth", "previous_next_country",
              "reason")
TOTAL = "TOTAL"
UNKNOWN = "UNK"

TOTALS_COLUMNS = (
    "period", "period_start", "period_end", "year", "kind", "breakdown", "category",
    "final", "provisional_events", "provisional_expected", "counted", "published",
    "estimate", "chance_sd", "model_sd", "lower", "upper", "interval_level", "status",
)


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


def calendar_periods(first: date, last: date) -> pl.DataFrame:
    """period, period_start, period_end of every year, quarter and month that holds a
    day of [first, last]."""
    months = pl.date_range(date(first.year, first.month, 1), last, "1mo", eager=True)
    frame = pl.DataFrame({"month": months})
    parts = []
    for period, truncate, step in (("year", "1y", "1y"), ("quarter", "1q", "3mo"),
                                   ("month", "1mo", "1mo")):
        starts = frame.select(period_start=pl.col("month").dt.truncate(truncate)).unique()
        parts.append(starts.with_columns(
            period=pl.lit(period),
            period_end=pl.col("period_start").dt.offset_by(step) - pl.duration(days=1)))
    return pl.concat(parts).select("period", "period_start", "period_end").sort(
        "period", "period_start")


def _breakdown_rows(with_breakdowns: bool) -> str:
    """One SELECT per breakdown: each event once under the total (every period) and once
    under its category of each breakdown (years only)."""
    total = f"""
        SELECT p.period, p.period_start, p.period_end, e.kind, 'total' AS breakdown,
               '{TOTAL}' AS category, e.status, e.probability, e.counted
        FROM periods AS p JOIN events AS e
          ON e.event_date BETWEEN p.period_start AND p.period_end"""
    if not with_breakdowns:
        return total
    by = [f"""
        SELECT p.period, p.period_start, p.period_end, e.kind, '{name}' AS breakdown,
               coalesce(CAST(e.{name} AS VARCHAR), '{UNKNOWN}') AS category, e.status,
               e.probability, e.counted
        FROM periods AS p JOIN events AS e
          ON p.period = 'year' AND e.event_date BETWEEN p.period_start AND p.period_end"""
          for name in BREAKDOWNS]
    return "\nUNION ALL".join([total, *by])


def totals_sql(with_breakdowns: bool) -> str:
    """The tabulation, over the relations `events` (kind, event_date, status,
    probability, counted and the BREAKDOWNS columns), `periods` (period, period_start,
    period_end) and `model_errors` (kind, model_error: the model's relative standard
    deviation on totals), with parameters $z (the normal quantile of the interval) and
    $level."""
    return f"""
    WITH grid AS (          -- every period and kind, so an empty one shows as zero
        SELECT p.period, p.period_start, p.period_end, k.kind, 'total' AS breakdown,
               '{TOTAL}' AS category
        FROM periods AS p CROSS JOIN model_errors AS k
    ),
    placed AS ({_breakdown_rows(with_breakdowns)}
    ),
    cells AS (
        SELECT period, period_start, period_end, kind, breakdown, category,
               count(*) FILTER (WHERE status = 'final') AS final,
               count(*) FILTER (WHERE status = 'provisional') AS provisional_events,
               coalesce(sum(probability) FILTER (WHERE status = 'provisional'), 0)
                   AS provisional_expected,
               count(*) FILTER (WHERE status = 'provisional' AND counted) AS counted,
               coalesce(sum(probability * (1 - probability))
                        FILTER (WHERE status = 'provisional'), 0) AS chance_variance
        FROM placed GROUP BY ALL
    ),
    filled AS (
        SELECT period, period_start, period_end, kind, breakdown, category,
               coalesce(c.final, 0) AS final,
               coalesce(c.provisional_events, 0) AS provisional_events,
               coalesce(c.provisional_expected, 0) AS provisional_expected,
               coalesce(c.counted, 0) AS counted,
               coalesce(c.chance_variance, 0) AS chance_variance
        FROM grid FULL JOIN cells AS c
          USING (period, period_start, period_end, kind, breakdown, category)
    ),
    parts AS (
        SELECT f.*, f.final + f.provisional_expected AS estimate,
               sqrt(f.chance_variance) AS chance_sd,
               m.model_error * f.provisional_expected AS model_sd
        FROM filled AS f JOIN model_errors AS m USING (kind)
    )
    SELECT period, period_start, period_end, year(period_start)::INTEGER AS year, kind,
           breakdown, category, final, provisional_events, provisional_expected, counted,
           final + counted AS published, estimate, chance_sd, model_sd,
           {intervals.lower_sql("final", "estimate", "chance_sd", "model_sd", "$z")} AS lower,
           {intervals.upper_sql("estimate", "chance_sd", "model_sd", "$z")} AS upper,
           $level AS interval_level,
           CASE WHEN provisional_events > 0 THEN 'provisional' ELSE 'final' END AS status
    FROM parts
    ORDER BY period, period_start, kind, breakdown, category
    """


def tabulate(
    events: pl.DataFrame,
    periods: pl.DataFrame,
    model_error: dict[str, float],
    level: float,
    with_breakdowns: bool = True,
) -> pl.DataFrame:
    """Run the tabulation (`totals_sql`) on `events` for `periods`; returns
    TOTALS_COLUMNS. `model_error`: the model's relative error on totals per kind."""
    errors = pl.DataFrame({"kind": list(KINDS.values()),
                           "model_error": [model_error.get(k, 0.0) for k in KINDS.values()]})
    con = duckdb.connect()
    try:
        con.register("events", _event_columns(events, with_breakdowns).to_arrow())
        con.register("periods", periods.to_arrow())
        con.register("model_errors", errors.to_arrow())
        return con.sql(totals_sql(with_breakdowns),
                       params={"z": intervals.z_score(level), "level": level}).pl()
    finally:
        con.close()


def _event_columns(events: pl.DataFrame, with_breakdowns: bool) -> pl.DataFrame:
    if "event_date" not in events.columns:
        events = events.rename({"crossing_date": "event_date"})
    if "counted" not in events.columns:
        events = events.with_columns(counted=pl.col("status") == "final")
    columns = ["kind", "event_date", "status", "probability", "counted"]
    return events.select(*columns, *(BREAKDOWNS if with_breakdowns else ()))


def run_totals(run: RuleRun, periods: pl.DataFrame, level: float) -> pl.DataFrame:
    """Totals (no breakdowns) of the candidate events of `run` over `periods`."""
    return tabulate(candidate_events(run), periods, model_errors(run), level,
                    with_breakdowns=False)


def model_errors(run: RuleRun) -> dict[str, float]:
    """The provisional model's relative error on totals, per kind (0 without a model)."""
    error = run.model.model_error if run.model is not None else 0.0
    return dict.fromkeys(KINDS.values(), error)
