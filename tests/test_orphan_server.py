"""kill -9 of `regmig run` (issue 13, finding 10): the temporary Prefect server dies with
its parent instead of living on, holding memory and a port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REGMIG = str(Path(sys.executable).parent / "regmig")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie holds no memory and no port)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command_line(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


@pytest.mark.slow
def test_kill_9_of_run_takes_the_temporary_server_with_it(sample_delivery, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    process = subprocess.Popen([REGMIG, "run", "--input", str(sample_delivery), "--out",
                                str(tmp_path / "out")], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    server = None
    try:
        # The pipeline prints its first line once the server answers and the flow runs.
        first = process.stdout.readline()
        assert first.startswith("regmig run "), first
        servers = [pid for pid in children(process.pid)
                   if any("uvicorn" in arg for arg in command_line(pid))]
        assert len(servers) == 1, servers
        server = servers[0]
        line = command_line(server)
        port = line[line.index("--port") + 1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as r:
            assert r.status == 200  # a real server, up
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while running(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not running(server), "the temporary Prefect server outlived its parent"
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
        if server is not None and running(server):
            os.kill(server, signal.SIGKILL)  # do not leave the orphan this test found
