"""Progress of a stage's long steps, told to whoever is watching.

A stage says which step it is in (`Timer.step` does so for every timed step) and, in a
step that works through a known number of items (publish's table families), how many
are done. A watcher (the command line's progress display) registers with `watching`;
with none registered, telling costs a function call. Stages never learn who watches, so
they import nothing above the warehouse layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Step:
    """Where a step is: `done` of `total` items (total None: a step with no count)."""

    name: str
    done: int = 0
    total: int | None = None
    finished: bool = False


Watcher = Callable[[Step], None]
_watchers: list[Watcher] = []


@contextmanager
def watching(watcher: Watcher) -> Iterator[None]:
    """Tell `watcher` every step while the block runs."""
    _watchers.append(watcher)
    try:
        yield
    finally:
        _watchers.remove(watcher)


def tell(step: Step) -> None:
    for watcher in list(_watchers):
        watcher(step)


@contextmanager
def step(name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A step from start to finish; yields `advance(items=1)` for counted steps."""
    done = 0

    def advance(items: int = 1) -> None:
        nonlocal done
        done += items
        tell(Step(name, done, total))

    tell(Step(name, 0, total))
    try:
        yield advance
    finally:
        tell(Step(name, done, total, finished=True))


def counted(name: str, items: Iterable[T], total: int | None = None) -> Iterator[T]:
    """Iterate `items` as one step, telling how many are done after each."""
    if total is None and isinstance(items, Sized):
        total = len(items)
    with step(name, total) as advance:
        for item in items:
            yield item
            advance()
