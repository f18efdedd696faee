"""Steps 1-3 of the estimate chain applied once, to the inputs as of their data end:
histories repaired (step 1), classified by a residence rule (step 2), and the open
crossings given provisional probabilities (step 3).

The stage runs it once with the configured rule and the sensitivity table once for each
other rule (from the same step-1 result and its known days, `known_days`: neither
depends on the rule); the backtest refits the model at each cut from
the run's pool and known days, without running the chain again. Events (step 4) and
stocks (step 5) read its result.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

import polars as pl

from regmig.config import EstimateConfig, ResidenceRule
from regmig.estimators.inputs import EstimateInputs
from regmig.estimators.step1_histories import ends
from regmig.estimators.step1_histories.sequences import RepairCounts
from regmig.estimators.step2_rule import as_of, initial_residence
from regmig.estimators.step2_rule.classify import (
    RepairedHistories,
    classify_repaired,
    repaired_histories,
)
from regmig.estimators.step3_provisional import features, scoring, training

KINDS = {"arrival": "immigration", "departure": "emigration"}
#: Columns of a crossing carried through the chain for the events and the published
#: tables, never read by the as-of views, the training rows or the model: left out of
#: RuleRun.known, which the backtest keeps for the whole stage.
CARRIED_ONLY = ("record_id", "crossed_at", "delivery_order", "citizenship",
                "country_of_residence", "origin_destination")


@dataclass(frozen=True)
class RuleRun:
    rule: ResidenceRule
    data_end: date
    #: classified crossings with probability_ltm
    history: pl.DataFrame
    initial: pl.DataFrame
    repairs: RepairCounts
    model: training.ProvisionalModel | None
    #: the history with its known days (`step2_rule.as_of.with_known_days`, guessed
    #: departures unseen, travel history), without CARRIED_ONLY: what any earlier day's
    #: view is built from
    known: pl.DataFrame
    #: the provisional model's training rows, for a fit at any cut (the backtest)
    pool: training.TrainingPool
    #: step 1's result and its `known_days`, for runs of other rules on the same inputs
    repaired: RepairedHistories
    repaired_days: pl.DataFrame


def repair_inputs(inputs: EstimateInputs, config: EstimateConfig,
                  country: str) -> RepairedHistories:
    """Step 1 on the stage's inputs: repaired histories and initial statuses."""
    return repaired_histories(
        inputs.crossings,
        initial_residence.from_register(inputs.register, inputs.observation_start),
        inputs.data_end,
        config.repair_policy,
        source="core.crossings",
        persons=inputs.persons.select("person_id"),
        evidence=ends.record_evidence(
            inputs.register, inputs.permits, inputs.observation_start,
            inputs.persons, country),
        home_periods=ends.home_periods(inputs.register, inputs.permits),
    )


def known_days(repaired: RepairedHistories) -> pl.DataFrame:
    """What RuleRun.known holds that does not depend on the rule: the repaired crossings
    in person and crossing order with their known days (`step2_rule.as_of`, guessed
    departures unseen) and travel history, without the carried attribute columns."""
    return features.with_travel_history(as_of.without_guessed_departures(
        as_of.with_known_days(repaired.crossings.drop(CARRIED_ONLY, strict=False))))


def run_rule(
    inputs: EstimateInputs, config: EstimateConfig, rule: ResidenceRule, country: str,
    repaired: RepairedHistories | None = None,
    repaired_days: pl.DataFrame | None = None,
) -> RuleRun:
    """Steps 1-3; `repaired`: step 1 already done on these inputs (it does not depend on
    the rule), and `repaired_days` its `known_days`."""
    repaired = repaired or repair_inputs(inputs, config, country)
    classified = classify_repaired(repaired, rule, inputs.data_end)
    rule_config = dataclasses.replace(config, rule=rule)
    days_known = repaired_days if repaired_days is not None else known_days(repaired)
    # The rule's results beside the days, row for row (both in person and crossing order).
    results = classified.crossings.sort("person_id", "seq").select(
        c for c in classified.crossings.columns if c not in repaired.crossings.columns)
    known = days_known.hstack(results)
    pool = training.training_pool(known, inputs, rule_config, country)
    view = training.view_at(known, inputs, rule_config, country,
                            features.days(inputs.data_end))
    model, p_open = training.fit_at(pool, view, rule_config)
    history = classified.crossings.sort("person_id", "seq")
    history = history.with_columns(
        probability_ltm=scoring.probabilities(history, view, p_open))
    return RuleRun(rule, inputs.data_end, history, classified.initial, classified.repairs,
                   model, known, pool, repaired, days_known)
