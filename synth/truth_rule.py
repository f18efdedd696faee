"""The residence rule V/W applied to true crossing histories: the reference the estimate
stage is checked against.

Definition (docs/design.md §5): a day counts as "in the country" when the last
crossing dated on or before it is an arrival; after the last crossing the person stays on
the same side. The window of a crossing on day c is the W days c .. c+W-1. A
non-resident's arrival is a long-term migration when the days in within its window are at
least V; a resident's departure when the days out are at least V. A long-term migration
flips the status; otherwise the status carries over.

Transcription, vectorised over all persons:
- days in within [c, c+W) = F(c+W) - F(c), where F(t) counts a person's days in the
  country before day t. F at a crossing's date is a running sum over the person's
  crossings; F at any later day t extends the last crossing dated before t by its side.
- an arrival whose window holds >= V days in can only leave the person resident, a
  departure whose window holds >= V days out can only leave the person non-resident, and
  any other crossing leaves the status as it was. So the status after a crossing is the
  verdict of the latest such "decisive" crossing, or the initial status if none; a
  crossing is a long-term migration when it is decisive and its verdict differs from the
  status before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RuleResult:
    days_in_window: np.ndarray  # int64, days in the country within the crossing's window
    status_before: np.ndarray  # int8, 1 = resident
    status_after: np.ndarray
    long_term: np.ndarray  # bool
    decided_by: np.ndarray  # bool: the days up to `data_end` already decide the crossing


def apply_rule(person: np.ndarray, day: np.ndarray, arrival: np.ndarray,
               initial_status: np.ndarray, threshold: int, window: int,
               data_end: int) -> RuleResult:
    """Crossings sorted by person, day and order within the day; `initial_status` is
    indexed by person. Histories must be known to at least data_end + window days."""
    n = len(person)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return RuleResult(z, z.astype(np.int8), z.astype(np.int8), z.astype(bool),
                          z.astype(bool))
    day = day.astype(np.int64)
    side = arrival.astype(np.int64)  # 1 = in the country after the crossing
    first = np.r_[True, person[1:] != person[:-1]]
    # F at each crossing's day: days in between the person's first crossing and this one
    step = np.zeros(n, dtype=np.int64)
    step[1:] = (day[1:] - day[:-1]) * side[:-1]
    step[first] = 0
    running = np.cumsum(step)
    group_start = np.flatnonzero(first)
    group_of = np.cumsum(first) - 1
    f_at = running - running[group_start][group_of]

    # keys sort like (person, day); the last crossing before (person, t) is found by search
    span = int(day.max() - day.min()) + window + 2
    base = day.min()
    key = person.astype(np.int64) * span + (day - base)

    def f_before(t: np.ndarray) -> np.ndarray:
        j = np.searchsorted(key, person.astype(np.int64) * span + (t - base), side="left") - 1
        return f_at[j] + (t - day[j]) * side[j]

    window_end = day + window
    days_in = f_before(window_end) - f_at
    days_out = window - days_in

    decisive = np.where(arrival, days_in >= threshold, days_out >= threshold)
    verdict = arrival.astype(np.int8)  # an arrival can only make resident, a departure not
    # the latest decisive crossing at or before each crossing, within the person
    last = _ffill_within(decisive, first)
    init = initial_status[person].astype(np.int8)
    after = np.where(last >= 0, verdict[np.maximum(last, 0)], init).astype(np.int8)
    before = np.empty(n, dtype=np.int8)
    before[1:] = after[:-1]
    before[first] = init[first]
    long_term = decisive & (verdict != before)

    # decided by the data end: the window has closed, or the days observed so far already
    # reach V, or cannot reach V any more whatever the remaining days hold
    observed_end = np.minimum(window_end, data_end + 1)
    observed = np.maximum(observed_end - day, 0)
    in_obs = np.where(observed > 0, f_before(np.maximum(observed_end, day)) - f_at, 0)
    counted = np.where(arrival, in_obs, observed - in_obs)
    remaining = window - observed
    decided = (remaining <= 0) | (counted >= threshold) | (counted + remaining < threshold)
    return RuleResult(days_in, before, after, long_term, decided)


def _ffill_within(flag: np.ndarray, first: np.ndarray) -> np.ndarray:
    """For each position, the index of the latest flagged position at or before it within
    the same group (groups start where `first`), or -1."""
    n = len(flag)
    idx = np.where(flag, np.arange(n), -1)
    group_start = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    # indices before the group's start belong to earlier persons: mask them out
    latest = np.maximum.accumulate(idx)
    return np.where(latest >= starts[group_start], latest, -1)


def status_on(person_of_crossing: np.ndarray, day: np.ndarray, status_after: np.ndarray,
              initial_status: np.ndarray, on: int) -> np.ndarray:
    """Residence status of every person on day `on`: the status after the person's last
    crossing dated on or before it, or the initial status (crossings sorted by person and
    time)."""
    status = initial_status.astype(np.int8).copy()
    upto = np.flatnonzero(day <= on)
    p = person_of_crossing[upto]
    last_of_person = np.r_[p[1:] != p[:-1], True] if len(p) else np.zeros(0, dtype=bool)
    status[p[last_of_person]] = status_after[upto[last_of_person]]
    return status
