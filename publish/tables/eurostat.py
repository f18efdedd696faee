"""Eurostat migration datasets of Regulation (EC) No 862/2007, article 3.

Dataset codes, dimension names and codes are Eurostat's (migr_imm1ctz: citizen x age x
sex ...), so the SDMX-CSV export loads into Eurostat's tools as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import polars as pl

from regmig.publish.classifications import TOTAL
from regmig.publish.tables import dimensions as dims
from regmig.publish.tables.cube import Bound, Dimension, TableSpec
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
        out.append(TableSpec(
            table_id=table_id, title=title, population=population, unit="persons",
            dims=tuple(built),
            unit_column="event_id" if population in ("immigrants", "emigrants")
            else "person_id",
            standard=f"Eurostat {table_id}, Regulation (EC) No 862/2007 {article}",
            definition=_DEFINITIONS[population], footnotes=footnotes, bounds=bounds,
            released=(_single_years_released(built[0]) if table_id in SINGLE_YEAR_DATASETS
                      else None),
        ))
    return out


def _single_years_released(age: Dimension) -> Callable[[], pl.Expr]:
    """Only the single years (and TOTAL, UNK): the groups are hidden aggregates."""
    children = {c for _, kids in age.parents for c in kids}
    groups = tuple(c for c in age.codes if c in children and c in dict(age.parents))
    # A partial of a module function: specs travel to the worker processes (pickled).
    return partial(_codes_other_than, "age", groups)


def _codes_other_than(column: str, codes: tuple[str, ...]) -> pl.Expr:
    return ~pl.col(column).is_in(list(codes))
