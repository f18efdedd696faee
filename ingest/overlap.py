"""Overlapping the three phases of a load: reading, cleaning, writing.

pyarrow parses CSV on one thread and DuckDB appends a batch largely on one thread, both
without holding the GIL; running them beside the polars work of the next batch keeps
both cores of the machine busy. Order is preserved: batches are read, and writes applied,
in sequence. An error in a background thread is raised in the caller at the next call.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetched(items: Iterable[T], depth: int) -> Iterator[T]:
    """Iterate over `items`, producing up to `depth` of them ahead on a thread."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ready.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, raised there
            ready.put((_DONE, exc))

    thread = threading.Thread(target=produce, name="ingest-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()


class BackgroundWriter:
    """Runs write jobs in order on one thread, at most `depth` jobs behind the caller."""

    def __init__(self, depth: int) -> None:
        self._jobs: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._raise_error()
        self._jobs.put(job)

    def finish(self) -> None:
        """Wait for every job; raise the first error of any."""
        self._jobs.put(None)
        self._thread.join()
        self._raise_error()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if self._error is None:
                try:
                    job()
                except BaseException as exc:
                    self._error = exc

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error
