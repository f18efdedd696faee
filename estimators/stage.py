"""The estimate stage: from linked crossings and register records to residence statuses,
migration events (final and provisional), stocks on each 1 January, the sensitivity of
the totals to the rule, and the revision table of the provisional estimates.

Reads core.crossings, core.person_map, core.persons, raw.border_crossings,
raw.population_register and raw.permits; replaces derived.* and stats.migration_totals,
stats.sensitivity and stats.provisional_revisions (restricted first, then the
warehouse: see regmig.warehouse.writes.by_database).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from regmig.config import Config
from regmig.estimators.chain import RuleRun, run_rule
from regmig.estimators.inputs import INPUT_TABLES, read_inputs
from regmig.estimators.step4_events import migration_events
from regmig.estimators.step4_events.totals import calendar_periods, model_errors, tabulate
from regmig.estimators.step5_stocks import stocks
from regmig.estimators.step6_checks import backtest
from regmig.estimators.step6_checks.sensitivity import sensitivity as sensitivity_table
from regmig.schemas.table_spec import Table
from regmig.schemas.tables import derived
from regmig.schemas.tables import stats as stats_tables
from regmig.warehouse.connection import open_warehouse, transaction
from regmig.warehouse.hashes import table_hash
from regmig.warehouse.paths import RunPaths
from regmig.warehouse.quality import record_quality
from regmig.warehouse.sql_engines import sql_engine
from regmig.warehouse.timing import Timer
from regmig.warehouse.writes import by_database, replace_all


@dataclass
class EstimateSummary:
    row_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    input_hashes: dict[str, str] = field(default_factory=dict)
    reference_year: int | None = None
    totals: list[dict] = field(default_factory=list)
    repairs: int = 0
    backtests_covered: str = ""

    def lines(self) -> list[str]:
        out = [
            f"estimate: {self.row_counts.get('derived.crossing_status', 0):,} crossings "
            f"classified, {self.repairs:,} imputed or dropped to repair crossing sequences",
            f"  {self.row_counts.get('derived.migration_events', 0):,} migration events "
            f"(final and provisional), {self.row_counts.get('derived.resident_stock', 0):,} "
            "resident person-dates in the stocks",
        ]
        for row in self.totals:
            out.append(
                f"  {row['year']} {row['kind']}: {row['published']:,} "
                f"({row['final']:,} final + {row['provisional_expected']:,.1f} expected "
                f"provisional; {row['interval_level']:.0%} interval "
                f"{row['lower']:,.0f}-{row['upper']:,.0f})"
            )
        if self.backtests_covered:
            out.append(f"  backtest: {self.backtests_covered}")
        return out


def default_reference_year(data_end: date) -> int:
    """The last calendar year the data cover completely."""
    return data_end.year if (data_end.month, data_end.day) == (12, 31) else data_end.year - 1


def estimate(
    paths: RunPaths, config: Config, run_id: str, reference_year: int | None = None
) -> EstimateSummary:
    summary = EstimateSummary()
    clock = Timer(summary.timings)
    est = config.estimate
    con = open_warehouse(paths)
    try:
        with clock.step("read"):
            summary.input_hashes["warehouse"] = table_hash(con, INPUT_TABLES)
            inputs = read_inputs(sql_engine(config, con, paths))
        year = reference_year or default_reference_year(inputs.data_end)
        summary.reference_year = year
        with clock.step("rule"):
            run = run_rule(inputs, est, est.rule, config.country)
        # Step 1's result is in the run (the other rules start from it): the delivered
        # crossings, a tenth of the stage's memory, are not read again.
        inputs = dataclasses.replace(inputs, crossings=inputs.crossings.clear())
        with clock.step("events_and_stocks"):
            events = migration_events.migration_events(
                run, inputs.persons, inputs.permits, config.country)
            ref_dates = stocks.reference_dates(
                inputs.observation_start, inputs.data_end, est.stock_reference_month_day)
            stock = stocks.resident_stock(run, inputs.register, inputs.persons, ref_dates)
            spells = stocks.residence_spells(run)
            totals = tabulate(
                events, calendar_periods(inputs.observation_start, inputs.data_end),
                model_errors(run), est.interval_level,
            ).with_columns(rule=pl.lit(est.rule.label),
                           threshold_days=pl.lit(est.rule.threshold_days),
                           window_days=pl.lit(est.rule.window_days))
        with clock.step("backtest"):
            revisions = backtest.revisions(inputs, run, est, config.country).with_columns(
                rule=pl.lit(est.rule.label))
        # The training pool and the rule's known days serve the backtest alone: freed
        # before the other rules' runs, whose peak adds to what this run still holds.
        run = dataclasses.replace(run, pool=run.pool.cleared(), known=run.known.clear())
        with clock.step("sensitivity"):
            sensitivity = sensitivity_table(
                inputs, est, config.country, year, computed={est.rule: totals},
                repaired=run.repaired, repaired_days=run.repaired_days)
        quality = _quality(run, inputs.register,
                           revisions.filter(pl.col("period") == "year"))
        with clock.step("write"):
            counts = _write(con, run_id, run, events, stock, spells, totals, sensitivity,
                            revisions, quality)
        summary.row_counts = counts
        summary.repairs = (run.repairs.imputed + run.repairs.dropped
                           + run.repairs.arrivals_from_permits
                           + run.repairs.departures_from_deregistrations
                           + run.repairs.visitor_departures)
        summary.totals = totals.filter(
            (pl.col("period") == "year") & (pl.col("year") == year)
            & (pl.col("breakdown") == "total")).to_dicts()
        revisions = revisions.filter(pl.col("period") == "year")
        if revisions.height:
            summary.backtests_covered = (
                f"{int(revisions['covered'].sum())} of {revisions.height} intervals cover "
                f"the final figure; largest |relative revision| "
                f"{revisions['relative_revision'].abs().max():.1%}"
            )
        return summary
    finally:
        con.close()


def _quality(
    run: RuleRun, register: pl.DataFrame, revisions: pl.DataFrame
) -> list[tuple[str, float, str, str | None]]:
    r = run.repairs
    unresolved = run.history.filter(~pl.col("resolved"))
    indicators: list[tuple[str, float, str, str | None]] = [
        ("crossing_sequence_breaks", r.broken_pairs, "cases",
         "consecutive crossings in the same direction"),
        ("crossings_imputed", r.imputed, "cases", "missing crossings added inside the gaps"),
        ("arrivals_imputed_from_permits", r.arrivals_from_permits, "cases",
         "unrecorded first arrivals dated at the start of the first permit"),
        ("departures_imputed_from_deregistrations", r.departures_from_deregistrations,
         "cases", "unrecorded last departures dated at a deregistration for emigration"),
        ("departures_imputed_after_visits", r.visitor_departures, "cases",
         "unrecorded last departures of foreign citizens on no record, dated after their "
         "usual stay"),
        ("initial_status_from_register_absence", r.initial_from_register_absence,
         "persons", "first crossing a departure, on no register or permit record: "
         "non-resident before it"),
        ("crossings_dropped", r.dropped, "cases", "crossings dropped to repair sequences"),
        ("persons_with_repaired_history", r.persons_repaired, "persons", None),
        ("crossings_unresolved", unresolved.height, "cases",
         f"windows open at the data end {run.data_end}"),
        ("provisional_model_training_crossings",
         run.model.n_training_crossings if run.model else 0, "cases", None),
        ("provisional_model_error", run.model.model_error if run.model else float("nan"),
         "ratio", "relative s.d. of modelled totals beyond Bernoulli noise"),
    ]
    indicators += stocks.coverage_indicators(run, register)
    if revisions.height:
        indicators.append(("backtest_interval_coverage", float(revisions["covered"].mean()),
                           "ratio", f"{revisions.height} backtest intervals"))
        indicators.append(("backtest_max_abs_relative_revision",
                           float(revisions["relative_revision"].abs().max()), "ratio", None))
    return indicators


def _write(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    run: RuleRun,
    events: pl.DataFrame,
    stock: pl.DataFrame,
    spells: pl.DataFrame,
    totals: pl.DataFrame,
    sensitivity: pl.DataFrame,
    revisions: pl.DataFrame,
    quality: list[tuple[str, float, str, str | None]],
) -> dict[str, int]:
    """Replace every table the stage owns: the restricted ones in one transaction, then
    the warehouse's with the stage's quality indicators in another."""
    rule = pl.lit(run.rule.label)
    frames: list[tuple[Table, pl.DataFrame]] = [
        (derived.CROSSING_STATUS, run.history.with_columns(rule=rule)),
        (derived.INITIAL_RESIDENCE, run.initial),
        (derived.MIGRATION_EVENTS, events),
        (derived.RESIDENCE_SPELLS, spells),
        (derived.RESIDENT_STOCK, stock),
        (stats_tables.MIGRATION_TOTALS, totals),
        (stats_tables.SENSITIVITY, sensitivity),
        (stats_tables.PROVISIONAL_REVISIONS, revisions),
    ]
    restricted, analysts = by_database(frames)
    with transaction(con):
        counts = replace_all(con, restricted, run_id)
    with transaction(con):
        counts |= replace_all(con, analysts, run_id)
        record_quality(con, run_id, "estimate", quality)
    return counts
