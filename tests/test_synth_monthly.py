"""`regmig synth --monthly`: monthly deliveries as the agencies send them, checked against
the single delivery of the same settings, and loaded month by month by ingest."""

import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from regmig.config import Config, MonthlyConfig, SynthConfig
from regmig.flows.cli import main
from regmig.flows.monthly import month_folders, pending_months
from regmig.ingest.stage import ingest_folder
from regmig.synth.generate import generate
from regmig.warehouse.connection import open_warehouse
from regmig.warehouse.paths import RunPaths

SOURCES = ("border_crossings", "population_register", "permits")
SETTINGS = SynthConfig(persons=400, seed=23, start_year=2024, end_year=2024)
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def monthly_delivery(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("monthly") / "deliveries"
    assert main(["synth", "--monthly", "--persons", str(SETTINGS.persons), "--seed",
                 str(SETTINGS.seed), "--start", "2024", "--end", "2024", "--out",
                 str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def single_delivery(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("single")
    generate(SETTINGS, out)
    return out


def versions(folder: Path, source: str) -> pl.DataFrame:
    """Every delivered row of a source, with the month folder it came in."""
    return pl.concat([
        pl.read_csv(path, infer_schema=False).with_columns(pl.lit(path.parent.name)
                                                           .alias("month"))
        for path in sorted(folder.glob(f"*/{source}_*.csv"))
    ])


def test_one_folder_per_month_and_the_truth_beside(monthly_delivery):
    assert sorted(p.name for p in monthly_delivery.iterdir()) == [*MONTHS, "truth"]
    for month in MONTHS:
        names = {p.name for p in (monthly_delivery / month).iterdir()}
        assert f"border_crossings_{month}.csv" in names
        assert names <= {f"{source}_{month}.csv" for source in SOURCES}
    assert (monthly_delivery / "truth" / "migration_events.parquet").is_file()


def test_last_version_of_each_record_is_the_single_delivery_row(monthly_delivery,
                                                                single_delivery):
    """Same population and records: the latest version of every record is the record of
    `regmig synth` with the same settings, except errors whose correction would arrive
    after the last month."""
    truth = pl.read_parquet(monthly_delivery / "truth" / "deliveries.parquet")
    for source in SOURCES:
        single = pl.read_csv(single_delivery / f"{source}.csv", infer_schema=False)
        delivered = versions(monthly_delivery, source)
        latest = delivered.sort("month").group_by("record_id").last().drop("month")
        assert latest.height == single.height
        last_in_error = truth.filter(pl.col("source") == source).sort("version").group_by(
            "record_id").last().filter(pl.col("error").is_not_null())["record_id"]
        assert last_in_error.len() < 0.005 * single.height
        differing = latest.join(single, on=single.columns, how="anti",
                                nulls_equal=True)["record_id"]
        assert set(differing) == set(last_in_error), source


def test_late_records_corrections_and_changes_come_as_new_versions(monthly_delivery):
    crossings = versions(monthly_delivery, "border_crossings")
    late = crossings.filter(pl.col("crossed_at").str.slice(0, 7) < pl.col("month"))
    share = late.height / crossings.height
    monthly = MonthlyConfig()
    assert 0.5 * monthly.late_crossing_share < share < 1.5 * monthly.late_crossing_share
    assert crossings.filter(pl.col("crossed_at").str.slice(0, 7) > pl.col("month")).height == 0
    twice = crossings.filter(pl.col("record_id").is_duplicated())
    assert twice.height > 0  # corrections
    register = versions(monthly_delivery, "population_register").sort("month")
    changed = register.filter(pl.col("record_id").is_duplicated()).group_by("record_id").agg(
        pl.col("deregistered_on").first().alias("before"),
        pl.col("deregistered_on").last().alias("after"))
    assert changed.filter(pl.col("before").is_null() & pl.col("after").is_not_null()).height > 0
    permits = versions(monthly_delivery, "permits").sort("month")
    decided = permits.filter(pl.col("record_id").is_duplicated()).group_by("record_id").agg(
        pl.col("decision").first().alias("before"), pl.col("decision").last().alias("after"),
        pl.col("month").first(), pl.col("decision_date").last())
    assert (decided["before"] == "pending").all()
    assert decided.filter(pl.col("after") != "pending").height > 0
    assert (decided["decision_date"].str.slice(0, 7) > decided["month"]).all()


def test_month_by_month_ingest_keeps_the_latest_version(monthly_delivery, tmp_path):
    paths = RunPaths(tmp_path / "run")
    for month in MONTHS:
        ingest_folder(paths, Config(), monthly_delivery / month, f"run-{month}")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        for source in SOURCES:
            delivered = versions(monthly_delivery, source)
            in_force, distinct = con.sql(
                f"SELECT count(*), count(DISTINCT record_id) FROM raw.{source}").fetchall()[0]
            (earlier,) = con.sql(f"SELECT count(*) FROM raw.{source}_superseded").fetchall()[0]
            assert in_force == distinct == delivered["record_id"].n_unique()
            assert earlier == delivered.height - in_force
    # the same month again: nothing is loaded twice
    summary = ingest_folder(paths, Config(), monthly_delivery / MONTHS[-1], "again")
    assert {r.status for r in summary.loads} == {"skipped_duplicate"}


def test_new_month_folders_are_those_with_files_not_loaded(monthly_delivery, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for month in MONTHS[:3]:
        shutil.copytree(monthly_delivery / month, inbox / month)
    assert month_folders(inbox / MONTHS[0]) == []  # a delivery folder itself
    assert [p.name for p in month_folders(inbox)] == MONTHS[:3]
    paths = RunPaths(tmp_path / "run")
    for month in MONTHS[:2]:
        ingest_folder(paths, Config(), inbox / month, f"run-{month}")
    con = open_warehouse(paths)
    try:
        assert [p.name for p in pending_months(con, month_folders(inbox))] == [MONTHS[2]]
        # a late file dropped into a month already loaded makes it new again
        late = inbox / MONTHS[0] / f"border_crossings_{MONTHS[0]}-late.csv"
        shutil.copy(monthly_delivery / MONTHS[3] / f"border_crossings_{MONTHS[3]}.csv", late)
        os.utime(late)
        assert [p.name for p in pending_months(con, month_folders(inbox))] == [MONTHS[0],
                                                                              MONTHS[2]]
    finally:
        con.close()
