"""The figures the run report shows, read from the warehouse as they were published.

Every published figure comes from the table that holds it: stats.migration_totals (the
one estimate of every migration figure, years and months, that the demo summary and the
release read too), stats.sensitivity, stats.provisional_revisions, stats.disclosure_audit;
nothing here counts events or computes an interval. The rest are diagnostics of the run
itself (how the links, the stages and the protection went), read from core.person_map,
meta.runs and meta.quality.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import polars as pl

from regmig.config import SENSITIVITY_RULES
from regmig.warehouse.catalog import has_table

#: Lower edges of the weakest-link bins: 0.9, 0.99, 0.999, ... ("nines" of certainty),
#: so that each bin holds ten times fewer doubtful links than the one before it.
WEAKEST_LINK_NINES = 5
#: Indicators of linkage accuracy the report shows when a run measured them (against a
#: truth or clerical labels): indicator name in meta.quality -> label.
LINKAGE_ACCURACY = {
    "blocking_recall": "blocking recall (true pairs any blocking rule compares)",
    "pairwise_precision": "pairwise precision",
    "pairwise_recall": "pairwise recall",
    "review_precision": "precision on clerically labelled pairs",
    "review_recall": "recall on clerically labelled pairs",
}


def producing_run(con: duckdb.DuckDBPyConnection, run_id: str, stage: str) -> str:
    """The run whose rows a stage's tables hold: this run, or the one a skip reused."""
    rows = con.execute(
        "SELECT json_extract_string(parameters, '$.reused_run_id') FROM meta.runs "
        "WHERE run_id = ? AND stage = ?", [run_id, stage],
    ).fetchall()
    return rows[0][0] if rows and rows[0][0] else run_id


def annual_flows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Immigration and emigration per year with their intervals: the totals of
    stats.migration_totals, the published integer among them."""
    return _totals(con, "year")


def monthly_flows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Immigration and emigration per month with their intervals (stats.migration_totals)."""
    return _totals(con, "month")


def _totals(con: duckdb.DuckDBPyConnection, period: str) -> pl.DataFrame:
    if not has_table(con, "stats.migration_totals"):
        return pl.DataFrame()
    return con.sql("""
        SELECT period_start, year, kind, final, provisional_expected, published, estimate,
               lower, upper, interval_level, status, rule
        FROM stats.migration_totals
        WHERE period = $period AND breakdown = 'total'
        ORDER BY period_start, kind DESC
    """, params={"period": period}).pl()


def backtest(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """First estimates of the 12 months ending at earlier cuts of the data against the
    final figures (the table also holds the 3 and 1 months ending there)."""
    if not has_table(con, "stats.provisional_revisions"):
        return pl.DataFrame()
    return con.sql("""
        SELECT cut_date, kind, first_estimate, lower, upper, final, relative_revision,
               covered
        FROM stats.provisional_revisions
        WHERE period = 'year'
        ORDER BY cut_date, kind DESC
    """).pl()


def sensitivity(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[dict]]:
    """(rules in the order of config.SENSITIVITY_RULES, one row per year and kind with
    each rule's estimate and interval) from stats.sensitivity."""
    if not has_table(con, "stats.sensitivity"):
        return [], []
    frame = con.sql("""
        SELECT year, kind, rule, final, provisional_expected, published, estimate, lower,
               upper
        FROM stats.sensitivity
    """).pl()
    rules = [r.label for r in SENSITIVITY_RULES if r.label in set(frame["rule"])]
    rows = []
    for (year, kind), group in frame.sort("year", "kind", descending=[False, True]).group_by(
            ["year", "kind"], maintain_order=True):
        by_rule = {row["rule"]: row for row in group.to_dicts()}
        rows.append({"year": year, "kind": kind, "rules": [by_rule.get(r) for r in rules]})
    return rules, rows


def weakest_links(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Records by the match probability of their weakest link (core.person_map), in bins
    of "nines": below 0.9, 0.9-0.99, ..., and 1 (a record alone, or certain)."""
    if not has_table(con, "core.person_map"):
        return pl.DataFrame()
    edges = [1 - 10.0 ** -k for k in range(1, WEAKEST_LINK_NINES + 1)]
    labels = ["< 0.9"] + [
        f"{lo:.{k + 1}f}–{hi:.{k + 2}f}" if hi < 1 else f"≥ {lo:.{k + 1}f}"
        for k, (lo, hi) in enumerate(zip(edges, [*edges[1:], 1.0], strict=True))
    ] + ["1"]
    lower = [0.0, *edges, 1.0]
    upper = [*edges, 1.0, float("inf")]
    return con.sql("""
        WITH bins AS (SELECT unnest($label) AS bin, unnest($lower) AS lower,
                             unnest($upper) AS upper, generate_subscripts($label, 1) AS i)
        SELECT b.bin, count(p.record_id) AS records
        FROM bins b
        LEFT JOIN core.person_map p
          ON p.match_probability >= b.lower AND p.match_probability < b.upper
        GROUP BY b.bin, b.i ORDER BY b.i
    """, params={"label": labels, "lower": lower, "upper": upper}).pl()


@dataclass(frozen=True)
class LinkageSummary:
    records: list[tuple[str, int, int]]  # (source, records, persons)
    persons: int
    accuracy: list[tuple[str, float, str]]  # (label, value, detail)


def linkage_summary(con: duckdb.DuckDBPyConnection, link_run: str) -> LinkageSummary | None:
    if not has_table(con, "core.person_map"):
        return None
    records = con.sql("""
        SELECT source, count(*) AS records, count(DISTINCT person_id) AS persons
        FROM core.person_map GROUP BY source ORDER BY source
    """).fetchall()
    persons = con.sql("SELECT count(*) FROM core.persons").fetchall()[0][0]
    measured = con.execute(
        "SELECT indicator, value, coalesce(detail, '') FROM meta.quality "
        "WHERE run_id = ? AND stage = 'link' AND list_contains(?, indicator) "
        "ORDER BY indicator, detail", [link_run, list(LINKAGE_ACCURACY)],
    ).fetchall()
    accuracy = [(LINKAGE_ACCURACY[name], value, detail) for name, value, detail in measured]
    return LinkageSummary(records, persons, accuracy)


@dataclass(frozen=True)
class AuditResult:
    audited: int  # primary cells audited (cells)
    exposed: int  # of them, cells an attacker could narrow below the threshold
    narrowest: float | None  # the narrowest interval an attacker can deduce (persons)
    threshold: int | None
    method: str | None

    @property
    def passed(self) -> bool:
        return self.audited > 0 and self.exposed == 0


def disclosure_audit(con: duckdb.DuckDBPyConnection, publish_run: str) -> AuditResult | None:
    """The audit of every primary cell (stats.disclosure_audit) and the settings it was
    held to (the publish run's configuration)."""
    if not has_table(con, "stats.disclosure_audit"):
        return None
    audited, exposed, narrowest = con.sql(
        "SELECT count(*), count(*) FILTER (WHERE NOT ok), min(width) "
        "FROM stats.disclosure_audit").fetchall()[0]
    settings = con.execute(
        "SELECT parameters->>'$.config.disclosure.threshold', "
        "parameters->>'$.config.disclosure.method' FROM meta.runs "
        "WHERE run_id = ? AND stage = 'publish'", [publish_run]).fetchall()
    threshold, method = settings[0] if settings else (None, None)
    return AuditResult(audited, exposed, narrowest,
                       int(threshold) if threshold is not None else None, method)


def stage_runs(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    """The run's stages: status, seconds, what they wrote (or whose results they kept)."""
    rows = con.execute("""
        SELECT stage, status, round(epoch(finished_at - started_at), 1) AS seconds,
               row_counts, json_extract_string(parameters, '$.reused_run_id') AS reused
        FROM meta.runs WHERE run_id = ? AND stage <> 'pipeline' ORDER BY started_at
    """, [run_id]).fetchall()
    return [{"stage": stage, "status": status, "seconds": seconds,
             "rows": json.loads(counts or "{}"), "reused": reused}
            for stage, status, seconds, counts, reused in rows]


def pipeline_settings(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[dict, dict]:
    """(parameters shown, package versions) of the run's pipeline record, with the year
    its publish stage published (the report is written before the pipeline's record is
    completed)."""
    rows = con.execute("""
        SELECT p.parameters, p.package_versions,
               json_extract(s.parameters, '$.year')::INTEGER AS publish_year
        FROM meta.runs p
        LEFT JOIN meta.runs s ON s.run_id = p.run_id AND s.stage = 'publish'
        WHERE p.run_id = ? AND p.stage = 'pipeline'
    """, [run_id]).fetchall()
    if not rows:
        return {}, {}
    parameters = json.loads(rows[0][0] or "{}") | (
        {"publish_year": rows[0][2]} if rows[0][2] is not None else {})
    shown = {k: v for k, v in parameters.items() if k != "config" and v is not None}
    return shown, json.loads(rows[0][1] or "{}")


def quality_indicators(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """Every stage's indicators (meta.quality) for the runs whose rows this run shows."""
    runs = [(stage, producing_run(con, run_id, stage))
            for stage in ("ingest", "link", "estimate", "publish")]
    return con.sql("""
        WITH shown AS (SELECT unnest($stages) AS stage, unnest($runs) AS run_id)
        SELECT q.stage, q.indicator, q.value, q.unit, coalesce(q.detail, '') AS detail
        FROM meta.quality q JOIN shown USING (stage, run_id)
        ORDER BY array_position($stages, q.stage), q.indicator, detail
    """, params={"stages": [s for s, _ in runs], "runs": [r for _, r in runs]}).pl()


def timings(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """Seconds per step of each stage of this run (meta.runs.timings); the pipeline's own
    row (each stage's total) is the table of stages."""
    return con.sql("""
        SELECT stage, unnest(json_keys(timings)) AS step,
               unnest(list_transform(json_keys(timings),
                                     lambda k: (timings->>k)::DOUBLE)) AS seconds
        FROM meta.runs WHERE run_id = ? AND stage <> 'pipeline' AND timings IS NOT NULL
        ORDER BY started_at
    """, params=[run_id]).pl()
