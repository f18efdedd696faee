"""The run's summary in the Prefect UI: a markdown artifact on the pipeline's flow run.

What an operator checks first in the scheduler: how each stage ended, the published
year's immigration and emigration with their intervals, the disclosure audit, and where
the run report, the linkage report and the release are. The figures are read by
`report_figures`, from the same tables the report shows.
"""

from __future__ import annotations

from uuid import UUID

import duckdb
from prefect.artifacts import create_markdown_artifact

from regmig.flows import report_figures as figures
from regmig.warehouse.paths import RunPaths

#: The artifact's key: every run adds a version, so the UI lists the runs' summaries
#: side by side under one name.
ARTIFACT_KEY = "regmig-run-summary"


def summary_markdown(con: duckdb.DuckDBPyConnection, paths: RunPaths, run_id: str,
                     year: int | None) -> str:
    """`year` None: nothing published yet (the first months of a monthly chain)."""
    parameters, _ = figures.pipeline_settings(con, run_id)
    published = (f"published year {year}" if year is not None
                 else "nothing published yet (no whole calendar year of crossings)")
    lines = [
        f"# regmig run {run_id}",
        "",
        f"Deliveries `{parameters.get('input_dir', '?')}`, run folder `{paths.out}`; "
        f"{published}; residence rule {parameters.get('rule', '?')}.",
        "",
        "| stage | status | seconds |",
        "|---|---|---:|",
        *(f"| {s['stage']} | {s['status']} | {s['seconds']:.1f} |"
          for s in figures.stage_runs(con, run_id)),
    ]
    totals = figures.annual_flows(con)
    if year is not None and not totals.is_empty():
        level = f"{100 * totals['interval_level'][0]:.0f}%"
        lines += ["", f"| {year} | published | {level} interval | final | provisional "
                      "(expected) | status |", "|---|---:|---:|---:|---:|---|"]
        lines += [f"| {r['kind']} | {r['published']:,} | {r['lower']:,.0f}–{r['upper']:,.0f}"
                  f" | {r['final']:,} | {r['provisional_expected']:,.1f} | {r['status']} |"
                  for r in totals.filter(totals["year"] == year).to_dicts()]
    audit = figures.disclosure_audit(con, figures.producing_run(con, run_id, "publish"))
    if audit is not None:
        verdict = "passed" if audit.passed else f"FAILED for {audit.exposed:,} cells"
        lines += ["", f"Disclosure audit: **{verdict}** ({audit.audited:,} primary cells, "
                      f"threshold {audit.threshold})."]
    lines += ["", f"- Run report: `{paths.report}`",
              f"- Linkage report: `{paths.linkage_report}`",
              f"- Release: `{paths.release}`"]
    return "\n".join(lines) + "\n"


def publish_summary(con: duckdb.DuckDBPyConnection, paths: RunPaths, run_id: str,
                    year: int | None) -> UUID:
    """Attach the summary to the current flow run (call inside the pipeline flow)."""
    return create_markdown_artifact(
        markdown=summary_markdown(con, paths, run_id, year), key=ARTIFACT_KEY,
        description=f"regmig run {run_id}: {paths.report}")
