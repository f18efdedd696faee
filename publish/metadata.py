"""Metadata of every release table: what it counts, when, how sure, from what.

Each table carries its reference period (flows) or date (stocks), its unit (persons or
cases), whether it is final or provisional, its definition, its sources, the residence
rule used, its breakdowns and footnotes, and how it was protected. A table the data
cannot fill (UN table 3.4) is listed with the reason instead of numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from regmig.config import Config
from regmig.publish.tables.cube import AgeReached, TableSpec
from regmig.publish.tables.populations import POPULATIONS, Reference
from regmig.publish.tables.un_questionnaire import UnavailableTable

#: Populations counted at a date rather than over the year.
STOCK_POPULATIONS = ("stock", "citizens_abroad", "valid_permits")
#: Populations whose counts depend on the residence rule.
RULE_POPULATIONS = ("immigrants", "emigrants", "stock", "citizens_abroad")


@dataclass
class TableMetadata:
    table_id: str
    title: str
    standard: str
    available: bool
    #: Cells of two tables with the same population and codes are the same count.
    population: str = ""
    unit: str = ""
    reference: str = ""
    reference_kind: str = ""
    status: str = ""
    definition: str = ""
    sources: list[str] = field(default_factory=list)
    residence_rule: str = ""
    dimensions: list[dict[str, Any]] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    #: Relations with other tables a reader can use (machine-readable; footnoted too).
    rules: list[dict[str, Any]] = field(default_factory=list)
    disclosure: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe(
    spec: TableSpec,
    config: Config,
    ref: Reference,
    provisional_share: float,
    cells_suppressed: int,
) -> TableMetadata:
    counts, _, tables = POPULATIONS.get(spec.population, (spec.population, spec.unit, ()))
    at_date = spec.population in STOCK_POPULATIONS
    rule = config.estimate.rule
    disclosure = config.disclosure
    footnotes = list(spec.footnotes)
    if provisional_share > 0:
        footnotes.append(
            f"Provisional: {provisional_share:.1%} of the counted migrations are crossings "
            "whose window had not closed by the end of the data. They are counted by a "
            "systematic selection in order of their modelled probabilities of being "
            "long-term, so that every total is its expected value rounded and the cells "
            "add up to it."
        )
    if disclosure.method == "rounding":
        footnotes.append(f"Every cell is randomly rounded to a multiple of "
                         f"{disclosure.rounding_base}; totals may not equal the sum of "
                         "their parts.")
    elif cells_suppressed:
        footnotes.append(f"{disclosure.symbol}: confidential. Cells counting 1 to "
                         f"{disclosure.primary_max} and the cells that would reveal them "
                         "are not shown.")
    for dim in spec.dims:
        if not dim.additive and dim.parents:
            footnotes.append(
                f"{dim.label or dim.name}: a person can be in more than one category, so "
                f"each category is at most its total and the total at most their sum.")
    rules = [
        {"kind": "at_most", "table": b.table, "on": list(b.on), "where": dict(b.where),
         "reason": b.reason}
        for b in spec.all_bounds()
    ]
    for bound in rules:
        where = "".join(f", {d} {c}" for d, c in bound["where"].items())
        footnotes.append(f"Each cell{where} is at most the cell of {bound['table']} with "
                         f"the same {', '.join(bound['on'])}: {bound['reason']}.")
    if spec.age_reached is not None:
        rules.append(age_reached_rule(spec.age_reached))
        footnotes.append(
            f"Age reached during the year ({spec.age_reached.reached}): each person's is "
            f"their age in completed years in {spec.age_reached.table} or one more "
            f"({spec.age_reached.reason}).")
    return TableMetadata(
        table_id=spec.table_id,
        title=spec.title,
        standard=spec.standard,
        available=True,
        population=spec.population,
        unit=spec.unit,
        reference=ref.stock_date.isoformat() if at_date else str(ref.year),
        reference_kind="date" if at_date else "period",
        status="provisional" if provisional_share > 0 else "final",
        definition=spec.definition,
        sources=[f"{t}: {counts}" for t in tables],
        residence_rule=(
            f"{rule.label} (a migration is a change of usual residence lasting at least "
            f"{rule.threshold_days} days within {rule.window_days} days)"
            if spec.population in RULE_POPULATIONS else "not used"
        ),
        dimensions=[
            {"name": d.name, "label": d.label, "codes": list(d.codes),
             "hierarchy": {parent: list(children) for parent, children in d.parents},
             "additive": d.additive}
            for d in spec.dims
        ],
        footnotes=footnotes,
        rules=rules,
        disclosure={
            "method": disclosure.method,
            "threshold": disclosure.threshold,
            "threshold_inclusive": disclosure.threshold_inclusive,
            "symbol": disclosure.symbol,
            "zeros_disclosive": disclosure.zeros_disclosive,
            "rounding_base": disclosure.rounding_base if disclosure.method == "rounding"
            else None,
            "cells_suppressed": cells_suppressed,
            "audit": "passed",
        },
    )


def age_reached_rule(rule: AgeReached) -> dict[str, Any]:
    """The relation of a table by age reached to its table by completed age, as data:
    each unit's age reached is its completed age or that age + 1; `ages` gives the
    single years [first, last] each age code spans (last null: open-ended), `unchanged`
    the codes counting the same units in both tables."""
    return {"kind": "age_reached", "table": rule.table, "completed": rule.completed,
            "reached": rule.reached,
            "ages": [{"code": code, "first": first, "last": last}
                     for code, first, last in rule.ranges],
            "unchanged": list(rule.unchanged), "reason": rule.reason}


def describe_unavailable(table: UnavailableTable, ref: Reference) -> TableMetadata:
    return TableMetadata(
        table_id=table.table_id,
        title=table.title,
        standard=f"UN capacity questionnaire (UNSD 2021), table {table.title.split()[0]}",
        available=False,
        reference=str(ref.year),
        reference_kind="period",
        status="not available",
        definition=table.reason,
        footnotes=[table.reason],
    )
