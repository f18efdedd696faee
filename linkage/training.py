"""Training the Splink model from what the delivery has, and keeping it.

- The prior (probability that two random profiles match) comes from the near-certain
  rules whose columns are present and that find pairs; with none, the documented
  default: `LinkageConfig.default_matches_per_profile` matches per profile.
- u comes from randomly sampled pairs (almost all non-matches); that always works.
- m comes from expectation maximisation over the training passes whose columns are
  present, that find at least `LinkageConfig.em_min_pairs` pairs and that leave at least
  `LinkageConfig.em_min_free_comparisons` comparisons free, each pass leaving free the
  comparisons the others fix. A comparison no pass could train takes the
  documented default m of `default_model.json` (m learned by EM on a synthetic `hard`
  delivery: how often a true match's names, dates and codes agree at each level, which
  depends on the registers' error rates far more than on the population), and the
  record says so.

Every choice is written down (`TrainingRecord`) and goes to meta.quality and the
linkage report. The trained model goes to core.linkage_models; later runs reuse the
latest one unless a retrain is asked for, so a scheduled run does not move persons just
because training sampled differently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from splink import Linker
from splink.internals.blocking_rule_creator_utils import to_blocking_rule_creator
from splink.internals.splink_dataframe import SplinkDataFrame

from regmig.config import LinkageConfig
from regmig.errors import RegmigError
from regmig.linkage.coverage import Coverage
from regmig.linkage.engines import LinkageEngine
from regmig.linkage.model_settings import (
    COMPARISONS,
    DETERMINISTIC_PASSES,
    DOCUMENT_NEIGHBOUR_LABEL,
    TRAINING_PASSES,
    TrainingPass,
    build_settings,
    usable,
)
from regmig.warehouse import progress
from regmig.warehouse.timing import Timer


@dataclass
class TrainingRecord:
    """What the model was trained on, in words a methodologist can check."""

    source: str = "trained"  # trained | stored | default
    comparisons: list[str] = field(default_factory=list)
    columns_absent: list[str] = field(default_factory=list)
    prior: float = 0.0
    prior_from: str = ""
    u_pairs: int = 0
    em_passes: list[tuple[str, int]] = field(default_factory=list)  # (pass, pairs)
    em_skipped: list[tuple[str, str]] = field(default_factory=list)  # (pass, why)
    untrained_m: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.source == "stored":
            return "stored model of an earlier run"
        em = ", ".join(name for name, _pairs in self.em_passes) or "none"
        text = (f"comparisons: {', '.join(self.comparisons)}; prior {self.prior:.3g} from "
                f"{self.prior_from}; m by EM on: {em}")
        if self.untrained_m:
            text += f"; default m (default_model.json) for: {', '.join(self.untrained_m)}"
        return text


def count_pairs(work: duckdb.DuckDBPyConnection, p: TrainingPass, table: str = "profiles") -> int:
    group = ", ".join(f'"{k}"' for k in p.keys)
    present = " AND ".join(f'"{k}" IS NOT NULL' for k in p.keys)
    return int(work.sql(f"""
        SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM (
            SELECT count(*) AS n FROM {table} WHERE {present} GROUP BY {group})
    """).fetchall()[0][0])


def train_linker(
    work: duckdb.DuckDBPyConnection,
    profiles: SplinkDataFrame,
    blocking_rules: list[Any],
    coverage: Coverage,
    config: LinkageConfig,
    engine: LinkageEngine,
) -> tuple[Linker, dict[str, float], TrainingRecord]:
    """A freshly trained linker, the seconds each phase took, and what it was trained on."""
    minimum = config.min_column_coverage
    record = TrainingRecord(
        comparisons=[c.name for c in COMPARISONS if usable(c.requires, coverage, minimum)],
        columns_absent=[c.name for c in COMPARISONS
                        if not usable(c.requires, coverage, minimum)],
    )
    linker = Linker(profiles, build_settings(blocking_rules, coverage, minimum, engine.name),
                    log_level=None)
    timer = Timer()
    with timer.step("train_prior"):
        _estimate_prior(work, linker, coverage, config, record, engine)
    with timer.step("train_u"):
        linker.training.estimate_u_using_random_sampling(
            max_pairs=config.u_max_pairs, seed=config.seed
        )
    record.u_pairs = min(config.u_max_pairs, coverage.profiles * (coverage.profiles - 1) // 2)
    trained_columns: set[str] = set()
    with timer.step("train_m_em"):
        for p in progress.counted("EM passes", TRAINING_PASSES):
            if not usable(p.keys, coverage, minimum):
                record.em_skipped.append((p.name, "columns absent"))
                continue
            free = free_comparisons(linker, p)
            if trained_columns >= free:
                continue  # every comparison this pass could train is trained already
            if len(free) < config.em_min_free_comparisons:
                record.em_skipped.append((p.name, f"{len(free)} comparisons free"))
                continue
            pairs = count_pairs(work, p)
            if pairs < config.em_min_pairs:
                record.em_skipped.append((p.name, f"{pairs} pairs"))
                continue
            linker.training.estimate_parameters_using_expectation_maximisation(
                engine.rule(p.sql()), max_pairs=config.em_max_pairs
            )
            record.em_passes.append((p.name, pairs))
            trained_columns |= free
    record.untrained_m = [c for c in record.comparisons if c not in trained_columns]
    trained = with_default_m(linker.misc.save_model_to_json(), record.untrained_m)
    trained = floor_m_probabilities(trained, config)
    return Linker(profiles, trained, log_level=None), timer.timings, record


def free_comparisons(linker: Linker, p: TrainingPass) -> set[str]:
    """The comparisons an EM pass can train: those reading none of its blocking keys.

    Splink's rule (it deactivates the others in the session): the name comparisons read
    both names and their sound keys, so a pass on sound keys trains neither name.
    """
    return {c.output_column_name for c in linker._settings_obj.comparisons
            if not {col.input_name for col in c._input_columns_used_by_case_statement}
            & set(p.keys)}


def _estimate_prior(
    work: duckdb.DuckDBPyConnection, linker: Linker, coverage: Coverage,
    config: LinkageConfig, record: TrainingRecord, engine: LinkageEngine,
) -> None:
    rules = [p for p in DETERMINISTIC_PASSES
             if usable(p.keys, coverage, config.min_column_coverage) and count_pairs(work, p)]
    if rules:
        linker.training.estimate_probability_two_random_records_match(
            [engine.rule(p.sql()) for p in rules], recall=config.deterministic_rule_recall
        )
        record.prior_from = "rules " + ", ".join(p.name for p in rules)
        record.prior = linker._settings_obj._probability_two_random_records_match
    else:
        n = max(coverage.profiles, 2)
        record.prior = min(0.5, config.default_matches_per_profile * n / (n * (n - 1) / 2))
        record.prior_from = (f"the default of {config.default_matches_per_profile:g} "
                             "match per profile (no near-certain rule finds pairs)")
        linker._settings_obj._probability_two_random_records_match = record.prior


#: The documented default m probabilities (see the module docstring; written by
#: `bench/bench_linkage.py --default-model`, which names the delivery it learned from).
DEFAULT_MODEL = Path(__file__).with_name("default_model.json")


def with_default_m(settings: dict[str, Any], comparisons: list[str]) -> dict[str, Any]:
    """Give the named comparisons the default model's m, level by level (by label)."""
    default = json.loads(DEFAULT_MODEL.read_text(encoding="utf-8"))["m_probabilities"]
    for comparison in settings["comparisons"]:
        levels = default.get(comparison["output_column_name"], {})
        if comparison["output_column_name"] not in comparisons:
            continue
        for level in comparison["comparison_levels"]:
            if level.get("label_for_charts") in levels:
                level["m_probability"] = levels[level["label_for_charts"]]
    return settings


def default_model_from(settings: dict[str, Any], learned_from: str) -> dict[str, Any]:
    """The default_model.json content taken from a trained model's settings."""
    return {"learned_from": learned_from, "m_probabilities": {
        c["output_column_name"]: {level["label_for_charts"]: level["m_probability"]
                                  for level in c["comparison_levels"]
                                  if not level.get("is_null_level")}
        for c in settings["comparisons"]}}


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
    profiles: SplinkDataFrame, settings: dict[str, Any], blocking_rules: list[Any],
    engine: LinkageEngine, validate: bool = True,
) -> Linker:
    """A linker with a stored model's parameters and this run's blocking rules.

    `validate=False` skips Splink's check of the settings against the input's columns
    (a third of a second per linker): for callers whose input has the columns of the
    profiles the model was trained on (incremental linkage).

    A model stored by another engine holds that engine's SQL: it is rebuilt for this one
    from the model's definition, with the stored parameters (`for_engine`).
    """
    if settings.get("sql_dialect", "duckdb") != engine.name:
        settings = for_engine(settings, engine.name)
    settings = dict(settings)
    settings["blocking_rules_to_generate_predictions"] = [
        to_blocking_rule_creator(rule).create_blocking_rule_dict(engine.name)
        for rule in blocking_rules
    ]
    settings.pop("linker_uid", None)
    return Linker(profiles, settings, log_level=None, validate_settings=validate)


def for_engine(stored: dict[str, Any], engine: str) -> dict[str, Any]:
    """A stored model's settings rebuilt in `engine`'s dialect from the definition
    (model_settings.COMPARISONS): the same comparisons, in the stored order, each level
    carrying the stored m and u probabilities, and the stored prior."""
    definitions = {c.name: c for c in COMPARISONS}
    comparisons = []
    for old in stored["comparisons"]:
        # the columns the stored levels read beyond the comparison's own (a model
        # trained without document neighbourhoods has no level for them)
        labels = {lv.get("label_for_charts") for lv in old["comparison_levels"]}
        present = {"document_neighbours"} if DOCUMENT_NEIGHBOUR_LABEL in labels else set()
        new = definitions[old["output_column_name"]].build(
            engine, present).create_comparison_dict(engine)
        levels = new["comparison_levels"]
        if [lv.get("label_for_charts") for lv in levels] != [
                lv.get("label_for_charts") for lv in old["comparison_levels"]]:
            raise RegmigError(
                f"the stored linkage model's comparison {old['output_column_name']!r} no "
                "longer matches the model's definition; retrain it (--retrain)")
        for level, stored_level in zip(levels, old["comparison_levels"], strict=True):
            for key in ("m_probability", "u_probability"):
                if key in stored_level:
                    level[key] = stored_level[key]
        comparisons.append(new)
    rebuilt = {key: value for key, value in stored.items()
               if key not in ("comparisons", "blocking_rules_to_generate_predictions")}
    return {**rebuilt, "comparisons": comparisons, "sql_dialect": engine,
            "blocking_rules_to_generate_predictions": []}


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
