"""The closing summary of `regmig demo`: what the pipeline found, against the truth.

The sample is synthetic, so its true migrations are known (`truth/`). The summary puts
the pipeline's immigration and emigration next to them: final moves against the true
moves that the data up to its last day decide, and the published figure (final plus
counted provisional moves, from stats.migration_totals, as the report and the release
show it) with its interval against all true moves.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from regmig.flows.release_facts import suppression_by_table
from regmig.warehouse.paths import RunPaths


def _cases_and_persons(con: duckdb.DuckDBPyConnection) -> list[str]:
    by_source = con.sql(
        "SELECT source, count(*) FROM core.person_map GROUP BY source ORDER BY source"
    ).fetchall()
    persons = con.sql("SELECT count(*) FROM core.persons").fetchall()[0][0]
    cases = sum(n for _, n in by_source)
    detail = ", ".join(f"{source} {n:,}" for source, n in by_source)
    return [f"Cases: {cases:,} records ({detail})", f"Persons: {persons:,} after linkage"]


def _flows_against_truth(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> list[str]:
    rows = con.execute("""
        WITH estimated AS (   -- the published figures (stats.migration_totals)
            SELECT year, kind, final, published, lower, upper, status
            FROM stats.migration_totals WHERE period = 'year' AND breakdown = 'total'
        ),
        truth AS (
            SELECT year(event_date) AS year, kind,
                   count(*) FILTER (WHERE decided_by_data_end) AS decided,
                   count(*) AS all_moves
            FROM read_parquet(?) GROUP BY ALL
        )
        SELECT year, kind, coalesce(e.final, 0), coalesce(e.published, 0), e.lower,
               e.upper, coalesce(e.status, 'final'), coalesce(t.decided, 0),
               coalesce(t.all_moves, 0)
        FROM estimated e FULL JOIN truth t USING (year, kind)
        ORDER BY year, kind DESC
    """, [str(truth_dir / "migration_events.parquet")]).fetchall()
    lines = [
        "Migration by year (persons' moves): regmig against the truth of the sample",
        f"  {'year':<6}{'kind':<13}{'final':>8}{'true*':>8}{'diff':>8}"
        f"{'published':>11}{'95% interval':>16}{'true all':>10}",
    ]
    for year, kind, final, published, lower, upper, status, decided, all_moves in rows:
        diff = f"{100 * (final - decided) / decided:+.1f}%" if decided else "-"
        flag = " p" if status == "provisional" else "  "
        interval = f"{lower:,.0f}-{upper:,.0f}" if lower is not None else "-"
        lines.append(f"  {year:<6}{kind:<13}{final:>8,}{decided:>8,}{diff:>8}"
                     f"{published:>9,}{flag}{interval:>16}{all_moves:>10,}")
    lines.append("  * true moves the data up to its last day decide (the final ones); "
                 "p: provisional (final + counted provisional moves, as published)")
    return lines


def summary_lines(
    con: duckdb.DuckDBPyConnection, paths: RunPaths, truth_dir: Path | None
) -> list[str]:
    lines = _cases_and_persons(con)
    if truth_dir is not None and (truth_dir / "migration_events.parquet").exists():
        lines += _flows_against_truth(con, truth_dir)
    suppression = suppression_by_table(con)
    cells = sum(r[1] for r in suppression)
    primary = sum(r[2] for r in suppression)
    secondary = sum(r[3] for r in suppression)
    lines.append(f"Disclosure control: {primary + secondary:,} of {cells:,} cells suppressed "
                 f"({primary:,} primary, {secondary:,} secondary) in {len(suppression)} tables")
    lines.append(f"Run report: {paths.report}")
    lines.append(f"Release: {paths.release}")
    return lines
