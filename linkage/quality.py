"""Linkage quality as output: indicators for meta.quality and an HTML report.

The report (`paths.linkage_report`) is one self-contained HTML file: the indicators as a
table and Splink's charts (match weights, m and u, a waterfall of sample pairs) with the
chart libraries inlined, so it opens offline. The waterfall shows match weights only,
never the compared names or dates.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import duckdb
from splink import Linker
from splink.internals.html_utils import json_for_html, load_chart_libraries
from splink.internals.splink_dataframe import SplinkDataFrame

from regmig.linkage.working_db import SOURCES


class _ChartEncoder(json.JSONEncoder):
    def default(self, o: object) -> object:
        # DuckDB returns histogram bins as Decimal.
        return float(o) if isinstance(o, Decimal) else super().default(o)


class _Chart:
    """A Vega-Lite spec in the shape of Splink's charts (`chart_dict`)."""

    def __init__(self, spec: dict) -> None:
        self.chart_dict = spec


#: (indicator, value, unit, detail): the shape record_quality takes.
Indicator = tuple[str, float, str, str | None]


def name_indicators(work: duckdb.DuckDBPyConnection) -> list[Indicator]:
    """Delivered names left without a Latin form (no name evidence for linkage)."""
    out: list[Indicator] = []
    for source, given, surnames in work.sql(
        "SELECT source, given_names, surnames FROM names_without_latin ORDER BY source"
    ).fetchall():
        out.append(("names_without_latin_form", given + surnames, "names",
                    f"{source}: given names {given}, surnames {surnames}"))
    return out


def person_indicators(work: duckdb.DuckDBPyConnection) -> list[Indicator]:
    """Cases and persons per source, match rates between sources, unexplained travellers."""
    out: list[Indicator] = []
    per_source = work.sql("""
        SELECT source, count(*) AS cases, count(DISTINCT person_id) AS persons
        FROM out_person_map GROUP BY source ORDER BY source
    """).fetchall()
    for source, cases, persons in per_source:
        out.append(("cases", cases, "cases", source))
        out.append(("persons", persons, "persons", source))
    out.append(("persons", work.sql("SELECT count(*) FROM out_persons").fetchall()[0][0],
                "persons", "all sources"))
    rates = work.sql("""
        WITH presence AS (SELECT DISTINCT person_id, source FROM out_person_map),
        totals AS (SELECT source, count(*) AS persons FROM presence GROUP BY source)
        SELECT a.source, b.source, count(*)::DOUBLE / any_value(t.persons)
        FROM presence AS a
        JOIN presence AS b ON a.person_id = b.person_id AND a.source <> b.source
        JOIN totals AS t ON t.source = a.source
        GROUP BY a.source, b.source
    """).fetchall()
    present = {source for source, _c, _p in per_source}
    for source_a in SOURCES:
        for source_b in SOURCES:
            if source_a == source_b or source_a not in present:
                continue
            rate = next((r for a, b, r in rates if a == source_a and b == source_b), 0.0)
            out.append(("match_rate", rate, "ratio",
                        f"persons of {source_a} also in {source_b}"))
    crossings_only = work.sql("""
        SELECT count(*) FROM out_persons
        WHERE n_crossings > 0 AND n_register_records = 0 AND n_permit_records = 0
    """).fetchall()[0][0]
    out.append(("persons_with_crossings_only", crossings_only, "persons",
                "crossings but no register or permit record"))
    naturalised = work.sql(
        "SELECT count(*) FROM out_persons WHERE citizenship <> first_citizenship"
    ).fetchall()[0][0]
    out.append(("persons_citizenship_changed", naturalised, "persons",
                "naturalisations (one person, two citizenships)"))
    for attribute, n in work.sql("""
        SELECT conflict, count(*) FROM (SELECT unnest(conflicts) AS conflict FROM out_persons)
        GROUP BY conflict ORDER BY conflict
    """).fetchall():
        out.append(("persons_with_conflict", n, "persons", attribute))
    return out


def write_report(
    path: Path,
    linker: Linker,
    predictions: SplinkDataFrame,
    indicators: Sequence[Indicator],
    waterfall_pairs: int,
    review_chart: dict | None = None,
    run_report: Path | None = None,
) -> None:
    """The self-contained linkage report (with the clerical review's threshold chart
    when labels were given); it links back to `run_report` if given."""
    charts = [
        ("Match weights of each comparison level", linker.visualisations.match_weights_chart()),
        ("m and u probabilities", linker.visualisations.m_u_parameters_chart()),
    ]
    sample = predictions.as_record_list(limit=waterfall_pairs)
    if sample:
        charts.append((
            "How the match weight of sample pairs adds up (waterfall)",
            linker.visualisations.waterfall_chart(sample, remove_sensitive_data=True),
        ))
    if review_chart is not None:
        charts.insert(0, ("Precision and recall against the threshold (clerical review)",
                          _Chart(review_chart)))
    libraries = load_chart_libraries()
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>regmig linkage report</title>",
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;"
        "border-bottom:1px solid #ddd;text-align:left}</style>",
        *(f"<script>{source}</script>" for source in libraries.values()),
        "</head><body><h1>Linkage report</h1>",
        *([f"<p><a id='run-report' href='{html.escape(os.path.relpath(run_report, path.parent))}'>"
           "Back to the run report</a></p>"] if run_report else []),
        "<h2>Indicators</h2><table>",
        "<tr><th>indicator</th><th>value</th><th>unit</th><th>detail</th></tr>",
    ]
    for name, value, unit, detail in indicators:
        shown = f"{value:,.4f}" if unit == "ratio" or unit == "seconds" else f"{value:,.0f}"
        parts.append(
            f"<tr><td>{html.escape(name)}</td><td>{shown}</td><td>{html.escape(unit)}</td>"
            f"<td>{html.escape(detail or '')}</td></tr>"
        )
    parts.append("</table>")
    for number, (title, chart) in enumerate(charts):
        parts.append(f"<h2>{html.escape(title)}</h2><div id='chart{number}'></div>")
        parts.append(
            f"<script>vegaEmbed('#chart{number}', "
            f"{json_for_html(chart.chart_dict, cls=_ChartEncoder)})"
            ".catch(console.error);</script>"
        )
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
