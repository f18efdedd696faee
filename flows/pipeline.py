"""The pipeline flow: deliveries -> ingest -> link -> estimate -> publish -> run report.

Given a folder of month folders (the scheduled monthly run, flows/monthly.py), the flow
runs each month not loaded yet in turn, oldest first, each under its own run id.

One run id names the whole run: every stage's row in meta.runs and every row a stage
writes carries it. A run that was killed can simply be started again: each stage
replaces what it wrote in one transaction, and link and estimate are skipped when what
they read is unchanged, so the restarted run ends with the same tables as a run that was
never interrupted.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from prefect import flow
from prefect.runtime import flow_run

from regmig.errors import RegmigError
from regmig.flows.monthly import month_folders, pending_months
from regmig.flows.preflight import preflight
from regmig.flows.progress_display import progress_display
from regmig.flows.run_log import say
from regmig.flows.run_settings import build_config
from regmig.flows.stage_flows import (
    StageOutcome,
    estimate_flow,
    ingest_flow,
    link_flow,
    publish_flow,
)
from regmig.warehouse.connection import open_warehouse
from regmig.warehouse.paths import RunPaths
from regmig.warehouse.runs import RunRecord, close_interrupted_runs, new_run_id, recorded_run

STAGES = ("ingest", "link", "estimate", "publish")

# DuckDB's classes appear in this module's annotations as strings only. Prefect keeps
# flow functions alive to the interpreter's very end, and a DuckDB class still
# referenced then (by an evaluated annotation) is reported by DuckDB's bindings as
# leaked, dozens of "nanobind: leaked ..." lines after every run. (`from __future__
# import annotations` would quote all of them, but Prefect then fails to resolve the
# flows' parameter types when a worker or `serve` runs them.)


@dataclass
class PipelineResult:
    run_id: str
    out_dir: Path
    year: int | None  # None: a monthly run that found no new month
    outcomes: list[StageOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def paths(self) -> RunPaths:
        return RunPaths(self.out_dir)


def open_run_folder(paths: RunPaths) -> "duckdb.DuckDBPyConnection":
    try:
        return open_warehouse(paths)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise RegmigError(
                f"{paths.warehouse}: in use by another process (is another regmig run "
                "writing to this run folder?)"
            ) from None
        raise


def publish_year(con: "duckdb.DuckDBPyConnection", reference_year: int | None
                 ) -> int | None:
    """The year to publish: the one asked for, else the estimate stage's default (the
    last calendar year the crossings cover completely); None when the crossings begin
    after that year (the first months of a monthly chain: nothing to publish yet)."""
    from regmig.estimators.stage import default_reference_year

    if reference_year is not None:
        return reference_year
    data_start, data_end = con.sql(
        "SELECT min(crossing_date), max(crossing_date) FROM core.crossings").fetchall()[0]
    if data_end is None:
        raise RegmigError("no crossings were linked, so there is no year to publish")
    year = default_reference_year(data_end)
    return year if year >= data_start.year else None


def run_name() -> str:
    """The flow run's name in the UI: the month it ran and its delivery folder, e.g.
    "regmig-2026-12 deliveries"."""
    return f"regmig-{datetime.now(UTC):%Y-%m} {Path(flow_run.parameters['input_dir']).name}"


@flow(name="regmig-pipeline", flow_run_name=run_name, log_prints=False)
def pipeline_flow(
    input_dir: Path,
    out_dir: Path,
    reference_year: int | None = None,
    threshold_days: int | None = None,
    window_days: int | None = None,
    disclosure_threshold: int | None = None,
    config_file: Path | None = None,
    pseudonym_key_file: Path | None = None,
    force: bool = False,
    full_relink: bool = False,
    run_id: str | None = None,
    engine: str | None = None,
) -> PipelineResult:
    """Run every stage on the deliveries in `input_dir`, writing the run folder `out_dir`.

    Rule (V/W days), disclosure threshold and pseudonymisation key file override the
    config file; `force` re-runs link, estimate and publish even when their inputs are
    unchanged; `full_relink` links every record again rather than only the new ones.
    When `input_dir` holds one folder per month, the months not loaded yet are run in
    turn and the last one's result is returned.
    """
    from regmig.flows.report import write_report
    from regmig.flows.run_summary import publish_summary

    started = time.perf_counter()
    input_dir, out_dir = Path(input_dir), Path(out_dir)
    if not input_dir.is_dir():
        raise RegmigError(f"{input_dir}: delivery folder not found")
    if month_folders(input_dir):
        return _run_new_months(input_dir, out_dir, run_id, {
            "reference_year": reference_year, "threshold_days": threshold_days,
            "window_days": window_days, "disclosure_threshold": disclosure_threshold,
            "config_file": config_file, "pseudonym_key_file": pseudonym_key_file,
            "force": force, "full_relink": full_relink, "engine": engine})
    config = build_config(config_file, threshold_days, window_days, disclosure_threshold,
                          pseudonym_key_file, engine)
    # Again inside the flow, for runs a deployment starts: still before anything is written.
    preflight(config, input_dir, out_dir, reference_year)
    run_id = run_id or new_run_id()
    paths = RunPaths(out_dir).ensure()
    parameters = {
        "input_dir": str(input_dir), "out_dir": str(out_dir),
        "reference_year": reference_year, "rule": config.estimate.rule.label,
        "threshold_days": config.estimate.rule.threshold_days,
        "window_days": config.estimate.rule.window_days,
        "disclosure_threshold": config.disclosure.threshold,
        "config_file": str(config_file) if config_file else None, "force": force,
        "engine": config.engine,
        "full_relink": full_relink, "config": config.as_dict(),
    }
    # Held for the whole run: DuckDB lets one process write the file, so a second run on
    # the same folder stops at once instead of interleaving with this one.
    con = open_run_folder(paths)
    try:
        interrupted = close_interrupted_runs(con)
        say(f"regmig run {run_id}: {input_dir} -> {out_dir}")
        if interrupted:
            say(f"  ({interrupted} stage run(s) of an interrupted run marked failed)")
        record = RunRecord(run_id, "pipeline", parameters,
                           flow_run_id=str(flow_run.id) if flow_run.id else None)
        with recorded_run(con, record):
            outcomes = []

            def stage(number: int, name: str, run: Callable[[], StageOutcome],
                      detail: str = "") -> None:
                label = f"[{number}/{len(STAGES)}] {name}"
                say(f"{label}{detail} ...")
                with progress_display(label + detail):
                    outcome = run()
                outcomes.append(outcome)
                record.timings[name] = round(outcome.seconds, 3)
                record.row_counts |= {f"{name}.{k}": v for k, v in outcome.row_counts.items()}
                say(f"{label}: {outcome.status} in {outcome.seconds:.1f} s")

            stage(1, "ingest", lambda: ingest_flow(out_dir, input_dir, run_id, config))
            stage(2, "link", lambda: link_flow(out_dir, run_id, config, force, full_relink))
            stage(3, "estimate",
                  lambda: estimate_flow(out_dir, run_id, config, reference_year, force))
            year = publish_year(con, reference_year)
            record.parameters["publish_year"] = year
            if year is None:
                say(f"[4/{len(STAGES)}] publish: nothing yet, the crossings cover no whole "
                    "calendar year")
            else:
                stage(4, "publish", lambda: publish_flow(out_dir, run_id, config, year, force),
                      detail=f" {year}")
            report_started = time.perf_counter()
            write_report(con, paths, run_id)
            record.timings["report"] = round(time.perf_counter() - report_started, 3)
            say(f"run report: {paths.report}")
            publish_summary(con, paths, run_id, year)
            record.timings["total"] = round(time.perf_counter() - started, 3)
    finally:
        con.close()
    return PipelineResult(run_id, out_dir, year, outcomes, time.perf_counter() - started)


def _run_new_months(input_dir: Path, out_dir: Path, run_id: str | None,
                    options: dict) -> PipelineResult:
    """The pipeline on each month folder not loaded yet, oldest first; a run that finds
    none says so in meta.runs (a pipeline row with status skipped) and changes nothing."""
    paths = RunPaths(out_dir).ensure()
    con = open_run_folder(paths)
    try:
        months = month_folders(input_dir)
        new = pending_months(con, months)
        if not new:
            run_id = run_id or new_run_id()
            record = RunRecord(run_id, "pipeline", {
                "input_dir": str(input_dir), "out_dir": str(out_dir),
                "month_folders": len(months), "new_months": []},
                flow_run_id=str(flow_run.id) if flow_run.id else None, status="skipped")
            with recorded_run(con, record):
                say(f"regmig run {run_id}: {input_dir} holds {len(months)} month folders, "
                    "all loaded already: nothing to do")
            return PipelineResult(run_id, out_dir, None)
    finally:
        con.close()
    say(f"{input_dir}: {len(new)} new month folder(s) of {len(months)}: "
        + ", ".join(folder.name for folder in new))
    results = [pipeline_flow.fn(folder, out_dir, **options,
                                run_id=run_id if len(new) == 1 else None)
               for folder in new]
    return results[-1]
