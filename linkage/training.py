"""Training the Splink model, and keeping it: u by random sampling, m by EM.

The prior (probability that two random profiles match) comes from near-certain rules;
u from randomly sampled pairs (almost all non-matches); m from expectation maximisation
over several blocking passes, each leaving free the comparisons the others fix. The
trained model goes to core.linkage_models; later runs reuse the latest one unless a
retrain is asked for, so a scheduled run does not move persons just because training
sampled differently.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import duckdb
from splink import Linker
from splink.internals.blocking_rule_creator_utils import to_blocking_rule_creator
from splink.internals.splink_dataframe import SplinkDataFrame

from regmig.config import LinkageConfig
from regmig.linkage.model_settings import (
    DETERMINISTIC_RULES,
    EM_BLOCKING_RULES,
    build_settings,
)


def train_linker(
    profiles: SplinkDataFrame, blocking_rules: list[Any], config: LinkageConfig
) -> tuple[Linker, dict[str, float]]:
    """A freshly trained linker and the seconds each training phase took."""
    linker = Linker(profiles, build_settings(blocking_rules), log_level=None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        list(DETERMINISTIC_RULES), recall=config.deterministic_rule_recall
    )
    timings["train_prior"] = time.perf_counter() - started
    started = time.perf_counter()
    linker.training.estimate_u_using_random_sampling(
        max_pairs=config.u_max_pairs, seed=config.seed
    )
    timings["train_u"] = time.perf_counter() - started
    started = time.perf_counter()
    for rule in EM_BLOCKING_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, max_pairs=config.em_max_pairs
        )
    timings["train_m_em"] = time.perf_counter() - started
    trained = floor_m_probabilities(linker.misc.save_model_to_json(), config)
    return Linker(profiles, trained, log_level=None), timings


def floor_m_probabilities(settings: dict[str, Any], config: LinkageConfig) -> dict[str, Any]:
    """Raise every m probability (and any level EM never saw) to the floor, and round
    all parameters to 9 significant digits.

    EM gives m = 0 to a disagreement it never met among matches; one such level would
    then outweigh every other piece of evidence. Rounding removes the last-bit noise of
    parallel sums, so the same training data gives the same model id.
    """
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m = level.get("m_probability")
            if m is None or m < config.m_probability_floor:
                level["m_probability"] = config.m_probability_floor
            for key in ("m_probability", "u_probability"):
                if level.get(key) is not None:
                    level[key] = _significant(level[key])
    prior = "probability_two_random_records_match"
    settings[prior] = _significant(settings[prior])
    return settings


def _significant(value: float) -> float:
    return float(f"{value:.9g}")


def linker_from_stored(
    profiles: SplinkDataFrame, settings: dict[str, Any], blocking_rules: list[Any]
) -> Linker:
    """A linker with a stored model's parameters and this run's blocking rules."""
    settings = dict(settings)
    settings["blocking_rules_to_generate_predictions"] = [
        to_blocking_rule_creator(rule).create_blocking_rule_dict("duckdb")
        for rule in blocking_rules
    ]
    settings.pop("linker_uid", None)
    return Linker(profiles, settings, log_level=None)


def latest_model(warehouse: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, Any]] | None:
    rows = warehouse.sql(
        "SELECT model_id, settings_json FROM core.linkage_models "
        "ORDER BY trained_at DESC, model_id DESC LIMIT 1"
    ).fetchall()
    if not rows:
        return None
    return rows[0][0], json.loads(rows[0][1])


def model_row(linker: Linker, training_input_hash: str, run_id: str) -> tuple[Any, ...]:
    """The core.linkage_models row of a freshly trained linker."""
    settings = linker.misc.save_model_to_json()
    settings.pop("linker_uid", None)
    text = json.dumps(settings, sort_keys=True)
    model_id = hashlib.sha256(text.encode()).hexdigest()[:16]
    return (model_id, text, training_input_hash, datetime.now(UTC).replace(tzinfo=None), run_id)
