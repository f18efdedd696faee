"""Restartable: a `regmig run` killed in the middle and started again ends with the same
tables as the uninterrupted reference run (`pipeline_run`)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from regmig.flows.stage_cache import PROVENANCE_COLUMNS
from regmig.warehouse.catalog import table_names
from regmig.warehouse.connection import open_warehouse
from regmig.warehouse.hashes import table_hash
from regmig.warehouse.paths import RunPaths

#: Bounds the killed run: ingest and link of the sample, with room for a busy machine.
KILL_WITHIN_SECONDS = 300
#: What the reference and the restarted run must agree on: everything from link onwards.
COMPARED_SCHEMAS = ("core", "derived", "stats", "release")
#: Tables that record history rather than results: they grow with every run.
NOT_COMPARED = {"core.person_id_history", "core.linkage_models", "stats.revisions"}


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return sorted(set(table_names(con, COMPARED_SCHEMAS)) - NOT_COMPARED)


def _fingerprint(warehouse: Path) -> dict[str, tuple[int, str]]:
    with open_warehouse(RunPaths(warehouse.parent), read_only=True) as con:
        return {
            table: (con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0],
                    table_hash(con, [table], PROVENANCE_COLUMNS))
            for table in _tables(con)
        }


def _run_until_link_done(argv: list[str], env: dict[str, str]) -> list[str]:
    """Start `regmig run`, read its progress, and kill it once link has completed."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    seen: list[str] = []
    deadline = time.monotonic() + KILL_WITHIN_SECONDS
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line.rstrip())
            # Printed after link's meta.runs row says completed: estimate is starting.
            if line.startswith("[2/4] link: completed"):
                return seen
            if time.monotonic() > deadline:
                break
        raise AssertionError("link never completed:\n" + "\n".join(seen[-40:]))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)


def test_killed_run_restarted_gives_the_same_tables(
    tmp_path: Path, sample_delivery: Path, pipeline_run, pipeline_config: Path,
    prefect_server: str,
):
    from regmig.flows.pipeline import pipeline_flow

    out = tmp_path / "run"
    regmig = str(Path(sys.executable).parent / "regmig")
    # The child talks to this session's Prefect server instead of starting its own.
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    _run_until_link_done([regmig, "run", "--input", str(sample_delivery), "--out", str(out),
                          "--config", str(pipeline_config)], env)

    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        killed = dict(con.sql("SELECT stage, status FROM meta.runs").fetchall())
    assert killed["link"] == "completed"
    assert killed["pipeline"] == "running"  # the kill left it so
    assert killed.get("publish") is None

    restarted = pipeline_flow(input_dir=sample_delivery, out_dir=out,
                              config_file=pipeline_config)

    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        runs = con.execute("SELECT run_id, stage, status, parameters FROM meta.runs").fetchall()
    first_run = next(r[0] for r in runs if r[1] == "pipeline" and r[0] != restarted.run_id)
    by_key = {(r[0], r[1]): r for r in runs}
    # The interrupted run is closed as failed; the restart reused its link results.
    assert by_key[(first_run, "pipeline")][2] == "failed"
    assert by_key[(restarted.run_id, "link")][2] == "skipped"
    assert json.loads(by_key[(restarted.run_id, "link")][3])["reused_run_id"] == first_run
    assert by_key[(restarted.run_id, "publish")][2] == "completed"

    reference = _fingerprint(pipeline_run.paths.warehouse)
    assert reference and _fingerprint(out / "warehouse.duckdb") == reference
