"""The one path from raw crossings to classified crossings, shared by the estimate stage
and `regmig classify`: order and repair the histories, settle initial statuses, apply
the rule."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

import polars as pl

from regmig.config import RepairPolicy, ResidenceRule
from regmig.estimators.step1_histories import ends
from regmig.estimators.step1_histories.sequences import RepairCounts, repair
from regmig.estimators.step2_rule import initial_residence
from regmig.estimators.step2_rule.residence_rule import classify


@dataclass(frozen=True)
class RepairedHistories:
    """Step 1's result, and the initial statuses: what every rule starts from."""

    crossings: pl.DataFrame  # sequences repaired: seq, imputed, attributes carried
    initial: pl.DataFrame  # initial_residence.INITIAL_COLUMNS
    repairs: RepairCounts


@dataclass(frozen=True)
class ClassifiedHistories:
    crossings: pl.DataFrame  # residence_rule.classify output, plus `imputed`
    initial: pl.DataFrame  # initial_residence.INITIAL_COLUMNS
    repairs: RepairCounts


def repaired_histories(
    crossings: pl.DataFrame,
    known_initial: pl.DataFrame | None,
    data_end: date,
    repair_policy: RepairPolicy,
    source: str = "crossings",
    persons: pl.DataFrame | None = None,
    evidence: pl.DataFrame | None = None,
    home_periods: pl.DataFrame | None = None,
) -> RepairedHistories:
    """`crossings`: person_id, crossing_date, direction (+ crossed_at, delivery_order,
    record_id and any attributes, carried through). `persons`: everyone whose initial
    status is wanted (default: those who crossed). `evidence`: register and permit
    evidence (`step1_histories.ends.record_evidence`) and `home_periods`
    (`step1_histories.ends.home_periods`), used by the "evidence" policy. Nothing here
    depends on the rule."""
    history, repairs = repair(crossings, repair_policy, source, home_periods)
    if repair_policy == "evidence" and evidence is not None:
        history, settled, found = ends.repair_ends(
            history, evidence, known_initial, data_end)
        repairs = dataclasses.replace(repairs, **dataclasses.asdict(found))
        if settled.height:
            known_initial = settled if known_initial is None else pl.concat(
                [known_initial, settled], how="diagonal_relaxed")
    if persons is None:
        persons = history.select("person_id").unique()
    initial = initial_residence.complete(persons, history, known_initial)
    return RepairedHistories(history, initial, repairs)


def classify_repaired(repaired: RepairedHistories, rule: ResidenceRule,
                      data_end: date) -> ClassifiedHistories:
    return ClassifiedHistories(classify(repaired.crossings, repaired.initial, rule,
                                        data_end), repaired.initial, repaired.repairs)


def classify_histories(
    crossings: pl.DataFrame,
    known_initial: pl.DataFrame | None,
    rule: ResidenceRule,
    data_end: date,
    repair_policy: RepairPolicy,
    source: str = "crossings",
    **step1: pl.DataFrame | None,
) -> ClassifiedHistories:
    """Step 1 (`repaired_histories`; `step1`: its persons, evidence and home_periods) and
    the rule."""
    repaired = repaired_histories(crossings, known_initial, data_end, repair_policy, source,
                                  **step1)
    return classify_repaired(repaired, rule, data_end)
