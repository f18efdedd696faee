"""Residence, work and study permits and asylum applications (one row per application).

Immigrants apply before they arrive (some first applications are refused and made again),
extend yearly while they stay, and some stays end with a refused extension. Foreign
residents present at the start extend their permits; seasonal workers apply each season;
asylum seekers apply, are decided, appeal, and those granted receive a humanitarian
permit. Rows are delivered when applied for within the span; decisions after the data
end are still pending.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regmig.synth.population import Population
from regmig.synth.timeline import NO_DAY, Span
from regmig.synth.travel import LifeEvents

PERMIT_TYPES = ("work", "study", "family", "humanitarian", "asylum", "other")
WORK, STUDY, FAMILY, HUMANITARIAN, ASYLUM = 0, 1, 2, 3, 4
KINDS = ("first", "extension", "renewal", "appeal")
FIRST, EXTENSION, RENEWAL, APPEAL = 0, 1, 2, 3
DECISIONS = ("granted", "refused", "pending")
GRANTED, REFUSED, PENDING = 0, 1, 2

PERMIT_DAYS = 365
HUMANITARIAN_DAYS = 3 * 365
#: Days from a first application to arrival, and from any application to its decision.
APPLY_BEFORE_ARRIVAL = (40, 100)
DECISION_DAYS = (10, 35)
EXTENSION_APPLIED_BEFORE_EXPIRY = (15, 45)
#: Share of immigrants whose first application is refused (and made again, granted).
FIRST_REFUSED_SHARE = 0.08
#: Share of foreign residents present at the start who hold yearly permits.
YEARLY_PERMIT_SHARE = 0.5


@dataclass
class Applications:
    person: np.ndarray
    permit: np.ndarray  # int64 permit number (first application and its extensions share it)
    permit_type: np.ndarray  # int8
    kind: np.ndarray  # int8
    applied: np.ndarray
    decision: np.ndarray  # int8
    decided: np.ndarray  # NO_DAY when pending
    valid_from: np.ndarray  # NO_DAY unless granted
    valid_to: np.ndarray

    def __len__(self) -> int:
        return len(self.person)


class _Rows:
    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.next_permit = 0

    def new_permits(self, n: int) -> np.ndarray:
        ids = self.next_permit + np.arange(n, dtype=np.int64)
        self.next_permit += n
        return ids

    def add(self, person, permit, permit_type, kind, applied, decision, decided, valid_from,
            valid_to) -> None:
        n = len(person)

        def full(v, dtype):
            return np.broadcast_to(np.asarray(v, dtype=dtype), (n,)).copy()

        self.parts.append((person.astype(np.int64), full(permit, np.int64),
                           full(permit_type, np.int8), full(kind, np.int8),
                           full(applied, np.int64), full(decision, np.int8),
                           full(decided, np.int64), full(valid_from, np.int64),
                           full(valid_to, np.int64)))


def permit_applications(rng: np.random.Generator, pop: Population, ev: LifeEvents,
                        span: Span) -> Applications:
    rows = _Rows()

    def days(lo_hi: tuple[int, int], n: int) -> np.ndarray:
        return rng.integers(lo_hi[0], lo_hi[1] + 1, size=n)

    # immigrants on work, study and family permits
    movers = np.flatnonzero(ev.permit_type >= 0)
    n = len(movers)
    ptype = ev.permit_type[movers]
    arrive = ev.arrival[movers]
    applied = arrive - days(APPLY_BEFORE_ARRIVAL, n)
    decided = applied + days(DECISION_DAYS, n)
    refused_first = rng.random(n) < FIRST_REFUSED_SHARE
    r = refused_first
    earlier = applied[r] - days((60, 120), int(r.sum()))
    rows.add(movers[r], rows.new_permits(int(r.sum())), ptype[r], FIRST, earlier, REFUSED,
             earlier + days(DECISION_DAYS, int(r.sum())), NO_DAY, NO_DAY)
    permit = rows.new_permits(n)
    rows.add(movers, permit, ptype, FIRST, applied, GRANTED, decided, arrive,
             arrive + PERMIT_DAYS - 1)
    # yearly extensions while the person stays; a refused one ends the stay
    leave = np.where(ev.departure[movers] == NO_DAY, span.horizon + 1, ev.departure[movers])
    years = int(np.ceil((span.horizon - span.start) / PERMIT_DAYS)) + 2
    k = np.arange(1, years + 1)
    period_start = arrive[:, None] + k[None, :] * PERMIT_DAYS
    exists = period_start < np.minimum(leave, span.horizon)[:, None]
    last = exists & ~np.c_[exists[:, 1:], np.zeros((n, 1), dtype=bool)]
    refused = last & ev.extension_refused[movers][:, None]
    ri, kj = np.nonzero(exists)
    ext_applied = period_start[ri, kj] - days(EXTENSION_APPLIED_BEFORE_EXPIRY, len(ri))
    ext_decided = ext_applied + days(DECISION_DAYS, len(ri))
    is_refused = refused[ri, kj]
    rows.add(movers[ri], permit[ri], ptype[ri], EXTENSION, ext_applied,
             np.where(is_refused, REFUSED, GRANTED), ext_decided,
             np.where(is_refused, NO_DAY, period_start[ri, kj]),
             np.where(is_refused, NO_DAY, period_start[ri, kj] + PERMIT_DAYS - 1))

    # foreign residents present at the start who hold yearly permits
    settled = pop.of("foreign_resident", "naturalised")
    settled = settled[rng.random(len(settled)) < YEARLY_PERMIT_SHARE]
    n = len(settled)
    anchor = span.start - rng.integers(0, PERMIT_DAYS, size=n)
    until = np.minimum.reduce([
        np.where(ev.departure[settled] == NO_DAY, span.horizon, ev.departure[settled]),
        np.where(pop.naturalised_on[settled] == NO_DAY, span.horizon,
                 pop.naturalised_on[settled]),
    ])
    ptype = np.where(rng.random(n) < 0.5, WORK, FAMILY)
    permit = rows.new_permits(n)
    period_start = anchor[:, None] + k[None, :] * PERMIT_DAYS
    ri, kj = np.nonzero(period_start < until[:, None])
    ext_applied = period_start[ri, kj] - days(EXTENSION_APPLIED_BEFORE_EXPIRY, len(ri))
    rows.add(settled[ri], permit[ri], ptype[ri], EXTENSION, ext_applied, GRANTED,
             ext_applied + days(DECISION_DAYS, len(ri)), period_start[ri, kj],
             period_start[ri, kj] + PERMIT_DAYS - 1)

    # seasonal workers: a permit for each season, renewed in later seasons
    person, arrive, leave = ev.seasons
    n = len(person)
    first_season = np.r_[True, person[1:] != person[:-1]] if n else np.zeros(0, dtype=bool)
    applied = arrive - days((20, 60), n)
    rows.add(person, rows.new_permits(n), WORK, np.where(first_season, FIRST, RENEWAL),
             applied, GRANTED, applied + days((5, 15), n), arrive, arrive + 272)

    # asylum: application, decision, appeal; humanitarian permits for those granted
    asylum = np.flatnonzero(ev.asylum_applied != NO_DAY)
    case = rows.new_permits(len(asylum))
    granted = ev.asylum_granted[asylum]
    rows.add(asylum, case, ASYLUM, FIRST, ev.asylum_applied[asylum],
             np.where(granted, GRANTED, REFUSED), ev.asylum_decided[asylum], NO_DAY, NO_DAY)
    appealed = ev.asylum_appealed[asylum] != NO_DAY
    a = asylum[appealed]
    rows.add(a, case[appealed], ASYLUM, APPEAL, ev.asylum_appealed[a],
             np.where(ev.asylum_appeal_granted[a], GRANTED, REFUSED),
             ev.asylum_appeal_decided[a], NO_DAY, NO_DAY)
    protected_on = np.where(granted, ev.asylum_decided[asylum],
                            np.where(ev.asylum_appeal_granted[asylum],
                                     ev.asylum_appeal_decided[asylum], NO_DAY))
    p = protected_on != NO_DAY
    rows.add(asylum[p], rows.new_permits(int(p.sum())), HUMANITARIAN, FIRST, protected_on[p],
             GRANTED, protected_on[p], protected_on[p], protected_on[p] + HUMANITARIAN_DAYS - 1)

    cols = [np.concatenate([part[i] for part in rows.parts]) for i in range(9)]
    apps = Applications(*cols)
    # the delivery: applications made within the span; later decisions are pending
    keep = (apps.applied >= span.start) & (apps.applied <= span.end)
    cols = [c[keep] for c in cols]
    apps = Applications(*cols)
    pending = apps.decided > span.end
    apps.decision[pending] = PENDING
    apps.decided[pending] = NO_DAY
    apps.valid_from[pending] = NO_DAY
    apps.valid_to[pending] = NO_DAY
    order = np.lexsort((apps.kind, apps.permit, apps.applied))
    return Applications(*(getattr(apps, f)[order] for f in (
        "person", "permit", "permit_type", "kind", "applied", "decision", "decided",
        "valid_from", "valid_to")))
