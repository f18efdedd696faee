"""Prefect as the command line runs it: local, offline, and quiet about user mistakes.

`prepare()` must run before Prefect is first imported: Prefect reads its settings from
the environment at import time.
"""

from __future__ import annotations

import logging
import os

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


def prepare(quiet: bool = False) -> None:
    """Set Prefect's environment defaults, import it, and quiet its console.

    `quiet` keeps Prefect's INFO lines off the terminal and prints regmig's own lines
    plainly instead (`run_log`); all of them still reach Prefect's database and UI
    through its API handler.
    """
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    import prefect.main  # noqa: F401  (sets up Prefect's logging handlers)

    for handler in logging.getLogger().handlers:
        if handler.__class__.__name__ == "PrefectConsoleHandler":
            handler.addFilter(_UserErrorOnce())
            if quiet:
                handler.setLevel(logging.WARNING)
    if quiet:
        from regmig.flows.run_log import show_plain_lines

        show_plain_lines()
