"""The progress display of a run on a terminal: the stage, its current steps, and a bar
for the steps that count items (rich). Quiet when the output is not a terminal (a log
file, a scheduler's process): the log lines tell the story there.

The stages tell their steps through `regmig.warehouse.progress`; this module only
watches.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from regmig.warehouse import progress


class _Count(MofNCompleteColumn):
    """"3/29" for a step that counts items; nothing for one that does not."""

    def render(self, task) -> Text:  # noqa: ANN001 - rich's Task
        return super().render(task) if task.total is not None else Text("")


class _Steps:
    """A rich task per running step; a finished step leaves the display."""

    def __init__(self, bars: Progress, label: str) -> None:
        self.bars, self.label = bars, label
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, step: progress.Step) -> None:
        task = self.tasks.get(step.name)
        if step.finished:
            if task is not None:
                self.bars.remove_task(self.tasks.pop(step.name))
        elif task is None:
            self.tasks[step.name] = self.bars.add_task(
                f"{self.label} · {step.name.replace('_', ' ')}", total=step.total,
                completed=step.done)
        else:
            self.bars.update(task, completed=step.done, total=step.total)
        # Steps are few (tens per stage): draw each change rather than wait for a tick.
        self.bars.refresh()


@contextmanager
def progress_display(label: str, console: Console | None = None) -> Iterator[None]:
    """Show the steps told while the block runs, under `label` (e.g. "[4/4] publish")."""
    console = console or Console()
    if not console.is_terminal:
        yield
        return
    bars = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    _Count(), TimeElapsedColumn(), console=console, transient=True)
    with bars, progress.watching(_Steps(bars, label)):
        bars.add_task(label, total=None)
        yield
