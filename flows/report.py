"""The run report: one self-contained HTML file (`report.html` in the run folder).

For the methodologist who signs off a release. Its first page holds what the release
rests on: the annual flows with their intervals, the monthly flows with their band, the
backtest of the provisional estimates, the residence rule's sensitivity, the linkage's
quality and the disclosure audit. Details follow: the stages, their quality indicators
and timings, the protection of each table, the release files.

The page is a Jinja2 template (`templates/`) with one template per section; charts are
Vega-Lite specs (`report_charts`) rendered by the Vega libraries inlined in the page, so
it opens anywhere, offline. Every figure is read by `report_figures` from the table that
holds it. Adding a section: a template under `templates/sections/`, a function building
its context (and chart) here, and one line in `FIRST_PAGE` or `DETAILS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from regmig.flows import report_charts as charts
from regmig.flows import report_figures as figures
from regmig.flows.release_facts import suppression_by_table
from regmig.flows.report_page import render_page
from regmig.warehouse.paths import RunPaths

#: Tables listed per stage in the table of stages; the rest are in meta.runs.row_counts.
ROW_COUNTS_SHOWN = 6


@dataclass
class Run:
    """What every section may read: the warehouse, the run folder and the run."""

    con: duckdb.DuckDBPyConnection
    paths: RunPaths
    run_id: str

    def producing(self, stage: str) -> str:
        return figures.producing_run(self.con, self.run_id, stage)


@dataclass
class Shown:
    """A section as rendered: its template, its context, and its charts by element id."""

    template: str
    context: dict[str, Any]
    charts: dict[str, dict] = field(default_factory=dict)


#: A section's builder: the section to show, or None when the run has nothing for it.
Builder = Callable[[Run], Shown | None]


def annual_flows(run: Run) -> Shown | None:
    totals = figures.annual_flows(run.con)
    if totals.is_empty():
        return None
    return Shown("annual_flows.html", {"rows": totals.to_dicts(),
                                       "level": totals["interval_level"][0],
                                       "rule": totals["rule"][0]},
                 {"chart-annual-flows": charts.annual_flows(totals)})


def monthly_flows(run: Run) -> Shown | None:
    months = figures.monthly_flows(run.con)
    if months.is_empty():
        return None
    return Shown("monthly_flows.html", {"months": months["period_start"].n_unique(),
                                        "level": months["interval_level"][0]},
                 {"chart-monthly-flows": charts.monthly_flows(months)})


def backtest(run: Run) -> Shown | None:
    revisions = figures.backtest(run.con)
    if revisions.is_empty():
        return None
    covered = int(revisions["covered"].sum())
    largest = revisions["relative_revision"].abs().max()
    return Shown("backtest.html", {"cuts": revisions["cut_date"].n_unique(),
                                   "covered": covered, "tests": revisions.height,
                                   "largest": largest},
                 {"chart-backtest": charts.backtest(revisions)})


def sensitivity(run: Run) -> Shown | None:
    rules, rows = figures.sensitivity(run.con)
    if not rows:
        return None
    years = sorted({row["year"] for row in rows})
    in_force = figures.annual_flows(run.con)
    rule = in_force["rule"][0] if not in_force.is_empty() else None
    return Shown("sensitivity.html", {"rules": rules, "rows": rows, "in_force": rule,
                                      "years": years})


def linkage(run: Run) -> Shown | None:
    summary = figures.linkage_summary(run.con, run.producing("link"))
    if summary is None:
        return None
    bins = figures.weakest_links(run.con)
    report = run.paths.linkage_report
    return Shown("linkage.html", {
        "summary": summary,
        "linkage_report": os.path.relpath(report, run.paths.out) if report.exists() else None,
    }, {"chart-weakest-links": charts.weakest_links(bins)})


def disclosure(run: Run) -> Shown | None:
    audit = figures.disclosure_audit(run.con, run.producing("publish"))
    tables = suppression_by_table(run.con)
    if audit is None and not tables:
        return None
    return Shown("disclosure.html", {
        "audit": audit, "tables": len(tables),
        "cells": sum(t[1] for t in tables), "primary": sum(t[2] for t in tables),
        "secondary": sum(t[3] for t in tables),
    })


def stages(run: Run) -> Shown | None:
    parameters, versions = figures.pipeline_settings(run.con, run.run_id)
    return Shown("stages.html", {"stages": figures.stage_runs(run.con, run.run_id),
                                 "parameters": parameters, "versions": versions,
                                 "rows_shown": ROW_COUNTS_SHOWN})


def quality(run: Run) -> Shown | None:
    indicators = figures.quality_indicators(run.con, run.run_id)
    steps = figures.timings(run.con, run.run_id)
    if indicators.is_empty() and steps.is_empty():
        return None
    return Shown("quality.html", {"indicators": indicators.to_dicts(),
                                  "timings": _timings_by_stage(steps)})


def protection(run: Run) -> Shown | None:
    tables = suppression_by_table(run.con)
    release = run.paths.release
    files = (sorted(str(p.relative_to(run.paths.out)) for p in release.rglob("*")
                    if p.is_file()) if release.exists() else [])
    if not tables and not files:
        return None
    frame = pl.DataFrame(tables, schema=["table", "cells", "primary", "secondary"],
                         orient="row")
    return Shown("protection.html", {"tables": frame.to_dicts(), "files": files},
                 {"chart-cells-by-table": charts.cells_by_table(frame)} if tables else {})


def _timings_by_stage(steps: pl.DataFrame) -> list[dict]:
    return [{"stage": stage, "steps": group.select("step", "seconds").to_dicts()}
            for (stage,), group in steps.group_by(["stage"], maintain_order=True)]


#: The first page: what a methodologist checks before signing off.
FIRST_PAGE: tuple[Builder, ...] = (annual_flows, monthly_flows, backtest, sensitivity,
                                   linkage, disclosure)
#: After the first page: how the run went.
DETAILS: tuple[Builder, ...] = (stages, quality, protection)


def render_report(con: duckdb.DuckDBPyConnection, paths: RunPaths, run_id: str) -> str:
    run = Run(con, paths, run_id)
    first = [s for s in (build(run) for build in FIRST_PAGE) if s is not None]
    details = [s for s in (build(run) for build in DETAILS) if s is not None]
    parameters, _ = figures.pipeline_settings(con, run_id)
    return render_page("run_report.html", first + details, {
        "run_id": run_id, "first_page": first, "details": details,
        "parameters": parameters,
        "written": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "warehouse": str(paths.warehouse),
        "linkage_report": (os.path.relpath(paths.linkage_report, paths.out)
                           if paths.linkage_report.exists() else None),
    })


def write_report(con: duckdb.DuckDBPyConnection, paths: RunPaths, run_id: str) -> Path:
    """Write report.html into the run folder; returns its path."""
    html = render_report(con, paths, run_id)
    tmp = paths.report.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(paths.report)  # a reader never sees half a report
    return paths.report
