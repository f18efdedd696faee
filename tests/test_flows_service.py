"""The README's service recipe, as far as it can run here: the two systemd units pass
`systemd-analyze verify` with their paths pointed at this checkout, and the worker unit's
own commands (create the work pool, deploy prefect.yaml, start a process worker) run a
deployment of the monthly flow on a real Prefect server, each log line once and no leak
report. systemd itself does not run in this container, so `systemctl` is not tried."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml
from test_flows_schedule import (
    SERVER_START_SECONDS,
    _free_loopback_port,
    _healthy,
    _process,
    _wait_for,
)

from regmig.flows.deployment import DEPLOYMENT_NAME, FLOW_NAME

ROOT = Path(__file__).resolve().parent.parent
UNITS = ("regmig-prefect.service", "regmig-worker.service")
#: Where the units expect the checkout, its environment and Prefect's home.
INSTALL_DIR, PREFECT_HOME = "/opt/regmig", "/var/lib/regmig/prefect"
RUN_SECONDS = 300


def _unit(name: str, home: Path) -> str:
    """A unit with its paths pointed at this checkout, its venv and a test home."""
    venv = Path(sys.executable).parent.parent
    text = (ROOT / "deploy" / name).read_text(encoding="utf-8")
    return (text.replace(f"{INSTALL_DIR}/.venv", str(venv)).replace(INSTALL_DIR, str(ROOT))
            .replace(PREFECT_HOME, str(home)).replace("User=regmig", f"User={_user()}"))


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _commands(unit: str, key: str) -> list[list[str]]:
    return [shlex.split(line.split("=", 1)[1]) for line in unit.splitlines()
            if line.startswith(f"{key}=")]


def test_units_pass_systemd_analyze_verify(tmp_path):
    for name in UNITS:
        (tmp_path / name).write_text(_unit(name, tmp_path / "home"), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no",
                           *(str(tmp_path / name) for name in UNITS)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


@pytest.mark.slow
def test_the_worker_unit_runs_the_monthly_deployment(tmp_path, pipeline_run, pipeline_config,
                                                      sample_delivery):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    out = tmp_path / "run"
    shutil.copytree(pipeline_run.out_dir, out)
    project = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    (deployment,) = project["deployments"]
    deployment["parameters"] = {"input_dir": str(sample_delivery), "out_dir": str(out),
                                "config_file": str(pipeline_config)}
    prefect_file = tmp_path / "prefect.yaml"
    prefect_file.write_text(yaml.safe_dump(project), encoding="utf-8")

    unit = _unit("regmig-worker.service", tmp_path / "home")
    url = f"http://127.0.0.1:{_free_loopback_port()}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "home"), "PREFECT_API_URL": url,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
           "PREFECT_WORKER_QUERY_SECONDS": "1"}
    port = url.split(":")[2].split("/")[0]
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    with _process([str(Path(sys.executable).with_name("prefect")), "server", "start",
                   "--host", "127.0.0.1", "--port", port], env, server_log):
        _wait_for("prefect server health", lambda: _healthy(url), SERVER_START_SECONDS,
                  server_log)
        for command in _commands(unit, "ExecStartPre"):
            if command[-2:] == ["deploy", "--all"]:
                command += ["--prefect-file", str(prefect_file)]
            done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True,
                                  text=True, timeout=180)
            assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        (start,) = _commands(unit, "ExecStart")
        with _process(start, env, worker_log), temporary_settings(
                updates={PREFECT_API_URL: url}):
            started = time.monotonic()
            flow_run = run_deployment(f"{FLOW_NAME}/{DEPLOYMENT_NAME}", timeout=RUN_SECONDS,
                                      poll_interval=1)
            assert flow_run.state is not None and flow_run.state.is_completed(), (
                f"{flow_run.state} after {time.monotonic() - started:.0f} s\n"
                f"{worker_log.read_text()[-3000:]}")
            with get_client(sync_client=True) as client:
                artifacts = client.read_artifacts(limit=10)
        time.sleep(1)  # the worker's last lines
    log = worker_log.read_text(encoding="utf-8")
    assert "nanobind" not in log and "Traceback" not in log, log[-3000:]
    regmig_lines = [line.split(" | ", 2)[-1] for line in log.splitlines() if "[1/4]" in line
                    or "[4/4]" in line or "run report:" in line]
    assert len(regmig_lines) == len(set(regmig_lines)) >= 5, regmig_lines
    assert any(str(out / "report.html") in (a.data or "") for a in artifacts)
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        status = con.execute("SELECT status FROM meta.runs WHERE stage = 'pipeline' AND "
                             "flow_run_id = ?", [str(flow_run.id)]).fetchall()
    assert status == [("completed",)]
