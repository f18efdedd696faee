"""Wall-clock timings of a stage's steps, recorded in meta.runs.timings; each timed step
is also told to whoever watches the run's progress (`warehouse.progress`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from regmig.warehouse import progress


class Timer:
    """Seconds per named step: `with timer.step("rule"): ...` adds to `timer.timings`."""

    def __init__(self, timings: dict[str, float] | None = None) -> None:
        self.timings: dict[str, float] = {} if timings is None else timings

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            with progress.step(name):
                yield
        finally:
            # A step run twice (e.g. per batch) accumulates.
            self.timings[name] = round(
                self.timings.get(name, 0.0) + time.perf_counter() - started, 3)
