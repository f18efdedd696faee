"""Days as integers (days since 1970-01-01, the same count polars' Date uses)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

#: Marks "no date" in int64 day arrays (never a real day).
NO_DAY = np.int64(-(2**40))

_EPOCH = dt.date(1970, 1, 1)


def day(year: int, month: int = 1, dom: int = 1) -> int:
    return (dt.date(year, month, dom) - _EPOCH).days


def to_date(days: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(days))


@dataclass(frozen=True)
class Span:
    """The delivery span [start, end] and the horizon the true histories run to."""

    start_year: int
    end_year: int
    #: days simulated beyond the data end, so every window of a crossing in the span closes
    extra_days: int

    @property
    def start(self) -> int:
        return day(self.start_year)

    @property
    def end(self) -> int:
        """The data end: last day covered by the deliveries."""
        return day(self.end_year, 12, 31)

    @property
    def horizon(self) -> int:
        """Last day of the simulated true histories."""
        return self.end + self.extra_days

    def year_starts(self) -> list[int]:
        """Each 1 January in the span and the 1 January after it (stock reference dates)."""
        return [day(y) for y in range(self.start_year, self.end_year + 2)]


def age_on(dob: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Completed years on day(s) `on` for births `dob` (vectorised calendar arithmetic)."""
    b = dob.astype("datetime64[D]")
    d = np.broadcast_to(on, dob.shape).astype("datetime64[D]")
    by = b.astype("datetime64[Y]").astype(np.int64)
    dy = d.astype("datetime64[Y]").astype(np.int64)
    # compare month and day, not day of year, so leap years do not shift birthdays
    bm = b.astype("datetime64[M]").astype(np.int64) % 12
    dm = d.astype("datetime64[M]").astype(np.int64) % 12
    bdom = (b - b.astype("datetime64[M]")).astype(np.int64)
    ddom = (d - d.astype("datetime64[M]")).astype(np.int64)
    before_birthday = (dm < bm) | ((dm == bm) & (ddom < bdom))
    return dy - by - before_birthday.astype(np.int64)
