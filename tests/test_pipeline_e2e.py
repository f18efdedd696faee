"""End to end through the pipeline flow on the sample: the numbers agree with the
sample's truth, the release passes its audit, every row is traceable to its run, and the
run report shows it all without a network."""

import hashlib
import json
import re
from importlib import metadata
from pathlib import Path

import polars as pl
import pytest

from regmig.config import Config
from regmig.warehouse.catalog import column_names, table_names
from regmig.warehouse.connection import open_warehouse

#: The issue's bar: immigration and emigration within 1% of the truth.
TOLERANCE = 0.01
#: The sample has 80-130 decided events per year and kind, so 1% is about one event: a
#: year-kind cell may be off by two (unrecorded last crossings that no evidence in the
#: warehouse can place: a resident's return, a visitor's departure). 1% per year is
#: asserted at 30,000 persons in tests/test_estimate_flows_accuracy.py.
SMALL_CELL_EVENTS = 2
STAGES = ("ingest", "link", "estimate", "publish")


@pytest.fixture(scope="module")
def warehouse(pipeline_run):
    con = open_warehouse(pipeline_run.paths, read_only=True)
    yield con
    con.close()


def test_flows_within_one_percent_of_the_truth(warehouse, sample_delivery: Path):
    truth = (
        pl.read_parquet(sample_delivery / "truth" / "migration_events.parquet")
        .filter(pl.col("decided_by_data_end"))
        .group_by(pl.col("event_date").dt.year().alias("year"), "kind")
        .agg(pl.len().alias("truth"))
    )
    estimated = warehouse.sql(
        "SELECT year(event_date)::INTEGER AS year, kind, count(*) AS estimated "
        "FROM derived.migration_events WHERE status = 'final' GROUP BY ALL"
    ).pl()
    both = truth.join(estimated, on=["year", "kind"], how="full", coalesce=True).fill_null(0)
    assert set(both["kind"]) == {"immigration", "emigration"}
    totals = both.group_by("kind").agg(pl.col("truth", "estimated").sum())
    off_total = totals.filter(
        (pl.col("estimated") - pl.col("truth")).abs() > TOLERANCE * pl.col("truth")
    )
    assert off_total.is_empty(), f"totals more than 1% from the truth:\n{totals}"
    off_year = both.filter(
        (pl.col("estimated") - pl.col("truth")).abs()
        > pl.max_horizontal(TOLERANCE * pl.col("truth"), pl.lit(SMALL_CELL_EVENTS))
    )
    assert off_year.is_empty(), f"a year is off the truth:\n{both.sort('year', 'kind')}"


def test_release_passes_its_audit(warehouse, pipeline_run):
    threshold = Config().disclosure.threshold
    audited, exposed = warehouse.execute(
        "SELECT count(*), count(*) FILTER (WHERE NOT ok OR width < ?) "
        "FROM stats.disclosure_audit", [threshold],
    ).fetchall()[0]
    assert audited > 0 and exposed == 0
    files = [p for p in pipeline_run.paths.release.rglob("*") if p.is_file()]
    assert any(p.suffix == ".csv" for p in files) and any(p.suffix == ".xlsx" for p in files)


def test_meta_runs_records_every_stage(warehouse, pipeline_run, sample_delivery: Path):
    rows = warehouse.execute(
        "SELECT stage, status, flow_run_id, parameters, package_versions, input_hashes, "
        "row_counts, timings FROM meta.runs WHERE run_id = ?", [pipeline_run.run_id],
    ).fetchall()
    runs = {r[0]: r for r in rows}
    assert set(runs) == {"pipeline", *STAGES}
    for stage, status, flow_run_id, parameters, versions, _hashes, counts, timings in rows:
        assert status == "completed", stage
        assert re.fullmatch(r"[0-9a-f-]{36}", flow_run_id or ""), stage
        assert json.loads(parameters)["config"]["estimate"]["rule"]["window_days"] == 487
        assert json.loads(versions)["prefect"] == metadata.version("prefect")
        assert json.loads(counts), stage
        assert json.loads(timings)["total"] > 0, stage
    assert len({r[2] for r in rows}) == len(rows)  # each stage is its own flow run
    delivered = {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sample_delivery.glob("*.csv")
    }
    assert json.loads(runs["ingest"][5]) == delivered
    for stage in ("link", "estimate"):
        assert "raw.border_crossings" in json.loads(runs[stage][5])
    pipeline_counts = json.loads(runs["pipeline"][6])
    assert pipeline_counts["ingest.rows_loaded"] == warehouse.sql(
        "SELECT (SELECT count(*) FROM raw.border_crossings) + "
        "(SELECT count(*) FROM raw.population_register) + (SELECT count(*) FROM raw.permits)"
    ).fetchall()[0][0]


def test_every_derived_row_carries_its_run(warehouse, pipeline_run):
    tables = [t for t in table_names(warehouse, ["core", "derived", "stats"])
              if "run_id" in column_names(warehouse, t)]
    checked = 0
    for table in tables:
        run_ids = {r[0] for r in warehouse.sql(f"SELECT DISTINCT run_id FROM {table}").fetchall()}
        assert run_ids <= {pipeline_run.run_id}, table
        checked += bool(run_ids)
    assert checked >= 8


def test_run_reports_are_self_contained(pipeline_run):
    """Nothing to fetch: scripts inline (the Vega libraries included), no external
    stylesheets, images or fonts. tests/test_reports.py checks what a browser draws."""
    for page in (pipeline_run.paths.report, pipeline_run.paths.linkage_report):
        html = page.read_text(encoding="utf-8")
        assert "vegaEmbed(" in html and "<script src" not in html and "<link" not in html
        assert not re.search(r"""<[^>]+(src|href)\s*=\s*["']?(https?:)?//""", html)
