"""The six regional indicators of the Data Sharing Mechanism (IOM, seed 003, annex 15).

1 foreigners in the country; 2 first and extension work-permit applications, and the
decisions on them; 3 foreigners entering; 4 foreigners leaving; 5 asylum applications;
6 refugee status decisions. Each by citizenship and sex, each counted twice and labelled
so: in cases (records: crossings, applications, permits) and in persons (the distinct
people linkage says the cases belong to). A persons cell never exceeds its cases cell;
the disclosure model knows it (`bounded_by`).
"""

from __future__ import annotations

from collections.abc import Callable

from regmig.publish.tables import dimensions as dims
from regmig.publish.tables.cube import Dimension, TableSpec

_CITIZENSHIP_LABEL = "citizenship (foreign citizens)"

#: indicator -> (number, title, cases population, extra breakdown (name, codes) or None,
#:               cases definition)
INDICATORS: dict[str, tuple[int, str, str, tuple[str, tuple[str, ...]] | None, str]] = {
    "work_applications": (
        2, "Work-permit applications, first and extension", "work_applications",
        ("application_kind", ("first", "extension")),
        "Work-permit applications (first or extension) lodged in the year."),
    "work_decisions": (
        2, "Decisions on work-permit applications", "work_decisions",
        ("decision", ("granted", "refused")),
        "Work-permit decisions (granted or refused) taken in the year."),
    "entering": (3, "Foreigners entering the country", "arrivals", None,
                 "Recorded border arrivals of foreign citizens in the year."),
    "leaving": (4, "Foreigners leaving the country", "departures", None,
                "Recorded border departures of foreign citizens in the year."),
    "asylum": (5, "Asylum applications", "asylum_applications", None,
                            "Asylum applications lodged in the year."),
    "refugee_decisions": (6, "Refugee status decisions", "asylum_decisions",
                          ("decision", ("granted", "refused")),
                          "Decisions on asylum applications taken in the year."),
}

_STANDARD = "IOM Data Sharing Mechanism, initial indicator {n} (seed 003, annex 15)"
_PERSONS_NOTE = ("Persons: distinct people among the cases (record linkage); a person "
                 "with cases in two categories counts once in their total.")


#: Excel's limit on a sheet name; table ids are sheet names, so every id fits.
MAX_TABLE_ID = 31


def table_id(number: int, name: str, unit: str) -> str:
    """iom<indicator>_<name>_<unit>, e.g. iom2_work_decisions_persons."""
    out = f"iom{number}_{name}_{unit}"
    assert len(out) <= MAX_TABLE_ID, out
    return out


def specs(observed: Callable[[str, str], list[str]]) -> list[TableSpec]:
    out = _foreigners(observed)
    for name, (number, title, population, extra, definition) in INDICATORS.items():
        breakdown: list[Dimension] = [
            dims.foreign_detail("citizenship", observed(population, "citizenship"),
                                _CITIZENSHIP_LABEL),
            dims.sex(),
        ]
        if extra is not None:
            breakdown.append(dims.category(extra[0], extra[1], extra[0].replace("_", " ")))
        cases_id = table_id(number, name, "cases")
        out.append(TableSpec(
            table_id=cases_id, title=f"{title} (cases)", population=population,
            unit="cases", dims=tuple(breakdown), unit_column="record_id",
            standard=_STANDARD.format(n=number), definition=definition,
        ))
        persons_dims = tuple(
            Dimension(d.name, d.codes, d.parents, additive=d.name != (extra or ("",))[0],
                      leaf_of=d.leaf_of, label=d.label)
            for d in breakdown
        )
        out.append(TableSpec(
            table_id=table_id(number, name, "persons"), title=f"{title} (persons)",
            population=population, unit="persons", dims=persons_dims,
            unit_column="person_id", bounded_by=cases_id,
            standard=_STANDARD.format(n=number),
            definition=definition.replace("lodged", "persons who lodged").replace(
                "Recorded", "Persons with recorded"),
            footnotes=(_PERSONS_NOTE,),
        ))
    return out


def _foreigners(observed: Callable[[str, str], list[str]]) -> list[TableSpec]:
    """Indicator 1: persons are residents (residence rule); cases are valid permits."""
    standard = _STANDARD.format(n=1)
    return [
        TableSpec(
            table_id=table_id(1, "foreigners", "persons"),
            title="Foreigners in the country (persons)", population="stock", unit="persons",
            dims=(dims.foreign_detail("citizenship", observed("stock", "citizenship"),
                                      _CITIZENSHIP_LABEL), dims.sex()),
            unit_column="person_id", standard=standard,
            definition="Foreign citizens usually resident on the reference date (residence "
                       "rule); the same people as citizenship FOR in migr_pop1ctz.",
        ),
        TableSpec(
            table_id=table_id(1, "foreigners", "cases"),
            title="Foreigners in the country (cases: valid permits)",
            population="valid_permits", unit="cases",
            dims=(dims.foreign_detail("citizenship", observed("valid_permits", "citizenship"),
                                      _CITIZENSHIP_LABEL), dims.sex()),
            unit_column="record_id", standard=standard,
            definition="Residence, work, study and family permits of foreign citizens "
                       "granted and valid on the reference date.",
            footnotes=("Cases count permits, not residents: a person may hold two permits, "
                       "and a resident may hold none.",),
        ),
    ]
