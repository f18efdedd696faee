"""Early checks (issue 13, finding 7): whatever can be checked is checked before Prefect
starts or anything is written, and fails in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REGMIG = str(Path(sys.executable).parent / "regmig")


def run(argv: list[str], env_changes: dict[str, str | None], tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    started = time.monotonic()
    done = subprocess.run([REGMIG, *argv], env=env, capture_output=True, text=True,
                          timeout=120)
    return done, time.monotonic() - started


@pytest.mark.parametrize("case", ["no key", "weak key", "no delivery files",
                                  "reference year", "run folder is a file"])
def test_run_stops_before_prefect_and_writes_nothing(sample_delivery, tmp_path, case):
    out = tmp_path / "out"
    inputs = sample_delivery
    env: dict[str, str | None] = {}
    extra: list[str] = []
    expected = {
        "no key": "no pseudonymisation key",
        "weak key": "too weak",
        "no delivery files": "no delivery files",
        "reference year": "--reference-year 1492",
        "run folder is a file": "the run folder is a file",
    }[case]
    if case == "no key":
        env["REGMIG_PSEUDONYM_KEY"] = None
    elif case == "weak key":
        env["REGMIG_PSEUDONYM_KEY"] = "a" * 32
    elif case == "no delivery files":
        inputs = tmp_path / "empty"
        inputs.mkdir()
    elif case == "reference year":
        extra = ["--reference-year", "1492"]
    else:
        out.write_text("not a folder")
    done, seconds = run(["run", "--input", str(inputs), "--out", str(out), *extra], env,
                        tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert done.stdout == ""  # no stage started
    assert not (tmp_path / "prefect-home").exists()  # Prefect never started
    assert out.is_file() if case == "run folder is a file" else not out.exists()
    assert seconds < 30, seconds  # a second or two; Prefect alone takes 10 s or more


def test_restricted_files_readable_by_others_stop_the_run_first(sample_delivery, tmp_path):
    from regmig.flows.cli import main

    out = tmp_path / "out"
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    (delivery / "permits.csv").write_bytes((sample_delivery / "permits.csv").read_bytes())
    assert main(["ingest", "--input", str(delivery), "--out", str(out)]) == 0
    (out / "restricted" / "identifiers.duckdb").chmod(0o644)
    done, _ = run(["run", "--input", str(delivery), "--out", str(out)], {}, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "accessible to group or others (mode 0644)" in lines[0]
    assert not (tmp_path / "prefect-home").exists()
