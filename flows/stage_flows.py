"""One Prefect flow per stage: thin wrappers around the stage functions.

The stage logic lives in the stage folders (`regmig.ingest.stage.ingest_folder`, ...),
which the `regmig ingest|link|estimate|publish` commands call too. A flow adds what a
scheduled, observable run needs: the run's row in meta.runs (parameters, versions, input
hashes, row counts, timings, the Prefect flow run id), retries where reading deliveries or
writing the release can fail for a passing reason, and skipping linkage and estimation
when nothing they read has changed (see `stage_cache`).
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from regmig.config import Config
from regmig.flows import stage_cache
from regmig.flows.run_log import say
from regmig.flows.stage_cache import StageCache
from regmig.warehouse.connection import open_warehouse
from regmig.warehouse.paths import RunPaths
from regmig.warehouse.runs import RunRecord, StageSummary, recorded_run

#: Attempts after the first when reading deliveries or writing the release fails with
#: an I/O error (a network share that blinks, a file still being copied).
IO_RETRIES = 2
IO_RETRY_DELAY_SECONDS = 10


@dataclass
class StageOutcome:
    """What a stage flow hands back to the pipeline."""

    stage: str
    status: str  # completed | skipped
    seconds: float
    lines: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    summary: Any = None  # the stage's own summary; None when the stage was skipped


def _io_may_recover(task: Any, task_run: Any, state: Any) -> bool:
    """Retry after I/O errors only: a bad delivery or a bug fails the same way again."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, OSError | duckdb.IOException)


def _task(name: str, *, io: bool) -> Callable[[Callable[..., Any]], Any]:
    # Prefect's own caching keys on task arguments; the inputs that matter here are
    # warehouse tables, so stage_cache decides what may be skipped instead.
    options: dict[str, Any] = {"name": name, "cache_policy": NO_CACHE, "persist_result": False}
    if io:
        options |= {"retries": IO_RETRIES, "retry_delay_seconds": IO_RETRY_DELAY_SECONDS,
                    "retry_condition_fn": _io_may_recover}
    return task(**options)


@_task("ingest deliveries", io=True)
def ingest_task(paths: RunPaths, config: Config, input_dir: Path, run_id: str) -> StageSummary:
    from regmig.ingest.stage import ingest_folder

    return ingest_folder(paths, config, input_dir, run_id)


@_task("link cases to persons", io=False)
def link_task(paths: RunPaths, config: Config, run_id: str, mode: str) -> StageSummary:
    from regmig.linkage import incremental
    from regmig.linkage.stage import link

    if mode == incremental.INCREMENTAL:
        return incremental.link_incrementally(paths, config, run_id)
    return link(paths, config, run_id)


@_task("apply the residence rule", io=False)
def estimate_task(
    paths: RunPaths, config: Config, run_id: str, reference_year: int | None
) -> StageSummary:
    from regmig.estimators.stage import estimate

    return estimate(paths, config, run_id, reference_year=reference_year)


@_task("tabulate, protect and export", io=True)
def publish_task(paths: RunPaths, config: Config, run_id: str, year: int) -> StageSummary:
    from regmig.publish.stage import publish

    return publish(paths, config, run_id, year)


def run_stage(
    stage: str,
    paths: RunPaths,
    run_id: str,
    config: Config,
    parameters: dict[str, Any],
    call: Callable[[], StageSummary],
    cache: StageCache | None = None,
    force: bool = False,
) -> StageOutcome:
    """Run one stage inside its meta.runs record, or reuse its last results if allowed."""
    started = time.perf_counter()
    con = open_warehouse(paths)
    try:
        record = RunRecord(
            run_id=run_id,
            stage=stage,
            parameters={**parameters, "config": config.as_dict()},
            flow_run_id=str(flow_run.id) if flow_run.id else None,
        )
        with recorded_run(con, record):
            cached_inputs = cache.input_hashes(con, paths, config, parameters) if cache else {}
            reused = (None if cache is None or force
                      else cache.reusable_run(con, paths, cached_inputs))
            if reused is not None:
                assert cache is not None
                record.status = "skipped"
                record.input_hashes = cached_inputs
                record.parameters |= {"reused_run_id": reused,
                                      "outputs_hash": cache.outputs_hash(con, paths)}
                record.row_counts = _row_counts_of(con, reused, stage)
                record.timings = {"total": time.perf_counter() - started}
                return StageOutcome(
                    stage, "skipped", record.timings["total"],
                    [f"inputs unchanged since run {reused}: its results are kept"],
                    record.row_counts,
                )
            summary = call()
            record.input_hashes = {**summary.input_hashes, **cached_inputs}
            record.row_counts = dict(summary.row_counts)
            if cache is not None:
                record.parameters["outputs_hash"] = cache.outputs_hash(con, paths)
            record.timings = {**summary.timings, "total": time.perf_counter() - started}
        return StageOutcome(stage, record.status, record.timings["total"], summary.lines(),
                            record.row_counts, summary)
    finally:
        con.close()


def _row_counts_of(con: "duckdb.DuckDBPyConnection", run_id: str, stage: str
                   ) -> dict[str, int]:
    # The annotation is a string: see the note in pipeline.py (nanobind's leak report).
    rows = con.execute(
        "SELECT row_counts FROM meta.runs WHERE run_id = ? AND stage = ?", [run_id, stage]
    ).fetchall()
    return json.loads(rows[0][0]) if rows and rows[0][0] else {}


def _log(outcome: StageOutcome) -> StageOutcome:
    """The stage's own lines, in its flow run's log (the pipeline says its status)."""
    for line in outcome.lines:
        say(f"      {line}")
    return outcome


def stage_run_name() -> str:
    """A stage's flow run in the UI: its month and run, e.g. "regmig-2026-12 link
    20261202T060001-3fa2b1c4" (the pipeline run is "regmig-2026-12 <delivery>")."""
    stage = flow_run.flow_name.removeprefix("regmig-")
    return f"regmig-{datetime.now(UTC):%Y-%m} {stage} {flow_run.parameters['run_id']}"


@flow(name="regmig-ingest", flow_run_name=stage_run_name)
def ingest_flow(out_dir: Path, input_dir: Path, run_id: str, config: Config) -> StageOutcome:
    """Validate the deliveries in `input_dir` and load them into the warehouse."""
    paths = RunPaths(out_dir)
    return _log(run_stage(
        "ingest", paths, run_id, config, {"input_dir": str(input_dir)},
        lambda: ingest_task(paths, config, input_dir, run_id),
    ))


@flow(name="regmig-link", flow_run_name=stage_run_name)
def link_flow(out_dir: Path, run_id: str, config: Config, force: bool = False,
              full_relink: bool = False) -> StageOutcome:
    """Link cases to persons: the new records only when the run folder's persons allow
    (linkage/incremental.py), else all of them; skipped when the loaded records and
    settings are unchanged."""
    from regmig.linkage.incremental import link_mode

    paths = RunPaths(out_dir)
    mode, why = link_mode(paths, config, full_relink)
    return _log(run_stage(
        "link", paths, run_id, config, {"mode": mode, "mode_reason": why},
        lambda: link_task(paths, config, run_id, mode),
        cache=stage_cache.LINK, force=force or full_relink or config.linkage.retrain,
    ))


@flow(name="regmig-estimate", flow_run_name=stage_run_name)
def estimate_flow(
    out_dir: Path, run_id: str, config: Config, reference_year: int | None = None,
    force: bool = False,
) -> StageOutcome:
    """Apply the residence rule; skipped when persons, crossings and settings are unchanged."""
    paths = RunPaths(out_dir)
    return _log(run_stage(
        "estimate", paths, run_id, config, {"reference_year": reference_year},
        lambda: estimate_task(paths, config, run_id, reference_year),
        cache=stage_cache.ESTIMATE, force=force,
    ))


@flow(name="regmig-publish", flow_run_name=stage_run_name)
def publish_flow(
    out_dir: Path, run_id: str, config: Config, year: int, force: bool = False
) -> StageOutcome:
    """Tabulate, protect, audit and export the release for `year`; skipped when the
    estimates, settings and the release itself are unchanged."""
    paths = RunPaths(out_dir)
    return _log(run_stage(
        "publish", paths, run_id, config, {"year": year},
        lambda: publish_task(paths, config, run_id, year),
        cache=stage_cache.PUBLISH, force=force,
    ))
