"""What an operator reads in a run's log: each event once, and nothing at exit.

A flow run executed in a process of its own, with Prefect's own logging (as `regmig
serve` and a Prefect worker run it), prints every regmig line once and no "nanobind:
leaked" report when the process ends; `regmig demo` on a terminal-less stdout prints each
line once and plainly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

FLOW_IN_ITS_OWN_PROCESS = """
import sys
from pathlib import Path
from regmig.config import Config
from regmig.flows.stage_flows import ingest_flow
ingest_flow(Path(sys.argv[1]), Path(sys.argv[2]), "log-test", Config())
"""


def test_a_flow_run_in_its_own_process_logs_each_line_once(
    tmp_path, prefect_server, sample_delivery
):
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    done = subprocess.run(
        [sys.executable, "-c", FLOW_IN_ITS_OWN_PROCESS, str(tmp_path / "out"),
         str(sample_delivery)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "nanobind" not in output and "leaked" not in output, output[-3000:]
    lines = [line for line in output.splitlines() if "rows read" in line]
    assert len(lines) == 4, output  # three files and the total
    # Prefect's console format: time | level | flow or task run - message; each once.
    messages = Counter(line.split(" | ", 2)[-1] for line in output.splitlines())
    assert not [m for m, n in messages.items() if n > 1 and m.strip()], messages


def test_demo_prints_each_line_once_and_plainly(pipeline_run):
    lines = [line for line in pipeline_run.output.splitlines() if line.strip()]
    stage_lines = [line for line in lines if line.startswith("[")]
    assert len(stage_lines) == len(set(stage_lines)) == 8  # start and end of each stage
    assert not [line for line in lines if " | INFO " in line]
    assert sum("rows read" in line for line in lines) == 4
