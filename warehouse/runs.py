"""meta.runs: one row per stage run, so every derived row can be traced to what made it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Protocol, TypeVar

import duckdb

from regmig.warehouse.connection import open_warehouse
from regmig.warehouse.paths import RunPaths

#: Packages whose versions are recorded with every run.
RECORDED_PACKAGES = ("regmig", "splink", "duckdb", "polars", "pyarrow", "pandera", "prefect",
                     "pyspark")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def package_versions() -> dict[str, str]:
    versions = {}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass
class RunRecord:
    """What a stage reports about itself; written to meta.runs when the stage ends."""

    run_id: str
    stage: str
    parameters: dict[str, Any] = field(default_factory=dict)
    input_hashes: dict[str, str] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    flow_run_id: str | None = None
    status: str = "running"


@contextmanager
def recorded_run(
    con: duckdb.DuckDBPyConnection, record: RunRecord
) -> Iterator[RunRecord]:
    """Write the run's row at start, and complete it (or mark it failed) at the end."""
    started = datetime.now(UTC).replace(tzinfo=None)
    con.execute(
        "INSERT OR REPLACE INTO meta.runs (run_id, stage, flow_run_id, parameters, "
        "package_versions, status, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)",
        [
            record.run_id,
            record.stage,
            record.flow_run_id,
            json.dumps(record.parameters, default=str),
            json.dumps(package_versions()),
            started,
        ],
    )
    try:
        yield record
    except BaseException:
        record.status = "failed"
        raise
    else:
        if record.status == "running":
            record.status = "completed"
    finally:
        # Parameters are written again: a caller may add what it decided during the
        # run (e.g. which earlier run's results it reused).
        con.execute(
            "UPDATE meta.runs SET parameters = ?, input_hashes = ?, row_counts = ?, "
            "timings = ?, status = ?, finished_at = ? WHERE run_id = ? AND stage = ?",
            [
                json.dumps(record.parameters, default=str),
                json.dumps(record.input_hashes),
                json.dumps(record.row_counts),
                json.dumps(record.timings),
                record.status,
                datetime.now(UTC).replace(tzinfo=None),
                record.run_id,
                record.stage,
            ],
        )


class StageSummary(Protocol):
    """What every stage function returns (see the stage entry points)."""

    row_counts: dict[str, int]
    timings: dict[str, float]
    input_hashes: dict[str, str]

    def lines(self) -> list[str]: ...


Summary = TypeVar("Summary", bound=StageSummary)


def run_recorded_stage(
    paths: RunPaths,
    stage: str,
    parameters: dict[str, Any],
    call: Callable[[str], Summary],
) -> Summary:
    """Run one stage outside a flow (a stage command, a test fixture) under a new run id,
    with its meta.runs row completed from the summary the stage returns."""
    run_id = new_run_id()
    con = open_warehouse(paths)
    try:
        record = RunRecord(run_id=run_id, stage=stage, parameters=parameters)
        with recorded_run(con, record):
            summary = call(run_id)
            record.row_counts = dict(summary.row_counts)
            record.timings = dict(summary.timings)
            record.input_hashes = dict(summary.input_hashes)
    finally:
        con.close()
    return summary


def close_interrupted_runs(con: duckdb.DuckDBPyConnection) -> int:
    """Mark runs left 'running' by a killed process as failed; returns how many.

    Call only while holding the warehouse for writing: DuckDB lets one process write a
    file at a time, so no run marked 'running' can still be alive then.
    """
    interrupted = con.sql("SELECT count(*) FROM meta.runs WHERE status = 'running'").fetchall()
    con.execute(
        "UPDATE meta.runs SET status = 'failed', finished_at = ? WHERE status = 'running'",
        [datetime.now(UTC).replace(tzinfo=None)],
    )
    return int(interrupted[0][0])
