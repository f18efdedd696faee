"""`regmig demo`: progress per stage, and a closing summary that agrees with the
warehouse and the sample's truth and ends with the path of the release."""

import stat

import duckdb
import polars as pl


def test_demo_prints_progress_for_every_stage(pipeline_run):
    for number, stage in enumerate(("ingest", "link", "estimate", "publish"), start=1):
        assert f"[{number}/4] {stage}: completed in " in pipeline_run.output


def test_demo_summary_counts_cases_and_persons(pipeline_run, sample_delivery):
    delivered = sum(pl.read_csv(path, infer_schema=False).height
                    for path in sample_delivery.glob("*.csv"))
    with duckdb.connect(str(pipeline_run.paths.warehouse), read_only=True) as con:
        rejected = con.sql("SELECT count(DISTINCT (load_id, row_number)) FROM raw.rejected"
                           ).fetchall()[0][0]
        persons = con.sql("SELECT count(*) FROM core.persons").fetchall()[0][0]
    assert f"Cases: {delivered - rejected:,} records" in pipeline_run.output
    assert f"Persons: {persons:,} after linkage" in pipeline_run.output


def test_demo_summary_shows_the_truth(pipeline_run, sample_delivery):
    truth = (
        pl.read_parquet(sample_delivery / "truth" / "migration_events.parquet")
        .group_by(pl.col("event_date").dt.year().alias("year"), "kind")
        .agg(pl.col("decided_by_data_end").sum().alias("decided"), pl.len().alias("all"))
    )
    rows = {
        (int(fields[0]), fields[1]): fields
        for fields in (line.split() for line in pipeline_run.output.splitlines())
        if len(fields) in (8, 9) and fields[0].isdigit()
    }
    assert len(rows) == truth.height
    for year, kind, decided, everything in truth.iter_rows():
        shown = rows[(year, kind)]
        assert int(shown[3].replace(",", "")) == decided
        assert int(shown[-1].replace(",", "")) == everything


def test_demo_ends_with_the_release_and_keeps_its_key_private(pipeline_run):
    last = pipeline_run.output.strip().splitlines()[-1]
    assert last == f"Release: {pipeline_run.paths.release}"
    assert any(pipeline_run.paths.release.rglob("*.csv"))
    assert f"Run report: {pipeline_run.paths.report}" in pipeline_run.output
    assert "cells suppressed" in pipeline_run.output
    key = pipeline_run.out_dir / "pseudonym.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
