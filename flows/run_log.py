"""What a run tells the people watching it: one line per event, wherever they watch.

`say` logs a line through the flow run's logger, once: Prefect sends it to its API (the
UI's log of that flow run) and, where Prefect's console handler shows INFO (a `serve`
process, a worker, `--verbose`), prints it there. The command line's quiet mode shows
Prefect's warnings only; `PlainLines` then prints regmig's own lines as they are, so
the terminal shows each of them once too.
"""

from __future__ import annotations

import logging
import sys

from prefect import get_run_logger

#: Set on the log records of regmig's own lines (`say`), so a handler can tell them
#: from Prefect's.
REGMIG_LINE = "regmig_line"


def say(message: str) -> None:
    """One line for the terminal and the Prefect UI; call inside a flow run."""
    get_run_logger().info("%s", message, extra={REGMIG_LINE: True})


class PlainLines(logging.Handler):
    """Prints regmig's own lines, message only, on standard output."""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, REGMIG_LINE, False):
            # Looked up at each line: a progress display may have redirected stdout.
            print(record.getMessage(), file=sys.stdout, flush=True)


def show_plain_lines() -> None:
    """Print regmig's lines plainly from now on (once per process, however often asked)."""
    root = logging.getLogger()
    if not any(isinstance(handler, PlainLines) for handler in root.handlers):
        root.addHandler(PlainLines())
