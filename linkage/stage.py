"""Stage 2, link: cases to persons.

raw.* (warehouse) + ident.records (identifiers, read-only)
  -> profiles (profiles.py) -> scoring.py: blocking within the budget (blocking.py),
     trained or stored Splink model (training.py), scored pairs (prediction.py),
     clusters with register conflicts split (clustering.py)
  -> stable person ids (stable_ids.py) -> core.person_map, persons, crossings (persons.py)
  -> meta.quality and the linkage report (quality.py).

All Splink work happens in a private in-memory DuckDB (working_db.py); the warehouse is
written once, in one transaction, so a rerun or a restart after a kill gives the same
result.
"""

from __future__ import annotations

import logging
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from regmig.config import Config
from regmig.errors import RegmigError
from regmig.linkage import stable_ids
from regmig.linkage.working_db import SOURCES
from regmig.warehouse.connection import open_warehouse, transaction
from regmig.warehouse.hashes import table_hash
from regmig.warehouse.paths import RunPaths
from regmig.warehouse.quality import record_quality
from regmig.warehouse.timing import Timer
from regmig.warehouse.writes import registered

STAGE = "link"


@dataclass
class LinkSummary:
    row_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    input_hashes: dict[str, str] = field(default_factory=dict)
    model_id: str = ""
    retrained: bool = False
    comparisons: int = 0
    blocking_rules: list[str] = field(default_factory=list)
    trained_on: str = ""
    conflict_clusters: int = 0
    id_events: dict[str, int] = field(default_factory=dict)
    report: Path | None = None
    review_export: Path | None = None
    review_precision: float | None = None
    review_recall: float | None = None
    #: How the records were linked: "full", or "incremental" (linkage/incremental.py,
    #: which also fills `incremental_lines`).
    mode: str = "full"
    incremental_lines: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        counts = self.row_counts
        lines = [
            f"link ({self.mode}): {counts.get('core.persons', 0):,} persons from "
            f"{counts.get('core.person_map', 0):,} records "
            f"({counts.get('profiles', 0):,} profiles)",
            *self.incremental_lines,
            f"  model {self.model_id} ({'trained now' if self.retrained else 'stored'}); "
            f"{self.comparisons:,} comparisons by {', '.join(self.blocking_rules)}",
            f"  trained on: {self.trained_on}",
            f"  register conflicts split: {self.conflict_clusters}; id changes: "
            + (", ".join(f"{k} {v}" for k, v in sorted(self.id_events.items())) or "none"),
            f"  took {sum(self.timings.values()):.1f} s; report: {self.report}",
        ]
        if self.review_export:
            lines.append(f"  review sample written to {self.review_export} (restricted)")
        if self.review_precision is not None:
            lines.append(f"  clerical review: precision {self.review_precision:.3f}, "
                         f"recall {self.review_recall:.3f}")
        return lines


@contextmanager
def quiet_splink() -> Iterator[None]:
    """Splink warns about every untrainable level and small count sample; the stage
    reports what matters itself (meta.quality, the report)."""
    logger = logging.getLogger("splink")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        logger.setLevel(level)


def link(
    paths: RunPaths,
    config: Config,
    run_id: str,
    review_export: Path | None = None,
    review_labels: Path | None = None,
) -> LinkSummary:
    """Link every loaded record to a person; replace core.* and this run's quality rows."""
    with quiet_splink():
        return _link(paths, config, run_id, review_export, review_labels)


def _link(
    paths: RunPaths,
    config: Config,
    run_id: str,
    review_export: Path | None,
    review_labels: Path | None,
) -> LinkSummary:
    # Splink is heavy to import: only the stage pays for it, not `regmig --help`.
    from regmig.linkage import (
        engines,
        incremental,
        persons,
        quality,
        review,
        scoring,
        training,
        working_db,
    )
    from regmig.linkage import profiles as profile_building

    settings = config.linkage
    summary = LinkSummary()
    timer = Timer()
    spill_dir = paths.out / "link_spill"  # may hold names: lives with identifiers.duckdb
    spill_dir.mkdir(parents=True, exist_ok=True)
    warehouse = open_warehouse(paths)
    work = working_db.open_work_db(settings, spill_dir)
    try:
        summary.input_hashes["raw"] = table_hash(warehouse, [f"raw.{s}" for s in SOURCES])
        with timer.step("load_inputs"):
            working_db.load_inputs(warehouse, work, paths)
        with timer.step("profiles"):
            summary.row_counts.update(profile_building.build_profiles(work))
        summary.row_counts["profiles"] = work.sql("SELECT count(*) FROM profiles").fetchall()[0][0]
        if summary.row_counts["profiles"] == 0:
            raise RegmigError(f"{paths.warehouse}: no loaded records to link; run "
                              "`regmig ingest` first")
        engine = engines.linkage_engine(config, work, paths.out, spill_dir)
        scored = scoring.score_profiles(
            work, settings, training.latest_model(warehouse), timer, run_id, engine)
        choices, record, clusters = scored.choices, scored.record, scored.clusters
        linker, predictions, model_row = scored.linker, scored.predictions, scored.model_row
        summary.blocking_rules = [c.name for c in choices if c.kept]
        summary.comparisons = scored.comparisons
        summary.model_id = model_row[0] if model_row else record.source
        summary.retrained = model_row is not None
        summary.trained_on = record.summary()
        summary.row_counts["pairs_above_predict_threshold"] = (
            work.sql("SELECT count(*) FROM pairs").fetchall()[0][0]
        )
        with timer.step("record_clusters"):
            persons.build_record_clusters(work, settings.cluster_threshold)
        summary.conflict_clusters = clusters.conflict_clusters

        with timer.step("stable_ids"):
            highest = _load_previous_map(warehouse, work)
            summary.id_events = stable_ids.assign_person_ids(work, highest)
            persons.build_person_tables(work, run_id)

        if review_export is not None:
            review.export_review_sample(work, predictions, settings, review_export)
            summary.review_export = review_export
        indicators = _run_indicators(summary, choices, clusters, scored.chunks)
        indicators.append(("linkage_engine", 1, "flag", f"Splink ran on {engine.name}"))
        indicators += _training_indicators(record, scored.coverage)
        indicators += quality.name_indicators(work)
        indicators += quality.person_indicators(work)
        review_chart = None
        if review_labels is not None:
            accuracy = review.read_review_labels(review_labels, settings.cluster_threshold)
            review_chart = accuracy.chart(settings.cluster_threshold)
            summary.review_precision, summary.review_recall = (
                accuracy.precision, accuracy.recall)
            indicators += [
                ("review_labelled_pairs", accuracy.labelled_pairs, "pairs", str(review_labels)),
                ("review_precision", accuracy.precision, "ratio",
                 f"labelled pairs, at the threshold {settings.cluster_threshold:g}"),
                ("review_recall", accuracy.recall, "ratio",
                 f"labelled pairs, at the threshold {settings.cluster_threshold:g}"),
            ]
        with timer.step("report"):
            quality.write_report(paths.linkage_report, linker, predictions,
                                 indicators, settings.report_waterfall_pairs, review_chart,
                                 paths.report)
        summary.report = paths.linkage_report

        with timer.step("write_warehouse"):
            with transaction(warehouse):
                summary.row_counts.update(persons.write_core_tables(warehouse, work))
                stable_ids.write_history(warehouse, work, run_id)
                if model_row is not None:
                    # A retrain on unchanged profiles gives the same model: keep one row.
                    warehouse.execute(
                        "INSERT INTO core.linkage_models SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS "
                        "(SELECT 1 FROM core.linkage_models WHERE model_id = ?)",
                        [*model_row, model_row[0]],
                    )
                warehouse.execute(
                    "DELETE FROM meta.quality WHERE run_id = ? AND stage = ?", [run_id, STAGE]
                )
                record_quality(warehouse, run_id, STAGE, indicators)
        with timer.step("write_state"):  # where the next monthly run starts from
            incremental.save_full_link_state(work, paths, warehouse, run_id)
        summary.timings = timer.timings
        return summary
    finally:
        work.close()
        warehouse.close()
        shutil.rmtree(spill_dir, ignore_errors=True)


def _training_indicators(record, coverage) -> list:  # noqa: ANN001
    if record.source == "trained":
        source = "trained now on this delivery"
    elif record.source == "default":
        source = ("documented default: m of default_model.json (no training pass finds "
                  "enough pairs and no model is stored), u sampled, prior as stated")
    elif record.comparisons:
        source = ("stored model of an earlier run: this delivery cannot train m (no "
                  "training pass finds pairs)")
    else:
        source = "stored model of an earlier run"
    out = [("model_source", 1, "flag", source)]
    if record.source == "stored" and not record.comparisons:
        return out
    out.append(("model_trained_on", 1, "flag", record.summary()))
    out += [("column_coverage", coverage.share.get(c, 0.0), "ratio",
             f"{c}: {'compared' if c in record.comparisons else 'absent, not compared'}")
            for c in ("given_name", "surname", "dob", "sex", "citizenship",
                      "country_of_birth", "document_key")]
    out.append(("prior_match_probability", record.prior, "probability", record.prior_from))
    out.append(("u_sampled_pairs", record.u_pairs, "pairs", "random sample"))
    out += [("em_pass_pairs", pairs, "pairs", f"EM trained on {name}")
            for name, pairs in record.em_passes]
    out += [("em_pass_skipped", 0, "pairs", f"{name}: {why}")
            for name, why in record.em_skipped]
    return out


def _load_previous_map(warehouse, work) -> int:  # noqa: ANN001 - two DuckDB connections
    """Copy the previous person_map into `work`; return the highest id ever issued."""
    arrow = warehouse.sql(
        "SELECT source, record_id, person_id FROM core.person_map"
    ).to_arrow_table()
    with registered(work, "_prev", arrow):
        work.execute("CREATE OR REPLACE TABLE prev_map AS SELECT * FROM _prev")
    return stable_ids.highest_issued_id(warehouse)



def _run_indicators(summary: LinkSummary, choices, clusters, chunks: int):  # noqa: ANN001
    out = []
    for c in choices:
        if not c.usable:
            out.append(("blocking_comparisons", 0, "comparisons",
                        f"{c.name}: not used (columns absent)"))
            continue
        bound = (f"; blocks over {c.max_block:,} profiles left out "
                 f"({c.comparisons_left_out:,} pairs, {c.profiles_in_capped_blocks:,} "
                 "profiles)" if c.max_block is not None else "")
        out.append(("blocking_comparisons", c.comparisons, "comparisons",
                    f"{c.name}: kept{bound}"))
    out += [
        ("comparisons_scored", summary.comparisons, "comparisons",
         "upper bound: pairs of every pass before duplicates are removed"),
        ("prediction_chunks", chunks, "chunks", None),
        ("profiles", summary.row_counts.get("profiles", 0), "profiles", "all sources"),
        ("pairs_above_predict_threshold",
         summary.row_counts.get("pairs_above_predict_threshold", 0), "pairs", None),
        ("clusters", clusters.clusters, "persons", "before stable ids"),
        ("register_conflicts_split", clusters.conflict_clusters, "clusters",
         "two register personal ids in one cluster, split at the weakest links"),
        ("links_cut", clusters.links_cut, "pairs", "links refused when splitting conflicts"),
        ("lone_profiles_attached", clusters.lone_profiles_attached, "profiles",
         "alone at the threshold, joined to the one cluster their links point into"),
        ("attached_by_travel_history", clusters.attached_by_travel_history, "profiles",
         "lone crossing profiles whose crossings fill gaps in one linked travel history"),
    ]
    for source in SOURCES:
        key = f"profiles_{source}"
        if key in summary.row_counts:
            out.append(("profiles", summary.row_counts[key], "profiles", source))
    return out
