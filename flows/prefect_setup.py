"""Prefect as the command line runs it: local, offline, and quiet about user mistakes.

`prepare()` must run before Prefect is first imported: Prefect reads its settings from
the environment at import time.

The temporary server dies with its parent. Without a configured server (PREFECT_API_URL),
Prefect would start its own temporary one (`SubprocessASGIServer`: uvicorn in a child
process) and stop it at exit; a `kill -9` of regmig skips that, and the server lives on,
holding memory and a port (6 of 7 kills did). So `prepare(temporary_server=True)` starts
the same server itself, from the main thread, and points Prefect at it: the child asks the
kernel to kill it when its parent dies (PR_SET_PDEATHSIG, Linux), checks that the parent
is still the one that started it, and watches the parent's pid besides (any system).
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from regmig.errors import RegmigError

#: Defaults only: a user's own PREFECT_* environment wins.
PREFECT_DEFAULTS = {
    # No network here, and none needed: do not phone home.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # The temporary local server takes 11-18 s to start on 2 cores; the default
    # allowance is too tight on a busy machine.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def _error_names(cls: type[BaseException] = RegmigError) -> set[str]:
    return {cls.__name__}.union(*(_error_names(sub) for sub in cls.__subclasses__()))


class _UserErrorOnce(logging.Filter):
    """Drop Prefect's console lines about a RegmigError (its traceback, the failed task
    and flow states): the command line prints the error itself, as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], RegmigError):
            return False
        message = record.getMessage()
        return not any(f"{name}:" in message or f"{name}(" in message
                       for name in _error_names())


def prepare(quiet: bool = False, temporary_server: bool = False) -> None:
    """Set Prefect's environment defaults, import it, and quiet its console.

    `quiet` keeps Prefect's INFO lines off the terminal and prints regmig's own lines
    plainly instead (`run_log`); all of them still reach Prefect's database and UI
    through its API handler.
    `temporary_server` starts a temporary server that dies with this process, unless a
    server is configured (PREFECT_API_URL) or Prefect is already imported (a test's own).
    """
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if temporary_server and not os.environ.get("PREFECT_API_URL") \
            and "prefect" not in sys.modules:
        server = TemporaryServer.start()
        # Stopped after Prefect's exit handlers (atexit runs last-in first-out), which
        # still send it logs and states.
        atexit.register(server.stop)
        os.environ["PREFECT_API_URL"] = server.api_url
    import prefect.main  # noqa: F401  (sets up Prefect's logging handlers)

    for handler in logging.getLogger().handlers:
        if handler.__class__.__name__ == "PrefectConsoleHandler":
            handler.addFilter(_UserErrorOnce())
            if quiet:
                handler.setLevel(logging.WARNING)
    if quiet:
        from regmig.flows.run_log import show_plain_lines

        show_plain_lines()


#: Runs in the server's process before uvicorn: die with the parent (argv[1] is its pid).
_DIE_WITH_PARENT = """
import ctypes, os, runpy, signal, sys, threading, time
parent = int(sys.argv[1])
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (AttributeError, OSError):
    pass
if os.getppid() != parent:  # the parent died before prctl took effect
    os._exit(1)
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGKILL)
threading.Thread(target=watch, daemon=True).start()
sys.argv = ["uvicorn", *sys.argv[2:]]
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""


class TemporaryServer:
    """Prefect's temporary API server (as `SubprocessASGIServer` runs it: uvicorn with
    Prefect's app, no UI), in a child process that dies with this one."""

    def __init__(self, process: subprocess.Popen, port: int) -> None:
        self.process = process
        self.port = port

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @classmethod
    def start(cls) -> TemporaryServer:
        """Start the server and wait until it answers (or raise RegmigError)."""
        # Found, not imported: Prefect must read its settings after PREFECT_API_URL is set.
        spec = importlib.util.find_spec("prefect")
        assert spec is not None and spec.submodule_search_locations
        app_dir = Path(spec.submodule_search_locations[0]).parent
        port = _free_port()
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1"}
        process = subprocess.Popen(
            [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()),
             "--app-dir", str(app_dir),
             "--factory", "prefect.server.api.server:create_app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
             "--lifespan", "on"],
            env=env,
        )
        server = cls(process, port)
        server._wait_until_up(
            float(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))
        return server

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RegmigError(f"the temporary Prefect server stopped as it started "
                                  f"(exit status {self.process.returncode})")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RegmigError(f"the temporary Prefect server did not answer within {timeout:.0f} "
                          f"s (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
