"""Tables 3.1-3.6 of the UN toolkit to assess national migration data capacity (UNSD 2021).

Tables 3.1-3.5 share one layout: native-born / foreign-born (columns) by national
citizens / foreign citizens (rows), with the margins A-D and the inner cells E-H:

    A = E + F  native-born          B = G + H  foreign-born
    C = E + G  national citizens    D = F + H  foreign citizens

Table 3.1 adds I and J, citizens (native-born, foreign-born) who were naturalised.
Persons whose citizenship or country of birth is unknown are shown apart (UNK), so the
margins stay exact. Table 3.4 (births by parents' birth and citizenship) cannot be filled
from these registers: its metadata says so, no numbers are made up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from regmig.publish.classifications import FOREIGN, NATIONAL, TOTAL
from regmig.publish.tables import dimensions as dims
from regmig.publish.tables.cube import Dimension, TableSpec

#: (citizenship, country_of_birth) -> questionnaire letter
LAYOUT: dict[tuple[str, str], str] = {
    (TOTAL, NATIONAL): "A", (TOTAL, FOREIGN): "B",
    (NATIONAL, TOTAL): "C", (FOREIGN, TOTAL): "D",
    (NATIONAL, NATIONAL): "E", (FOREIGN, NATIONAL): "F",
    (NATIONAL, FOREIGN): "G", (FOREIGN, FOREIGN): "H",
}
#: Naturalised citizens (table 3.1 only).
NATURALISED_LAYOUT: dict[tuple[str, str], str] = {
    (NATIONAL, NATIONAL): "I", (NATIONAL, FOREIGN): "J",
}

#: table -> (population, title, definition)
TABLES: dict[str, tuple[str, str, str]] = {
    "un_3_1": ("stock", "3.1 Resident population by country of birth and citizenship",
               "Usual residents on the reference date by the residence rule."),
    "un_3_2": ("immigrants", "3.2 Immigrants by country of birth and citizenship",
               "Long-term immigrations in the reference year (residence rule)."),
    "un_3_3": ("emigrants", "3.3 Emigrants by country of birth and citizenship",
               "Long-term emigrations in the reference year (residence rule)."),
    "un_3_5": ("deaths", "3.5 Deaths by country of birth and citizenship",
               "Persons deregistered from the population register for death in the year."),
}


@dataclass(frozen=True)
class UnavailableTable:
    table_id: str
    title: str
    reason: str


UNAVAILABLE = (
    UnavailableTable(
        "un_3_4", "3.4 Births by parents' country of birth and citizenship",
        "Not available: the population register, border crossings and permits do not "
        "link a child to its parents, so births cannot be classified by the parents' "
        "country of birth and citizenship. No figures are given rather than invented ones.",
    ),
)


def _naturalised_released() -> pl.Expr:
    """Only the questionnaire's cells: every total, and I, J among the naturalised."""
    return (pl.col("naturalised") == TOTAL) | (
        (pl.col("naturalised") == "Y")
        & (pl.col("citizenship") == NATIONAL)
        & pl.col("country_of_birth").is_in([NATIONAL, FOREIGN])
    )


def specs(observed: Callable[[str, str], list[str]]) -> list[TableSpec]:
    out = []
    for table_id, (population, title, definition) in TABLES.items():
        breakdown: list[Dimension] = [
            dims.country_group("citizenship", observed(population, "citizenship"),
                               "citizenship (national / foreign)"),
            dims.country_group("country_of_birth", observed(population, "country_of_birth"),
                               "country of birth (native-born / foreign-born)"),
        ]
        letters = {(c, b, TOTAL) if population == "stock" else (c, b): letter
                   for (c, b), letter in LAYOUT.items()}
        released = None
        footnotes = ["UNK: citizenship or country of birth unknown, shown apart so that "
                     "A + B and C + D add up to the total."]
        if population in ("immigrants", "emigrants"):
            footnotes.append("Counts migrations, not persons: a person migrating twice in "
                             "the year counts twice.")
        if population == "stock":
            breakdown.append(dims.category("naturalised", ("Y", "N"),
                                           "naturalised (former foreign citizen)"))
            letters |= {(c, b, "Y"): letter for (c, b), letter in NATURALISED_LAYOUT.items()}
            released = _naturalised_released
            footnotes.append("I, J: citizens whose earliest known citizenship was foreign "
                             "(naturalised); citizens never naturalised are not shown.")
        out.append(TableSpec(
            table_id=table_id, title=title, population=population, unit="persons",
            dims=tuple(breakdown),
            unit_column="event_id" if population in ("immigrants", "emigrants")
            else "person_id",
            released=released, letters=letters,
            standard=f"UN capacity questionnaire (UNSD 2021), table {title.split()[0]}",
            definition=definition, footnotes=tuple(footnotes),
        ))
    out.append(TableSpec(
        table_id="un_3_6", title="3.6 Citizens residing abroad", population="citizens_abroad",
        unit="persons", dims=(dims.sex(),),
        unit_column="person_id",
        standard="UN capacity questionnaire (UNSD 2021), table 3.6",
        definition="Citizens non-resident on the reference date by the residence rule, "
                   "after a resident spell observed in the data.",
        footnotes=("A lower bound: only citizens who left during the observed period are "
                   "seen; citizens abroad since before it are not.",),
    ))
    return out
