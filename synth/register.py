"""The population register: one row per registration spell of a person.

Everyone registered and not deregistered on the start day is truly resident then (the
observation design the truth relies on). Emigrants deregister only sometimes
(`SynthConfig.emigrant_never_deregisters`); the dead are deregistered by the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regmig.synth.population import Population
from regmig.synth.timeline import NO_DAY, Span
from regmig.synth.travel import LifeEvents

REASONS = ("emigration", "death", "administrative", "other")
EMIGRATION, DEATH = 0, 1
#: Days between an event and its entry in the register (range).
REGISTER_LAG = (1, 60)
DEREGISTER_LAG = (0, 120)
#: Share of newcomers who register: immigrants, returning citizens.
IMMIGRANT_REGISTERS = 0.7
RETURNEE_REGISTERS = 0.9
#: Years before the start that long-standing residents born abroad registered (range).
YEARS_REGISTERED_BEFORE_START = (1, 40)


@dataclass
class Spells:
    person: np.ndarray
    registered_from: np.ndarray
    deregistered_on: np.ndarray  # NO_DAY: still registered when the data end
    reason: np.ndarray  # int8 into REASONS, -1 none

    def __len__(self) -> int:
        return len(self.person)


def register_spells(rng: np.random.Generator, pop: Population, ev: LifeEvents, span: Span,
                    never_deregisters: float, home: int) -> Spells:
    parts: list[tuple[np.ndarray, ...]] = []

    def lag(size: int, lo_hi: tuple[int, int]) -> np.ndarray:
        return rng.integers(lo_hi[0], lo_hi[1] + 1, size=size)

    def add(person: np.ndarray, start: np.ndarray, end: np.ndarray | None = None,
            reason: np.ndarray | None = None) -> None:
        n = len(person)
        parts.append((person, start,
                      np.full(n, NO_DAY, dtype=np.int64) if end is None else end,
                      np.full(n, -1, dtype=np.int8) if reason is None else reason))

    # residents at the start: registered at birth if born here, otherwise years ago
    residents = np.flatnonzero(pop.resident_at_start)
    years_ago = rng.integers(YEARS_REGISTERED_BEFORE_START[0] * 365,
                             YEARS_REGISTERED_BEFORE_START[1] * 365, size=len(residents))
    born_here = pop.country_of_birth[residents] == home
    since = np.where(born_here, pop.dob[residents],
                     np.maximum(pop.dob[residents], span.start - years_ago))
    end = np.full(len(residents), NO_DAY, dtype=np.int64)
    reason = np.full(len(residents), -1, dtype=np.int8)
    # the dead (the register ends their entry on the day of death), and leavers who tell
    # the registry
    dead = pop.died_on[residents] != NO_DAY
    end[dead] = pop.died_on[residents][dead]
    reason[dead] = DEATH
    left = ev.departure[residents] != NO_DAY
    tells = left & (rng.random(len(residents)) >= never_deregisters)
    end[tells] = ev.departure[residents][tells] + lag(int(tells.sum()), DEREGISTER_LAG)
    reason[tells] = EMIGRATION
    add(residents, since, end, reason)
    # emigrants who deregistered and came back register again
    back = tells & (ev.returned[residents] != NO_DAY)
    add(residents[back], ev.returned[residents][back] + lag(int(back.sum()), REGISTER_LAG))

    births = pop.of("birth")
    add(births, pop.born_on[births])

    returnees = pop.of("returning_citizen")
    returnees = returnees[rng.random(len(returnees)) < RETURNEE_REGISTERS]
    add(returnees, ev.arrival[returnees] + lag(len(returnees), REGISTER_LAG))

    movers = pop.of("immigrant_work", "immigrant_study", "immigrant_family")
    movers = movers[rng.random(len(movers)) < IMMIGRANT_REGISTERS]
    leaves = ev.departure[movers] != NO_DAY
    tells = leaves & (rng.random(len(movers)) >= never_deregisters)
    end = np.where(tells, ev.departure[movers] + lag(len(movers), DEREGISTER_LAG), NO_DAY)
    add(movers, ev.arrival[movers] + lag(len(movers), REGISTER_LAG), end,
        np.where(tells, EMIGRATION, -1).astype(np.int8))

    asylum = pop.of("asylum_seeker")
    granted_on = np.where(ev.asylum_granted[asylum], ev.asylum_decided[asylum],
                          np.where(ev.asylum_appeal_granted[asylum],
                                   ev.asylum_appeal_decided[asylum], NO_DAY))
    refugees = granted_on != NO_DAY
    add(asylum[refugees], granted_on[refugees] + lag(int(refugees.sum()), REGISTER_LAG))

    person, start, end, reason = (np.concatenate([p[i] for p in parts]) for i in range(4))
    # the delivery: spells that began by the data end and had not ended before the start;
    # a deregistration after the data end is not known yet
    keep = (start <= span.end) & ((end == NO_DAY) | (end >= span.start))
    person, start, end, reason = person[keep], start[keep], end[keep], reason[keep]
    unknown_yet = end > span.end
    end[unknown_yet] = NO_DAY
    reason[unknown_yet] = -1
    order = np.lexsort((start, person))
    return Spells(person[order], start[order], end[order], reason[order])


def ensure_consistent(spells: Spells, pop: Population, span: Span) -> None:
    """Guard the observation design: whoever the register holds on the start day is a
    resident at the start."""
    on_start = (spells.registered_from <= span.start) & (
        (spells.deregistered_on == NO_DAY) | (spells.deregistered_on > span.start))
    if not np.all(pop.resident_at_start[spells.person[on_start]]):
        raise AssertionError("a non-resident is in the register on the start day")

