"""The commands that run flows: a user's mistake is one line on stderr and exit 2, before
Prefect starts where it can be, and without Prefect's traceback where it cannot."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from regmig.flows.cli import main

REGMIG = str(Path(sys.executable).parent / "regmig")


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("regmig: error:"), err
    return err[0]


@pytest.mark.parametrize("extra, message", [
    (["--config", "missing.toml"], "config file not found"),
    (["--threshold-days", "600"], "V=600 days must be between 1 and W=487"),
])
def test_bad_settings_fail_before_any_flow(tmp_path, sample_delivery, capsys, extra, message):
    argv = ["run", "--input", str(sample_delivery), "--out", str(tmp_path / "out"), *extra]
    assert main(argv) == 2
    assert message in _one_line_error(capsys)
    assert not (tmp_path / "out").exists()


def test_missing_delivery_folder(tmp_path, capsys):
    assert main(["run", "--input", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    assert "delivery folder not found" in _one_line_error(capsys)


def test_serve_without_a_server_says_how_to_start_one(tmp_path, sample_delivery):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    done = subprocess.run([REGMIG, "serve", "--input", str(sample_delivery), "--out",
                           str(tmp_path / "out")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "regmig: error: scheduled runs need a running Prefect server: start one with "
        "`prefect server start`, then `export PREFECT_API_URL=http://127.0.0.1:4200/api`"
    ]


def test_bad_delivery_inside_the_flow_is_one_line(tmp_path, prefect_server):
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    (delivery / "permits.csv").write_bytes(b"\x00\x01\x02 not text \xff\xfe")
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    done = subprocess.run([REGMIG, "run", "--input", str(delivery), "--out",
                           str(tmp_path / "out")], env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 2, done.stderr
    # Exactly one line: no traceback, and no "nanobind: leaked" report at exit.
    errors = done.stderr.splitlines()
    assert len(errors) == 1 and errors[0].startswith("regmig: error:"), done.stderr
    assert "permits.csv" in errors[0] and "Traceback" not in done.stderr
