"""The run report: one self-contained HTML file (`report.html` in the run folder).

For the methodologist who signs off a release: what ran with which settings, migration
flows by month with the provisional part shown apart from the final, how good the
linkage looks, and how much disclosure control suppressed. Charts are inline SVG built
from the warehouse, so the file opens anywhere, offline.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import duckdb

from regmig.flows.svg_charts import bar_chart, line_chart, share_bars
from regmig.warehouse.paths import RunPaths

#: Bins of the match-probability histogram (lower edges), in the linkage section.
MATCH_PROBABILITY_BINS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
#: Records per person are shown 1, 2, ... up to this, then "N+".
RECORDS_PER_PERSON_CAP = 10
#: Row counts listed per stage in the run table; the rest are in meta.runs.
ROW_COUNTS_SHOWN = 4

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 820px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #666; font-size: 0.85em; }
"""


def _has_table(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
        [schema, name],
    ).fetchall()[0][0])


def _table(header: list[str], rows: list[tuple]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                text = str(value)
            elif isinstance(value, int) or value == int(value) or abs(value) >= 100:
                text = f"{value:,.0f}"
            else:
                text = f"{value:.3g}"
            return f'<td class="n">{text}</td>'
        return f"<td>{escape('' if value is None else str(value))}</td>"

    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def producing_run(con: duckdb.DuckDBPyConnection, run_id: str, stage: str) -> str:
    """The run whose rows a stage's tables hold: this run, or the one a skip reused."""
    rows = con.execute(
        "SELECT json_extract_string(parameters, '$.reused_run_id') FROM meta.runs "
        "WHERE run_id = ? AND stage = ?", [run_id, stage],
    ).fetchall()
    return rows[0][0] if rows and rows[0][0] else run_id


def _rows_written(counts: dict[str, int]) -> str:
    shown = [f"{k} {v:,}" for k, v in list(counts.items())[:ROW_COUNTS_SHOWN]]
    more = len(counts) - ROW_COUNTS_SHOWN
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _runs_section(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    rows = con.execute(
        "SELECT stage, status, round(epoch(finished_at - started_at), 1), row_counts, "
        "json_extract_string(parameters, '$.reused_run_id') FROM meta.runs "
        "WHERE run_id = ? AND stage <> 'pipeline' ORDER BY started_at", [run_id],
    ).fetchall()
    table_rows = [
        (stage, status, seconds,
         f"kept the results of run {reused}" if reused
         else _rows_written(json.loads(counts or "{}")))
        for stage, status, seconds, counts, reused in rows
    ]
    pipeline = con.execute(
        "SELECT parameters, package_versions FROM meta.runs WHERE run_id = ? "
        "AND stage = 'pipeline'", [run_id],
    ).fetchall()
    settings = ""
    if pipeline:
        params = json.loads(pipeline[0][0] or "{}")
        shown = [(k, str(v)) for k, v in params.items() if k != "config" and v is not None]
        versions = json.loads(pipeline[0][1] or "{}")
        settings = (_table(["parameter", "value"], shown)
                    + '<p class="note">Versions: ' + escape(", ".join(
                        f"{k} {v}" for k, v in versions.items())) + ". The full "
                    "configuration is in meta.runs.parameters.</p>")
    return ("<h2>The run</h2>" + _table(["stage", "status", "seconds", "rows written"],
                                        table_rows) + settings)


def _flows_section(con: duckdb.DuckDBPyConnection) -> str:
    # Every figure from stats.migration_totals, the one table the summary and the release
    # read too.
    months = con.sql("""
        SELECT strftime(period_start, '%Y-%m') AS month,
               max(published) FILTER (WHERE kind = 'immigration'),
               max(final) FILTER (WHERE kind = 'immigration'),
               max(published) FILTER (WHERE kind = 'emigration'),
               max(final) FILTER (WHERE kind = 'emigration')
        FROM stats.migration_totals
        WHERE period = 'month' AND breakdown = 'total'
        GROUP BY ALL ORDER BY month
    """).fetchall()
    if not months:
        return "<h2>Migration by month</h2><p>No migration events were derived.</p>"
    labels = [m[0] for m in months]
    flows = line_chart(
        "Immigration and emigration by month (published: final + counted provisional)",
        "persons", labels,
        {"immigration": [m[1] for m in months], "emigration": [m[3] for m in months]},
    )
    immigration = bar_chart("Immigration: final against provisional", "persons", labels,
                            {"final": [m[2] for m in months],
                             "provisional (counted)": [m[1] - m[2] for m in months]},
                            stacked=True)
    emigration = bar_chart("Emigration: final against provisional", "persons", labels,
                           {"final": [m[4] for m in months],
                            "provisional (counted)": [m[3] - m[4] for m in months]},
                           stacked=True)
    yearly = con.sql("""
        SELECT year::VARCHAR, kind, published, final, round(provisional_expected, 1),
               round(lower), round(upper), status
        FROM stats.migration_totals
        WHERE period = 'year' AND breakdown = 'total' ORDER BY year, kind
    """).fetchall()
    return (
        "<h2>Migration by month</h2>"
        '<p class="note">Long-term migrations under the residence rule, counted in persons\' '
        "moves. A provisional move is one whose window had not closed at the end of the "
        "data; it counts with its modelled probability, and the published integers count "
        "a systematic selection of them so that every figure is a whole number.</p>"
        + flows + immigration + emigration
        + _table(["year", "kind", "published", "final", "provisional (expected)",
                  "95% lower", "95% upper", "status"], yearly)
    )


def _linkage_section(con: duckdb.DuckDBPyConnection, link_run: str) -> str:
    indicators = con.execute(
        "SELECT indicator, value, unit, detail FROM meta.quality WHERE stage = 'link' "
        "AND run_id = ? ORDER BY indicator, detail", [link_run],
    ).fetchall()
    lower = [*MATCH_PROBABILITY_BINS, 1.0]
    upper = [*MATCH_PROBABILITY_BINS[1:], 1.0, float("inf")]
    bins = con.execute("""
        WITH bins AS (SELECT unnest(?) AS lower, unnest(?) AS upper)
        SELECT b.lower, count(p.record_id)
        FROM bins b
        LEFT JOIN core.person_map p
          ON p.match_probability >= b.lower AND p.match_probability < b.upper
        GROUP BY b.lower ORDER BY b.lower
    """, [lower, upper]).fetchall()
    labels = [f"{lo:.2f}-{hi:.2f}" for lo, hi in zip(lower, upper, strict=True)][:-1] + ["1"]
    counts = [n for _, n in bins]
    histogram = bar_chart("Records by the probability of their weakest link", "cases",
                          labels, {"records": counts})
    per_person = con.sql(f"""
        SELECT least(n_crossings + n_register_records + n_permit_records,
                     {RECORDS_PER_PERSON_CAP}) AS records, count(*)
        FROM core.persons GROUP BY ALL ORDER BY records
    """).fetchall()
    sizes = bar_chart(
        "Persons by the number of records linked to them", "persons",
        [str(r) if r < RECORDS_PER_PERSON_CAP else f"{r}+" for r, _ in per_person],
        {"persons": [n for _, n in per_person]},
    )
    sources = con.sql("""
        SELECT source, count(*) AS records, count(DISTINCT person_id) AS persons
        FROM core.person_map GROUP BY source ORDER BY source
    """).fetchall()
    return (
        "<h2>Linkage quality</h2>"
        + _table(["source", "records (cases)", "persons"], sources)
        + histogram + sizes
        + (_table(["indicator", "value", "unit", "detail"], indicators) if indicators else "")
    )


def _suppression_section(con: duckdb.DuckDBPyConnection, paths: RunPaths) -> str:
    from regmig.flows.release_facts import suppression_by_table

    rows = suppression_by_table(con)
    files = sorted(p.relative_to(paths.out) for p in paths.release.rglob("*") if p.is_file()) \
        if paths.release.exists() else []
    chart = ""
    if rows:
        chart = share_bars(
            "Cells of each table: published, primary and secondary suppressed",
            [r[0] for r in rows],
            {"published": [r[1] - r[2] - r[3] for r in rows],
             "primary suppressed": [r[2] for r in rows],
             "secondary suppressed": [r[3] for r in rows]},
        )
    return (
        "<h2>Disclosure control</h2>"
        + (_table(["table", "cells", "primary", "secondary"], rows) + chart if rows else
           "<p>No protected tables were found in the release.</p>")
        + "<p>Release files:</p><ul>"
        + "".join(f"<li>{escape(str(f))}</li>" for f in files) + "</ul>"
    )


def render_report(con: duckdb.DuckDBPyConnection, paths: RunPaths, run_id: str) -> str:
    sections = [_runs_section(con, run_id)]
    if _has_table(con, "stats.migration_totals"):
        sections.append(_flows_section(con))
    if _has_table(con, "core.person_map"):
        sections.append(_linkage_section(con, producing_run(con, run_id, "link")))
    sections.append(_suppression_section(con, paths))
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>regmig run {escape(run_id)}</title><style>{STYLE}</style></head><body>"
        f"<h1>regmig run {escape(run_id)}</h1>"
        f'<p class="note">Report written {made} from {escape(str(paths.warehouse))}.</p>'
        + "".join(sections) + "</body></html>"
    )


def write_report(con: duckdb.DuckDBPyConnection, paths: RunPaths, run_id: str) -> Path:
    """Write report.html into the run folder; returns its path."""
    html = render_report(con, paths, run_id)
    tmp = paths.report.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(paths.report)  # a reader never sees half a report
    return paths.report
