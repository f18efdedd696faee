"""Profiles to clusters, callable on its own: blocking, the model, scores, clusters.

Works on any working database holding a `profiles` table (profiles.py's columns): the
link stage, the benchmarks (FEBRL as profiles) and incremental linkage call it alike.
The model is the stored one when given and no retrain is asked for; else one trained on
these profiles; when these profiles cannot train m (no training pass finds pairs), the
stored model if there is one, else Splink's default m (training.py says which).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
from splink import Linker
from splink.internals.splink_dataframe import SplinkDataFrame

from regmig.config import LinkageConfig
from regmig.errors import RegmigError
from regmig.linkage import blocking, clustering, prediction, training
from regmig.linkage.coverage import Coverage, measure_coverage
from regmig.linkage.engines import DuckDBLinkage, LinkageEngine
from regmig.warehouse.hashes import table_hash
from regmig.warehouse.timing import Timer


@dataclass
class ScoredProfiles:
    coverage: Coverage
    choices: list[blocking.BlockingChoice]
    linker: Linker
    predictions: SplinkDataFrame
    record: training.TrainingRecord
    #: the core.linkage_models row of a model trained now, else None
    model_row: tuple[Any, ...] | None
    chunks: int
    clusters: clustering.ClusterResult

    @property
    def comparisons(self) -> int:
        return sum(c.comparisons for c in self.choices)

    @property
    def blocking_conditions(self) -> list[str]:
        """The passes kept, as SQL conditions on a pair (for blocking recall)."""
        return [c.condition for c in self.choices if c.kept]


def score_profiles(
    work: duckdb.DuckDBPyConnection,
    settings: LinkageConfig,
    stored: tuple[str, dict[str, Any]] | None,
    timer: Timer,
    run_id: str,
    engine: LinkageEngine | None = None,
) -> ScoredProfiles:
    """Block, train (or reuse `stored`), score and cluster `profiles` in `work`, with
    Splink on `engine` (DuckDB in `work` unless given).

    Leaves `pairs` (scored pairs above the predict threshold) and `profile_clusters`.
    """
    engine = engine or DuckDBLinkage(work)
    coverage = measure_coverage(work)
    with timer.step("blocking"):
        choices = blocking.choose_blocking_rules(work, coverage, settings)
    rules = [engine.rule(c.rule) for c in choices if c.kept]
    if not rules:  # Splink would compare every pair with every other
        raise RegmigError("the delivery has no names, dates of birth or documents to link "
                          "on (every blocking pass needs one of them)")
    profiles_df = engine.profiles()
    linker, record, model_row = _model(work, profiles_df, rules, coverage, settings, stored,
                                       timer, run_id, engine)
    with timer.step("predict"):
        predictions, chunks = prediction.predict_pairs(
            engine, linker, sum(c.comparisons for c in choices), settings)
    with timer.step("cluster"):
        clusters = clustering.cluster_profiles(work, engine, linker, predictions,
                                               settings.cluster_threshold,
                                               settings.attach_threshold,
                                               settings.travel_attach_threshold)
    return ScoredProfiles(coverage, choices, linker, predictions, record, model_row, chunks,
                          clusters)


def _model(
    work: duckdb.DuckDBPyConnection, profiles_df: SplinkDataFrame, rules: list[str],
    coverage: Coverage, settings: LinkageConfig, stored: tuple[str, dict[str, Any]] | None,
    timer: Timer, run_id: str, engine: LinkageEngine,
) -> tuple[Linker, training.TrainingRecord, tuple[Any, ...] | None]:
    if stored is not None and not settings.retrain:
        return (training.linker_from_stored(profiles_df, stored[1], rules, engine),
                training.TrainingRecord(source="stored"), None)
    linker, timings, record = training.train_linker(work, profiles_df, rules, coverage,
                                                     settings, engine)
    timer.timings.update(timings)
    if not record.em_passes:
        if stored is not None:
            record.source = "stored"
            return (training.linker_from_stored(profiles_df, stored[1], rules, engine),
                    record, None)
        record.source = "default"
    return linker, record, training.model_row(linker, table_hash(work, ["main.profiles"]),
                                              run_id)
