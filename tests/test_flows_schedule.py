"""Scheduled runs on a REAL Prefect server: the monthly deployment registers, and a run
triggered through the server is executed by `regmig serve` and records itself in
meta.runs. Every wait is bounded; the server only listens on the loopback address."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from regmig.flows import stage_cache
from regmig.flows.deployment import DEPLOYMENT_NAME, FLOW_NAME, MONTHLY_CRON

BIN = Path(sys.executable).parent
SERVER_START_SECONDS = 120
DEPLOYMENT_SECONDS = 90
RUN_SECONDS = 240
STOP_SECONDS = 20
CACHED_STAGES = ("link", "estimate", "publish")


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A child in its own process group, interrupted (then killed) when the block ends."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(STOP_SECONDS)


def _wait_for(what: str, probe: Callable[[], Any], seconds: float, log: Path) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = probe()
        except Exception:  # not up yet: the probe talks to a server that is starting
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {seconds} s; log:\n{log.read_text()[-3000:]}")


def _healthy(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
        return response.status == 200


def test_monthly_deployment_runs_on_a_real_server(
    tmp_path: Path, pipeline_run, pipeline_config: Path, sample_delivery: Path
):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # Start from a finished run: link, estimate and publish find their inputs unchanged,
    # so the scheduled run is quick and still goes through every stage flow.
    out = tmp_path / "run"
    shutil.copytree(pipeline_run.out_dir, out)
    url = f"http://127.0.0.1:{_free_loopback_port()}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    port = url.split(":")[2].split("/")[0]
    server_log, serve_log = tmp_path / "server.log", tmp_path / "serve.log"
    with _process([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                   "--port", port], env, server_log):
        _wait_for("prefect server health", lambda: _healthy(url), SERVER_START_SECONDS,
                  server_log)
        with _process([str(BIN / "regmig"), "serve", "--input", str(sample_delivery),
                       "--out", str(out), "--config", str(pipeline_config)], env, serve_log), \
                temporary_settings(updates={PREFECT_API_URL: url}):

            def deployment():
                with get_client(sync_client=True) as client:
                    return client.read_deployment_by_name(f"{FLOW_NAME}/{DEPLOYMENT_NAME}")

            registered = _wait_for("deployment registered", deployment, DEPLOYMENT_SECONDS,
                                   serve_log)
            assert [s.schedule.cron for s in registered.schedules] == [MONTHLY_CRON]
            assert all(s.active for s in registered.schedules)
            assert registered.parameters["out_dir"] == str(out.resolve())

            flow_run = run_deployment(f"{FLOW_NAME}/{DEPLOYMENT_NAME}", timeout=RUN_SECONDS,
                                      poll_interval=1)
            assert flow_run.state is not None and flow_run.state.is_completed(), (
                f"{flow_run.state}\n{serve_log.read_text()[-3000:]}"
            )

    # The operator's log: each event once, and no leak report when a run's process ends.
    log = serve_log.read_text(encoding="utf-8")
    assert "nanobind" not in log and "Traceback" not in log, log[-3000:]
    stage_lines = [line.split(" | ", 2)[-1] for line in log.splitlines()
                   if "] ingest" in line or "] publish" in line]
    assert len(stage_lines) == len(set(stage_lines)) >= 4, stage_lines

    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        pipeline = con.execute(
            "SELECT run_id, status, parameters FROM meta.runs "
            "WHERE stage = 'pipeline' AND flow_run_id = ?", [str(flow_run.id)],
        ).fetchall()
        assert len(pipeline) == 1 and pipeline[0][1] == "completed"
        run_id = pipeline[0][0]
        assert json.loads(pipeline[0][2])["input_dir"] == str(sample_delivery.resolve())
        stages = dict(con.execute(
            "SELECT stage, status FROM meta.runs WHERE run_id = ? AND stage <> 'pipeline' "
            "AND flow_run_id IS NOT NULL", [run_id],
        ).fetchall())
        reference, scheduled = (_cached_stage_runs(con, run) for run in
                                (pipeline_run.run_id, run_id))
    assert stages["ingest"] == "completed"
    differing = {
        stage: sorted(key for key, value in scheduled[stage][0].items()
                      if reference[stage][0].get(key) != value)
        for stage in CACHED_STAGES
    }
    # The deployment runs with the demo's settings, so no stage may see other settings.
    assert not any(stage_cache.SETTINGS_KEY in keys for keys in differing.values()), differing
    edited = {stage for stage, keys in differing.items() if stage_cache.CODE_KEY in keys}
    if not edited:
        # Same delivery, settings and code as the reference run: every expensive stage
        # keeps the reference run's results.
        assert {stage: stages[stage] for stage in CACHED_STAGES} == dict.fromkeys(
            CACHED_STAGES, "skipped"), differing
        assert all(scheduled[stage][1].get("reused_run_id") == pipeline_run.run_id
                   for stage in CACHED_STAGES)
    else:
        # The reference run is session-wide: sources edited while the session ran (a
        # shared working tree) are new code, which must run again.
        assert all(stages[stage] == "completed" for stage in edited), (stages, differing)


def _cached_stage_runs(
    con: duckdb.DuckDBPyConnection, run_id: str
) -> dict[str, tuple[dict[str, str], dict[str, Any]]]:
    """Input hashes and parameters of one run's link, estimate and publish rows."""
    rows = con.execute(
        "SELECT stage, input_hashes, parameters FROM meta.runs WHERE run_id = ? "
        "AND stage IN ('link', 'estimate', 'publish')", [run_id],
    ).fetchall()
    return {stage: (json.loads(hashes or "{}"), json.loads(parameters or "{}"))
            for stage, hashes, parameters in rows}
