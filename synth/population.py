"""Who lives in (or visits) the simulated country: personas and personal attributes.

A persona fixes how a person travels and which registers hold them. The shares below are
the mix of the simulated population; `SynthConfig.edge_case_share` sets the share of
people whose stays sit at the residence rule's edges, and "stayer" (citizens in the
register who never travel) takes whatever share is left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regmig.synth.countries import (
    ASYLUM_MIX,
    FOREIGN_RESIDENT_MIX,
    IMMIGRANT_MIX,
    NAME_POOL_OF,
    SECOND_CITIZENSHIP_MIX,
    VISITOR_MIX,
    CountryIndex,
)
from regmig.synth.names import NameTable
from regmig.synth.timeline import NO_DAY, Span

#: persona -> (share of all persons, resident at the start of observation,
#:             citizenship mix or None for citizens, age range at the start (years))
PERSONAS: dict[str, tuple[float, bool, dict[str, float] | None, tuple[int, int]]] = {
    "stayer": (0.0, True, None, (0, 90)),  # takes the share left over
    "short_trips": (0.26, True, None, (16, 75)),
    "frequent_traveller": (0.06, True, None, (25, 65)),
    "commuter": (0.008, True, None, (22, 60)),
    "emigrant": (0.03, True, None, (18, 50)),
    "dies": (0.022, True, None, (60, 95)),
    "foreign_resident": (0.025, True, FOREIGN_RESIDENT_MIX, (20, 70)),
    "naturalised": (0.005, True, FOREIGN_RESIDENT_MIX, (20, 60)),
    "edge_resident": (0.0, True, None, (18, 60)),  # half of edge_case_share
    "birth": (0.02, False, None, (0, 0)),
    "returning_citizen": (0.01, False, None, (20, 60)),
    "immigrant_work": (0.02, False, IMMIGRANT_MIX, (22, 50)),
    "immigrant_study": (0.012, False, IMMIGRANT_MIX, (18, 28)),
    "immigrant_family": (0.013, False, IMMIGRANT_MIX, (0, 60)),
    "seasonal_worker": (0.01, False, IMMIGRANT_MIX, (20, 55)),
    "visitor": (0.17, False, VISITOR_MIX, (5, 75)),
    "asylum_seeker": (0.005, False, ASYLUM_MIX, (1, 60)),
    "edge_visitor": (0.0, False, IMMIGRANT_MIX, (18, 60)),  # half of edge_case_share
}
PERSONA_NAMES: tuple[str, ...] = tuple(PERSONAS)
PERSONA_CODE: dict[str, int] = {name: i for i, name in enumerate(PERSONA_NAMES)}

#: Share of citizens holding a second citizenship (and a second passport).
DUAL_CITIZEN_SHARE = 0.06
#: Share of the home country's citizens with names from the Russian pool.
HOME_RUSSIAN_NAME_SHARE = 0.07
#: Share of people born outside their country of citizenship.
BORN_ELSEWHERE_SHARE = 0.06
#: Share of men by persona (others: one half).
MALE_SHARE = {"seasonal_worker": 0.85, "immigrant_work": 0.7, "asylum_seeker": 0.6}


@dataclass
class Population:
    """Person-level attributes, one array entry per person (index = person_id - 1)."""

    persona: np.ndarray  # int8 code into PERSONA_NAMES
    male: np.ndarray  # bool
    dob: np.ndarray  # int64 day
    citizenship: np.ndarray  # int16 into CountryIndex (at the start)
    second_citizenship: np.ndarray  # int16, -1 when none
    country_of_birth: np.ndarray  # int16
    given_id: np.ndarray  # int64 into NameTable.canonical
    surname_id: np.ndarray
    resident_at_start: np.ndarray  # bool: registered and truly resident on the start day
    born_on: np.ndarray  # int64 day or NO_DAY
    died_on: np.ndarray
    naturalised_on: np.ndarray

    def __len__(self) -> int:
        return len(self.persona)

    def of(self, *personas: str) -> np.ndarray:
        """Person indices having one of the personas, ascending."""
        codes = [PERSONA_CODE[p] for p in personas]
        return np.flatnonzero(np.isin(self.persona, codes))


def persona_counts(persons: int, edge_case_share: float) -> dict[str, int]:
    """Whole numbers of persons per persona: shares rounded, the rest are stayers."""
    counts = {name: int(round(spec[0] * persons)) for name, spec in PERSONAS.items()}
    edge = int(round(edge_case_share * persons))
    counts["edge_resident"] = edge // 2
    counts["edge_visitor"] = edge - edge // 2
    counts["stayer"] = 0
    counts["stayer"] = persons - sum(counts.values())  # negative only for a handful
    return counts


def draw_population(rng: np.random.Generator, persons: int, edge_case_share: float,
                    span: Span, countries: CountryIndex, names: NameTable) -> Population:
    counts = persona_counts(persons, edge_case_share)
    persona = np.repeat(np.arange(len(PERSONA_NAMES), dtype=np.int8),
                        [counts[p] for p in PERSONA_NAMES])
    persona = persona[rng.permutation(persons)]

    home = countries.home
    country = countries.codes[home]
    citizenship = np.full(persons, home, dtype=np.int16)
    male = np.zeros(persons, dtype=bool)
    dob = np.zeros(persons, dtype=np.int64)
    for name, (_, _, mix, (age_lo, age_hi)) in PERSONAS.items():
        idx = np.flatnonzero(persona == PERSONA_CODE[name])
        if mix is not None:
            citizenship[idx] = countries.draw(rng, mix, len(idx), exclude=country)
        male[idx] = rng.random(len(idx)) < MALE_SHARE.get(name, 0.5)
        age_days = rng.integers(age_lo * 365 + 1, age_hi * 365 + 365, size=len(idx))
        dob[idx] = span.start - age_days

    citizen = citizenship == home
    dual = citizen & (rng.random(persons) < DUAL_CITIZEN_SHARE)
    second = np.full(persons, -1, dtype=np.int16)
    second[dual] = countries.draw(rng, SECOND_CITIZENSHIP_MIX, int(dual.sum()), exclude=country)

    country_of_birth = citizenship.copy()
    elsewhere = rng.random(persons) < BORN_ELSEWHERE_SHARE
    country_of_birth[elsewhere] = countries.draw(rng, FOREIGN_RESIDENT_MIX,
                                                 int(elsewhere.sum()), exclude=country)

    born_on = np.full(persons, NO_DAY, dtype=np.int64)
    births = persona == PERSONA_CODE["birth"]
    born_on[births] = rng.integers(span.start + 1, span.end + 1, size=int(births.sum()))
    dob[births] = born_on[births]
    country_of_birth[births] = home
    second[births] = -1

    died_on = np.full(persons, NO_DAY, dtype=np.int64)
    dies = persona == PERSONA_CODE["dies"]
    died_on[dies] = rng.integers(span.start + 1, span.end + 1, size=int(dies.sum()))

    naturalised_on = np.full(persons, NO_DAY, dtype=np.int64)
    nat = persona == PERSONA_CODE["naturalised"]
    naturalised_on[nat] = rng.integers(span.start + 30, span.end + 1, size=int(nat.sum()))

    given_id, surname_id = _draw_names(rng, citizenship, male, countries, names)
    resident = np.array([PERSONAS[p][1] for p in PERSONA_NAMES])[persona]
    return Population(persona, male, dob, citizenship, second, country_of_birth, given_id,
                      surname_id, resident, born_on, died_on, naturalised_on)


def _draw_names(rng: np.random.Generator, citizenship: np.ndarray, male: np.ndarray,
                countries: CountryIndex, names: NameTable) -> tuple[np.ndarray, np.ndarray]:
    pools = sorted(names.pool_ids)
    pool_of_country = np.array(
        [pools.index(NAME_POOL_OF.get(code, "western")) for code in countries.codes])
    pool = pool_of_country[citizenship]
    russian = pools.index("russian")
    pool[(citizenship == countries.home) & (rng.random(len(pool)) < HOME_RUSSIAN_NAME_SHARE)] \
        = russian
    given = np.zeros(len(pool), dtype=np.int64)
    surname = np.zeros(len(pool), dtype=np.int64)
    u_given = rng.random(len(pool))
    u_surname = rng.random(len(pool))
    for p, pool_name in enumerate(pools):
        male_given, female_given, male_surnames, female_surnames = names.pool_ids[pool_name]
        for is_male, given_ids, surname_ids in ((True, male_given, male_surnames),
                                                (False, female_given, female_surnames)):
            sel = (pool == p) & (male == is_male)
            given[sel] = given_ids[(u_given[sel] * len(given_ids)).astype(np.int64)]
            surname[sel] = surname_ids[(u_surname[sel] * len(surname_ids)).astype(np.int64)]
    return given, surname
