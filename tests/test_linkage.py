"""The link stage on the committed sample, through the real chain (ingest -> link),
judged against the synthetic truth."""

import csv
import dataclasses
import shutil
from pathlib import Path

import duckdb
import pytest

from regmig.config import Config
from regmig.errors import RegmigError
from regmig.flows.cli import main
from regmig.linkage.evaluation import evaluate
from regmig.linkage.review import read_review_labels
from regmig.linkage.stage import link
from regmig.warehouse.paths import RunPaths

SOURCES = ("border_crossings", "population_register", "permits")


def _truth(sample_delivery: Path) -> str:
    path = sample_delivery / "truth" / "record_person.parquet"
    return f"SELECT source, record_id, person_id FROM read_parquet('{path}')"


@pytest.fixture(scope="module")
def warehouse(linked_run: RunPaths):
    con = duckdb.connect()
    con.execute(f"ATTACH '{linked_run.warehouse}' AS w (READ_ONLY)")
    yield con
    con.close()


@pytest.fixture(scope="module")
def relinked(linked_run: RunPaths, tmp_path_factory: pytest.TempPathFactory) -> RunPaths:
    """A copy of the linked run, linked again through the command line (stored model)."""
    copy = RunPaths(tmp_path_factory.mktemp("relink") / "run")
    shutil.copytree(linked_run.out, copy.out)
    review = copy.out / "review_pairs.csv"
    assert main(["link", "--out", str(copy.out), "--review-export", str(review)]) == 0
    return copy


def test_accuracy_against_truth(warehouse, sample_delivery: Path) -> None:
    accuracy = evaluate(
        warehouse, "SELECT source, record_id, person_id FROM w.core.person_map",
        _truth(sample_delivery),
    )
    assert accuracy.records > 10_000
    assert accuracy.pairwise_precision >= 0.99, accuracy
    assert accuracy.pairwise_recall >= 0.99, accuracy
    assert accuracy.bcubed_f1 >= 0.99, accuracy
    assert abs(accuracy.person_count_error) <= 0.005, accuracy


def test_every_record_maps_to_exactly_one_person(warehouse) -> None:
    for source in SOURCES:
        raw, mapped, distinct = warehouse.sql(f"""
            SELECT (SELECT count(*) FROM w.raw.{source}),
                   (SELECT count(*) FROM w.core.person_map WHERE source = '{source}'),
                   (SELECT count(DISTINCT record_id) FROM w.core.person_map
                    WHERE source = '{source}')
        """).fetchall()[0]
        assert raw == mapped == distinct, source
    orphans = warehouse.sql("""
        SELECT count(*) FROM w.core.person_map
        WHERE person_id NOT IN (SELECT person_id FROM w.core.persons)
    """).fetchall()[0][0]
    assert orphans == 0
    counts = warehouse.sql("""
        SELECT (SELECT count(*) FROM w.core.crossings),
               (SELECT count(*) FROM w.raw.border_crossings),
               (SELECT sum(n_crossings) FROM w.core.persons)
    """).fetchall()[0]
    assert counts[0] == counts[1] == counts[2]


def test_naturalised_persons_stay_one_person(warehouse, sample_delivery: Path) -> None:
    """A change of citizenship is a naturalisation, not a second person."""
    truth_persons = sample_delivery / "truth" / "persons.parquet"
    rows = warehouse.sql(f"""
        WITH naturalised AS (
            SELECT person_id FROM read_parquet('{truth_persons}')
            WHERE naturalised_on IS NOT NULL
        ), mapped AS (
            SELECT t.person_id AS true_id, count(DISTINCT m.person_id) AS persons,
                   bool_or(p.citizenship IS DISTINCT FROM p.first_citizenship) AS changed
            FROM ({_truth(sample_delivery)}) AS t
            JOIN w.core.person_map AS m USING (source, record_id)
            JOIN w.core.persons AS p ON p.person_id = m.person_id
            WHERE t.person_id IN (SELECT person_id FROM naturalised)
            GROUP BY t.person_id
        )
        SELECT count(*), count(*) FILTER (WHERE persons = 1),
               count(*) FILTER (WHERE changed) FROM mapped
    """).fetchall()[0]
    naturalised, single, changed = rows
    assert naturalised > 0
    assert single >= 0.95 * naturalised
    assert changed > 0


def test_quality_indicators_match_the_tables(warehouse) -> None:
    quality = {
        (name, detail): value
        for name, value, detail in warehouse.sql(
            "SELECT indicator, value, detail FROM w.meta.quality WHERE stage = 'link'"
        ).fetchall()
    }
    for source in SOURCES:
        raw = warehouse.sql(f"SELECT count(*) FROM w.raw.{source}").fetchall()[0][0]
        assert quality[("cases", source)] == raw
    persons = warehouse.sql("SELECT count(*) FROM w.core.persons").fetchall()[0][0]
    assert quality[("persons", "all sources")] == persons
    crossings_only = warehouse.sql("""
        SELECT count(*) FROM w.core.persons
        WHERE n_crossings > 0 AND n_register_records = 0 AND n_permit_records = 0
    """).fetchall()[0][0]
    assert quality[("persons_with_crossings_only",
                    "crossings but no register or permit record")] == crossings_only
    rate = quality[("match_rate", "persons of permits also in border_crossings")]
    assert 0 < rate <= 1
    assert any(name == "blocking_comparisons" for name, _ in quality)


def test_warehouse_holds_no_identifiers(warehouse, linked_run: RunPaths) -> None:
    tables = [t for (t,) in warehouse.sql(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'w'").fetchall()]
    assert not [t for t in tables if "splink" in t]
    columns = {c for (c,) in warehouse.sql(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'w' "
        "AND schema_name = 'core'").fetchall()}
    assert not columns & {"given_name", "surname", "date_of_birth", "given_name_clean"}
    # The report shows match weights, never the compared names.
    report = linked_run.linkage_report.read_text(encoding="utf-8")
    assert "Linkage report" in report and "vegaEmbed" in report
    ident = duckdb.connect(str(linked_run.identifiers), read_only=True)
    surnames = [s for (s,) in ident.sql("""
        SELECT surname_clean FROM ident.records WHERE length(surname_clean) >= 9
        GROUP BY 1 ORDER BY count(*) DESC LIMIT 20""").fetchall()]
    ident.close()
    assert surnames
    assert not [s for s in surnames if s in report.lower()]


def test_rerun_keeps_person_ids(linked_run: RunPaths, relinked: RunPaths) -> None:
    con = duckdb.connect()
    con.execute(f"ATTACH '{linked_run.warehouse}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{relinked.warehouse}' AS b (READ_ONLY)")
    moved = con.sql("""
        SELECT count(*) FROM a.core.person_map AS x
        JOIN b.core.person_map AS y USING (source, record_id)
        WHERE x.person_id <> y.person_id
    """).fetchall()[0][0]
    assert moved == 0
    models = con.sql("SELECT count(*) FROM b.core.linkage_models").fetchall()[0][0]
    assert models == 1  # the stored model was reused, not retrained
    history = con.sql("""
        SELECT (SELECT count(*) FROM a.core.person_id_history),
               (SELECT count(*) FROM b.core.person_id_history),
               (SELECT count(*) FROM a.core.persons)
    """).fetchall()[0]
    assert history[0] == history[1] == history[2]  # one 'created' per person, then none
    status = con.sql(
        "SELECT status FROM b.meta.runs WHERE stage = 'link' ORDER BY started_at DESC"
    ).fetchall()
    assert status[0][0] == "completed"
    con.close()


def test_clerical_review_round_trip(relinked: RunPaths, sample_delivery: Path) -> None:
    review = relinked.out / "review_pairs.csv"
    with open(review, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {"given_name_l", "surname_r", "label"} <= set(rows[0])
    # A reviewer who says every pair is the same person: recall is the share of pairs
    # the threshold accepts; precision is 1 if it accepts any.
    threshold = Config().linkage.cluster_threshold
    for row in rows:
        row["label"] = "1"
    with open(review, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    accuracy = read_review_labels(review, threshold)
    accepted = sum(float(r["match_probability"]) >= threshold for r in rows)
    assert accuracy.labelled_pairs == len(rows)
    assert accuracy.recall == pytest.approx(accepted / len(rows))
    rows[0]["label"] = "yes"
    with open(review, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(RegmigError, match="row 1, column label"):
        read_review_labels(review, threshold)


def test_link_command_refuses_a_folder_without_warehouse(tmp_path: Path, capsys) -> None:
    assert main(["link", "--out", str(tmp_path / "nothing")]) == 2
    assert "run `regmig ingest" in capsys.readouterr().err


def test_retrain_is_repeatable(linked_run: RunPaths, link_summary, tmp_path: Path) -> None:
    """Training with the same seed on the same profiles gives the same model."""
    copy = RunPaths(tmp_path / "run")
    shutil.copytree(linked_run.out, copy.out)
    config = Config()
    config = dataclasses.replace(
        config, linkage=dataclasses.replace(config.linkage, retrain=True))
    summary = link(copy, config, "test-retrain")
    assert summary.retrained and link_summary.retrained
    assert summary.model_id == link_summary.model_id


def test_accuracy_on_a_second_delivery_with_the_stored_model(
    small_delivery: Path, linked_run: RunPaths, tmp_path: Path
) -> None:
    """Another synthetic delivery at default noise, linked the way a scheduled run links:
    with the model stored by an earlier run (here, the sample's)."""
    from regmig.ingest.stage import ingest_folder
    from regmig.warehouse.connection import open_warehouse

    paths = RunPaths(tmp_path / "run")
    ingest_folder(paths, Config(), small_delivery, "test-small-ingest")
    con = open_warehouse(paths)
    con.execute(f"ATTACH '{linked_run.warehouse}' AS sample (READ_ONLY)")
    con.execute("INSERT INTO core.linkage_models SELECT * FROM sample.core.linkage_models")
    con.close()
    summary = link(paths, Config(), "test-small-link")
    assert not summary.retrained
    con = duckdb.connect()
    con.execute(f"ATTACH '{paths.warehouse}' AS w (READ_ONLY)")
    accuracy = evaluate(con, "SELECT source, record_id, person_id FROM w.core.person_map",
                        _truth(small_delivery))
    con.close()
    assert accuracy.pairwise_precision >= 0.99, accuracy
    assert accuracy.pairwise_recall >= 0.99, accuracy
    assert accuracy.bcubed_f1 >= 0.99, accuracy
    assert abs(accuracy.person_count_error) <= 0.005, accuracy


def test_a_budget_too_small_for_any_rule_is_refused(linked_run: RunPaths, tmp_path: Path):
    copy = RunPaths(tmp_path / "run")
    shutil.copytree(linked_run.out, copy.out)
    config = Config()
    config = dataclasses.replace(
        config, linkage=dataclasses.replace(config.linkage, comparison_budget=1,
                                            comparisons_per_profile=0))
    with pytest.raises(RegmigError, match="comparison_budget"):
        link(copy, config, "test-small-budget")
    con = duckdb.connect(str(copy.warehouse), read_only=True)
    unchanged = con.sql("SELECT count(*) FROM core.person_map WHERE run_id = 'test-small-budget'")
    assert unchanged.fetchall()[0][0] == 0
    con.close()


def test_review_labels_from_the_truth_close_the_loop(
    relinked: RunPaths, sample_delivery: Path, tmp_path: Path
) -> None:
    """Label the exported pairs by the truth (a profile is named after its first record),
    link with --review-labels: precision and recall at the threshold in meta.quality and
    the threshold chart in the linkage report agree with the labels."""
    import polars as pl

    truth = pl.read_parquet(sample_delivery / "truth" / "record_person.parquet")
    prefix = {"B": "border_crossings", "R": "population_register", "P": "permits"}
    pairs = pl.read_csv(relinked.out / "review_pairs.csv", infer_schema_length=0)

    def person(side: str) -> pl.DataFrame:
        ids = pairs.select(
            pl.col(f"unique_id_{side}").str.slice(0, 1).replace_strict(prefix).alias("source"),
            pl.col(f"unique_id_{side}").str.split(":").list.get(1).alias("record_id"))
        return ids.join(truth, on=["source", "record_id"], how="left")["person_id"]

    labels = (person("l") == person("r")).cast(pl.Int8)
    assert 0 < labels.sum() < len(labels), "the band holds matches and non-matches"
    labelled = tmp_path / "labelled.csv"
    pairs.with_columns(label=labels).write_csv(labelled)
    copy = RunPaths(tmp_path / "run")
    shutil.copytree(relinked.out, copy.out)
    assert main(["link", "--out", str(copy.out), "--review-labels", str(labelled)]) == 0

    threshold = Config().linkage.cluster_threshold
    probability = pairs["match_probability"].cast(pl.Float64)
    accepted = probability >= threshold
    expected_precision = (labels.cast(bool) & accepted).sum() / max(accepted.sum(), 1)
    expected_recall = (labels.cast(bool) & accepted).sum() / labels.sum()
    con = duckdb.connect(str(copy.warehouse), read_only=True)
    quality = dict(con.sql("SELECT indicator, value FROM meta.quality WHERE stage = 'link' "
                           "AND indicator LIKE 'review_%'").fetchall())
    con.close()
    assert quality["review_labelled_pairs"] == len(pairs)
    assert quality["review_precision"] == pytest.approx(expected_precision)
    assert quality["review_recall"] == pytest.approx(expected_recall)
    report = copy.linkage_report.read_text(encoding="utf-8")
    assert "Precision and recall against the threshold (clerical review)" in report
    assert f"Clerical review: {len(pairs)} labelled pairs" in report
