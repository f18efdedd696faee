"""Eurostat migration datasets of Regulation (EC) No 862/2007, article 3.

Dataset codes, dimension names and codes are Eurostat's (migr_imm1ctz: citizen x age x
sex ...), so the SDMX-CSV export loads into Eurostat's tools as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial

import polars as pl

from regmig.publish.classifications import AGE_CLASSIFICATIONS, TOTAL, UNKNOWN, age_groups
from regmig.publish.tables import dimensions as dims
from regmig.publish.tables.cube import AgeReached, Bound, Dimension, TableSpec
from regmig.publish.tables.regional_indicators import table_id as iom_table

#: Flows bounded by the border crossings they are (foreign citizens, by citizenship and
#: sex): dataset -> the cases table of recorded crossings, and why.
CROSSING_BOUNDS = {
    "migr_imm1ctz": (iom_table(3, "entering", "cases"),
                     "every immigration of a foreign citizen is an arrival at the border"),
    "migr_emi1ctz": (iom_table(4, "leaving", "cases"),
                     "every emigration of a foreign citizen is a departure at the border"),
}

#: Datasets Eurostat publishes by single year of age (the others by group).
SINGLE_YEAR_DATASETS = ("migr_imm8", "migr_emi2")
#: Datasets released by age reached during the year too (AGEDEF REACH besides COMPLET),
#: each as a second table `<dataset>_reach` written into the dataset's SDMX-CSV.
REACH_DATASETS = ("migr_imm8", "migr_emi2")
REACH_SUFFIX = "_reach"
#: Eurostat's AGEDEF codes: age in completed years, age reached during the year.
AGE_COMPLETED, AGE_REACHED = "COMPLET", "REACH"
#: The hidden table of a REACH table's U counts (see cube.AgeReached).
SHIFTS_SUFFIX = "_shifts"
_REACH_REASON = ("the age reached during the year is the year minus the year of birth: "
                 "the age in completed years at the migration, or one more when the "
                 "birthday came after it")

_FLOW_NOTE = (
    "A person migrating twice in the year counts twice (Eurostat counts migrations).",
)

#: dataset -> (population, breakdowns, title, regulation reference)
DATASETS: dict[str, tuple[str, tuple[str, ...], str, str]] = {
    "migr_imm1ctz": ("immigrants", ("citizenship", "age", "sex"),
                     "Immigration by age, sex and citizenship", "art. 3(1)(a)(i)"),
    "migr_imm3ctb": ("immigrants", ("country_of_birth", "age", "sex"),
                     "Immigration by age, sex and country of birth", "art. 3(1)(a)(ii)"),
    "migr_imm5prv": ("immigrants", ("previous_residence", "age", "sex"),
                     "Immigration by age, sex and country of previous residence",
                     "art. 3(1)(a)(iii)"),
    "migr_imm8": ("immigrants", ("age", "sex"), "Immigration by age and sex",
                  "art. 3(1)(a)"),
    "migr_emi1ctz": ("emigrants", ("citizenship", "age", "sex"),
                     "Emigration by age, sex and citizenship", "art. 3(1)(b)(i-iii)"),
    "migr_emi2": ("emigrants", ("age", "sex"), "Emigration by age and sex",
                  "art. 3(1)(b)(ii-iii)"),
    "migr_emi3nxt": ("emigrants", ("next_residence", "age", "sex"),
                     "Emigration by age, sex and country of next residence",
                     "art. 3(1)(b)(iv)"),
    "migr_pop1ctz": ("stock", ("citizenship", "age", "sex"),
                     "Population on 1 January by age, sex and citizenship",
                     "art. 3(1)(c)(i)"),
    "migr_pop3ctb": ("stock", ("country_of_birth", "age", "sex"),
                     "Population on 1 January by age, sex and country of birth",
                     "art. 3(1)(c)(ii)"),
    "migr_acq": ("acquisitions", ("citizenship", "age", "sex"),
                 "Acquisition of citizenship by age, sex and former citizenship",
                 "art. 3(1)(d)"),
}

_DEFINITIONS = {
    "immigrants": "Long-term immigrations: arrivals of non-residents after which the "
                  "person stays in the country at least V of the following W days.",
    "emigrants": "Long-term emigrations: departures of residents after which the person "
                 "stays abroad at least V of the following W days.",
    "stock": "Usual residents on the reference date by the residence rule.",
    "acquisitions": "Residents who acquired the reporting country's citizenship in the "
                    "year, by former citizenship.",
}


def specs(observed: Callable[[str, str], list[str]], age_classification: str
          ) -> list[TableSpec]:
    """The ten datasets; `observed(population, column)` lists the codes present."""
    out = []
    for table_id, (population, breakdowns, title, article) in DATASETS.items():
        built: list[Dimension] = []
        for name in breakdowns:
            if name == "age" and table_id in SINGLE_YEAR_DATASETS:
                built.append(dims.single_year_age(age_classification))
            elif name == "age":
                built.append(dims.age(age_classification))
            elif name == "sex":
                built.append(dims.sex())
            elif name in ("previous_residence", "next_residence"):
                built.append(dims.residence_country(
                    name, observed(population, name), name.replace("_", " ")))
            else:
                label = ("former citizenship" if population == "acquisitions"
                         else name.replace("_", " "))
                built.append(dims.country_detail(name, observed(population, name), label,
                                                 eu_groups=True))
        footnotes = _FLOW_NOTE if population in ("immigrants", "emigrants") else ()
        bounds = ()
        if table_id in CROSSING_BOUNDS:
            bound_table, reason = CROSSING_BOUNDS[table_id]
            bounds = (Bound(bound_table, ("citizenship", "sex"), (("age", TOTAL),), reason),)
        spec = TableSpec(
            table_id=table_id, title=title, population=population, unit="persons",
            dims=tuple(built),
            unit_column="event_id" if population in ("immigrants", "emigrants")
            else "person_id",
            standard=f"Eurostat {table_id}, Regulation (EC) No 862/2007 {article}",
            definition=_DEFINITIONS[population], footnotes=footnotes, bounds=bounds,
            released=(_single_years_released(built[0]) if table_id in SINGLE_YEAR_DATASETS
                      else None),
        )
        out.append(spec)
        if table_id in REACH_DATASETS:
            out.extend(reach_tables(spec))
    return out


def dataset_of(table_id: str) -> tuple[str, str] | None:
    """(Eurostat dataset, AGEDEF) a release table fills, None for other tables."""
    if table_id in DATASETS:
        return table_id, AGE_COMPLETED
    base = table_id.removesuffix(REACH_SUFFIX)
    if base != table_id and base in REACH_DATASETS:
        return base, AGE_REACHED
    return None


def reach_tables(spec: TableSpec) -> tuple[TableSpec, TableSpec]:
    """The table by age reached during the year, and the hidden table of its U counts."""
    age = next(d for d in spec.dims if d.name == "age")
    others = tuple(d for d in spec.dims if d.name != "age")
    ranges = _age_ranges(age.codes)
    single = {low: code for code, low, _ in age_groups("single_year")}
    needed = sorted({last for _, _, last in ranges if last is not None}
                    | {first - 1 for _, first, _ in ranges if first > 0})
    table_id = spec.table_id + REACH_SUFFIX
    shifts = Dimension("age_up", tuple(single[a] for a in needed), (),
                       label="age in completed years of those who reach the next age "
                             "during the year", column="age_up")
    reached = dataclasses.replace(
        age, name="age_reached", label="age reached during the year",
        column="age_reached_year" if age.column == "age_year" else "age_reached")
    relation = AgeReached(
        table=spec.table_id, completed="age", reached="age_reached", ranges=ranges,
        unchanged=(UNKNOWN,), shifts=table_id + SHIFTS_SUFFIX, shifts_dim="age_up",
        single_years=tuple((a, single[a]) for a in needed), reason=_REACH_REASON)
    released = (_single_years_released(reached) if spec.released is not None else None)
    reach = dataclasses.replace(
        spec, table_id=table_id, title=f"{spec.title} (age reached during the year)",
        standard=spec.standard.replace(spec.table_id, f"{spec.table_id} (AGEDEF REACH)"),
        dims=tuple(reached if d.name == "age" else d for d in spec.dims), bounds=(),
        released=released, age_reached=relation)
    hidden = dataclasses.replace(
        spec, table_id=relation.shifts,
        title=f"{spec.title}: units reaching the next age during the year (hidden)",
        dims=(shifts, *others), bounds=(), released=partial(pl.lit, False),
        published=False, footnotes=())
    return reach, hidden


def _age_ranges(codes: tuple[str, ...]) -> tuple[tuple[str, int, int | None], ...]:
    """(code, first age, last age or None if open) of every age code in `codes`."""
    out = []
    for groups in AGE_CLASSIFICATIONS.values():
        open_code = groups[-1][0]
        out += [(code, low, None if code == open_code else high)
                for code, low, high in groups if code in codes]
    return tuple(dict.fromkeys(out))


def _single_years_released(age: Dimension) -> Callable[[], pl.Expr]:
    """Only the single years (and TOTAL, UNK): the groups are hidden aggregates."""
    children = {c for _, kids in age.parents for c in kids}
    groups = tuple(c for c in age.codes if c in children and c in dict(age.parents))
    # A partial of a module function: specs travel to the worker processes (pickled).
    return partial(_codes_other_than, age.name, groups)


def _codes_other_than(column: str, codes: tuple[str, ...]) -> pl.Expr:
    return ~pl.col(column).is_in(list(codes))
