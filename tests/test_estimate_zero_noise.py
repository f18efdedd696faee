"""With error-free identifiers and every crossing recorded, the full chain ingest -> link
-> estimate gives exactly the truth's settled migrations, year by year."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from regmig.config import Config
from regmig.estimators.stage import estimate
from regmig.ingest.stage import ingest_folder
from regmig.linkage.stage import link
from regmig.warehouse.paths import RunPaths


@pytest.fixture(scope="module")
def zero_noise_estimated(zero_noise_delivery: Path, tmp_path_factory) -> RunPaths:
    paths = RunPaths(tmp_path_factory.mktemp("zero_noise") / "run")
    config = Config()
    ingest_folder(paths, config, zero_noise_delivery, "zero-ingest")
    link(paths, config, "zero-link")
    estimate(paths, config, "zero-estimate")
    return paths


def _by_year(events: pl.DataFrame) -> pl.DataFrame:
    return (events.group_by(pl.col("event_date").dt.year().alias("year"), "kind")
            .agg(n=pl.len()).sort("year", "kind"))


@pytest.mark.slow
def test_final_flows_equal_the_truth_exactly(zero_noise_estimated: RunPaths,
                                             zero_noise_delivery: Path) -> None:
    con = duckdb.connect(str(zero_noise_estimated.warehouse), read_only=True)
    try:
        mine = con.sql(
            "SELECT person_id, event_date, kind FROM derived.migration_events "
            "WHERE status = 'final'").pl()
        person_of_record = con.sql(
            "SELECT m.record_id, m.person_id FROM core.person_map m "
            "WHERE m.source = 'border_crossings'").pl()
    finally:
        con.close()
    truth = pl.read_parquet(zero_noise_delivery / "truth" / "migration_events.parquet")
    settled = truth.filter("decided_by_data_end")
    assert settled.height > 50
    assert _by_year(mine).to_dicts() == _by_year(settled).to_dicts()
    # The same moves, not only the same counts: map linked persons to true persons.
    records = pl.read_parquet(zero_noise_delivery / "truth" / "record_person.parquet")
    true_of = person_of_record.join(
        records.filter(pl.col("source") == "border_crossings"), on="record_id",
        suffix="_true").select("person_id", "person_id_true").unique()
    assert true_of["person_id"].n_unique() == true_of.height  # one true person each
    moved = mine.join(true_of, on="person_id").select(
        person_id="person_id_true", event_date="event_date", kind="kind")
    assert moved.sort(pl.all()).equals(
        settled.select("person_id", "event_date", "kind").sort(pl.all()))
