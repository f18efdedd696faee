"""Steps 1-3 of the estimate chain applied once, to the inputs as of their data end:
histories repaired (step 1), classified by a residence rule (step 2), and the open
crossings given provisional probabilities (step 3).

The stage runs it once with the configured rule, the sensitivity table once per rule, and
the backtest once per cut date; events (step 4) and stocks (step 5) read its result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from regmig.config import EstimateConfig, ResidenceRule
from regmig.estimators.inputs import EstimateInputs
from regmig.estimators.step1_histories import ends
from regmig.estimators.step1_histories.sequences import RepairCounts
from regmig.estimators.step2_rule import initial_residence
from regmig.estimators.step2_rule.classify import classify_histories
from regmig.estimators.step3_provisional import features, scoring, training

KINDS = {"arrival": "immigration", "departure": "emigration"}


@dataclass(frozen=True)
class RuleRun:
    rule: ResidenceRule
    data_end: date
    #: classified crossings with travel days and probability_ltm
    history: pl.DataFrame
    initial: pl.DataFrame
    repairs: RepairCounts
    model: training.ProvisionalModel | None


def run_rule(
    inputs: EstimateInputs, config: EstimateConfig, rule: ResidenceRule, country: str
) -> RuleRun:
    known = initial_residence.from_register(inputs.register, inputs.observation_start)
    classified = classify_histories(
        inputs.crossings,
        known,
        rule,
        inputs.data_end,
        config.repair_policy,
        source="core.crossings",
        persons=inputs.persons.select("person_id"),
        evidence=ends.record_evidence(
            inputs.register, inputs.permits, inputs.observation_start,
            inputs.persons, country),
        home_periods=ends.home_periods(inputs.register, inputs.permits),
    )
    history = features.with_travel_days(classified.crossings)
    rule_config = _with_rule(config, rule)
    model = training.fit(history, inputs, rule_config, country)
    history = scoring.probabilities(history, model, inputs, rule_config, country)
    return RuleRun(rule, inputs.data_end, history, classified.initial, classified.repairs,
                   model)


def _with_rule(config: EstimateConfig, rule: ResidenceRule) -> EstimateConfig:
    import dataclasses

    return dataclasses.replace(config, rule=rule)
