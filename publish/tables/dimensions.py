"""The breakdowns of the release, built on the codes a population actually holds.

The same dimension name carries the same codes in every table (see cube.py), so the
builders here are the only place codes and hierarchies are decided.
"""

from __future__ import annotations

from collections.abc import Iterable

from regmig.publish.classifications import (
    EU27_2020,
    EU27_FOREIGN,
    FOREIGN,
    NATIONAL,
    NON_EU27_FOREIGN,
    SEX_CODES,
    SEX_TOTAL,
    TOTAL,
    UNKNOWN,
    age_codes,
    age_groups,
)
from regmig.publish.tables.cube import Dimension


def foreign_codes(observed: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(c for c in set(observed) if c not in (NATIONAL, UNKNOWN)))


def country_detail(name: str, observed: Iterable[str], label: str,
                   eu_groups: bool = False) -> Dimension:
    """TOTAL = NAT + FOR + UNK; FOR = each foreign country. With `eu_groups` (Eurostat's
    citizen and c_birth aggregates): FOR = EU27_2020_FOR + NEU27_2020_FOR, each the sum
    of its countries (stateless persons outside the EU)."""
    foreign = foreign_codes(observed)
    parents = [(TOTAL, (NATIONAL, FOREIGN, UNKNOWN))]
    groups: tuple[str, ...] = ()
    if foreign and eu_groups:
        groups = (EU27_FOREIGN, NON_EU27_FOREIGN)
        eu = tuple(c for c in foreign if c in EU27_2020)
        parents += [(FOREIGN, groups), (EU27_FOREIGN, eu),
                    (NON_EU27_FOREIGN, tuple(c for c in foreign if c not in eu))]
    elif foreign:
        parents.append((FOREIGN, foreign))
    return Dimension(name, (TOTAL, NATIONAL, FOREIGN, *groups, *foreign, UNKNOWN),
                     tuple(parents), label=label)


def country_group(name: str, observed: Iterable[str], label: str) -> Dimension:
    """TOTAL = NAT + FOR + UNK, foreign countries counted under FOR (the UN layout)."""
    leaf_of = {c: FOREIGN for c in foreign_codes(observed)}
    return Dimension(name, (TOTAL, NATIONAL, FOREIGN, UNKNOWN),
                     ((TOTAL, (NATIONAL, FOREIGN, UNKNOWN)),), leaf_of=leaf_of, label=label)


def foreign_detail(name: str, observed: Iterable[str], label: str) -> Dimension:
    """Foreign citizens only: FOR = each foreign country."""
    foreign = foreign_codes(observed)
    parents = ((FOREIGN, foreign),) if foreign else ()
    return Dimension(name, (FOREIGN, *foreign), parents, label=label)


def residence_country(name: str, observed: Iterable[str], label: str) -> Dimension:
    """Country of previous / next residence: TOTAL = every country + UNK."""
    countries = tuple(sorted(c for c in set(observed) if c != UNKNOWN)) + (UNKNOWN,)
    return Dimension(name, (TOTAL, *countries), ((TOTAL, countries),), label=label)


def age(classification: str) -> Dimension:
    groups = (*age_codes(classification), UNKNOWN)
    return Dimension("age", (TOTAL, *groups), ((TOTAL, groups),),
                     label="age in completed years")


def single_year_age(classification: str) -> Dimension:
    """Single years of age (Y_LT1, Y1 ... Y_GE100), read from the population's column
    `age_year`, with the groups of `classification` as hidden aggregates: so a single
    year table shares its group totals with the tables by group (Y5-9 = Y5 + ... + Y9)."""
    singles = age_groups("single_year")
    groups = age_groups(classification)
    if groups == singles:
        return Dimension("age", (TOTAL, *age_codes("single_year"), UNKNOWN),
                         ((TOTAL, (*age_codes("single_year"), UNKNOWN)),),
                         label="age in completed years", column="age_year")
    parents = [(TOTAL, (*(g for g, _, _ in groups), UNKNOWN))]
    parents += [(group, tuple(s for s, a, _ in singles if low <= a <= high))
                for group, low, high in groups]
    codes = (TOTAL, *age_codes("single_year"), UNKNOWN, *(g for g, _, _ in groups))
    return Dimension("age", codes, tuple(parents), label="age in completed years",
                     column="age_year")


def sex() -> Dimension:
    return Dimension("sex", (SEX_TOTAL, *SEX_CODES), ((SEX_TOTAL, SEX_CODES),), label="sex")


def category(name: str, codes: tuple[str, ...], label: str, additive: bool = True
             ) -> Dimension:
    """TOTAL = the codes (for persons, a person in two codes is one person in TOTAL)."""
    return Dimension(name, (TOTAL, *codes), ((TOTAL, codes),), additive=additive, label=label)
