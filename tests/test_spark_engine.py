"""The Spark path (`engine = "spark"`): the same methodology on Splink's Spark backend and
on Spark SQL, in pyspark's local mode, against the DuckDB runs the suite already makes.

- Linkage: the sample's linked run, linked again on Spark (the model trained there, pairs
  scored and clustered there), maps at least 99.9% of records alike; so does the
  Spark-trained model rebuilt for DuckDB from the one definition.
- Tabulation: the estimate stage on Spark writes the same derived and stats tables as
  on DuckDB, and the publish stage's populations and cubes on Spark hold the same cells.

One Spark session serves the whole test session (Spark keeps one per process).
"""

from __future__ import annotations

import dataclasses
import shutil

import duckdb
import pytest

from regmig.config import Config, SparkConfig
from regmig.warehouse.paths import RunPaths

pytestmark = pytest.mark.slow

#: Small enough for CI's two cores: Spark in local mode, few shuffle partitions.
TEST_SPARK = SparkConfig(master="local[2]", driver_memory="2g", shuffle_partitions=2)


def on_spark(config: Config) -> Config:
    return dataclasses.replace(config, engine="spark", spark=TEST_SPARK)


def _copy(run: RunPaths, target) -> RunPaths:
    shutil.copytree(run.out, target)
    return RunPaths(target)


def _compare(left: RunPaths, right: RunPaths, tables: list[str]) -> dict[str, tuple[int, int]]:
    """Per table: (rows, rows that differ either way), run_id left out."""
    from regmig.warehouse.connection import open_warehouse

    frames = {}
    for side, run in (("left", left), ("right", right)):
        con = open_warehouse(run, read_only=True)
        try:
            frames[side] = {t: con.sql(f"SELECT * EXCLUDE (run_id) FROM {t}").pl()
                            for t in tables}
        finally:
            con.close()
    out = {}
    for table in tables:
        a, b = frames["left"][table], frames["right"][table]
        differ = (a.join(b, on=a.columns, how="anti", nulls_equal=True).height
                  + b.join(a, on=a.columns, how="anti", nulls_equal=True).height
                  + abs(a.height - b.height))
        out[table] = (a.height, differ)
    return out


@pytest.fixture(scope="session")
def spark_linked_run(linked_run, tmp_path_factory) -> RunPaths:
    """A copy of the sample's linked run, linked again with engine = "spark": the model
    trained on Spark (training samples a tenth of the default pairs: CI's two cores, not
    the method), pairs scored and clustered there."""
    from regmig.linkage.stage import link

    paths = _copy(linked_run, tmp_path_factory.mktemp("spark-linked") / "run")
    config = on_spark(Config())
    config = dataclasses.replace(config, linkage=dataclasses.replace(
        config.linkage, retrain=True, u_max_pairs=200_000, em_max_pairs=200_000))
    summary = link(paths, config, "test-spark-link")
    assert summary.retrained and "m by EM on: document" in summary.trained_on
    return paths


def _mapped_alike(duckdb_run: RunPaths, other_run: RunPaths, run_id: str) -> float:
    """Share of records whose person is the same in both runs; checks on the way that
    both map every record and agree on the persons' count within 0.1%."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{duckdb_run.warehouse}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{other_run.warehouse}' AS b (READ_ONLY)")
    # Person ids carry over (the second run starts from the first one's person_map), so
    # a record is mapped alike when it keeps its person id.
    records, alike = con.sql("""
        SELECT count(*), count(*) FILTER (WHERE a.person_id = b.person_id)
        FROM a.core.person_map AS a JOIN b.core.person_map AS b USING (source, record_id)
    """).fetchall()[0]
    assert records == con.sql("SELECT count(*) FROM a.core.person_map").fetchall()[0][0]
    persons = [con.sql(f"SELECT count(*) FROM {db}.core.persons").fetchall()[0][0]
               for db in ("a", "b")]
    assert abs(persons[0] - persons[1]) <= 0.001 * persons[0]
    con.close()
    return alike / records


def _engine_of(run: RunPaths, run_id: str) -> list[tuple[str]]:
    with duckdb.connect(str(run.warehouse), read_only=True) as con:
        return con.sql("SELECT detail FROM meta.quality WHERE indicator = 'linkage_engine' "
                       f"AND run_id = '{run_id}'").fetchall()


def test_spark_links_the_sample_to_the_same_persons(linked_run, spark_linked_run):
    assert _engine_of(spark_linked_run, "test-spark-link") == [("Splink ran on spark",)]
    assert _mapped_alike(linked_run, spark_linked_run, "test-spark-link") >= 0.999


def test_a_model_stored_by_spark_links_alike_on_duckdb(linked_run, spark_linked_run,
                                                      tmp_path):
    """The Spark-trained model (Spark SQL in its JSON) rebuilt for DuckDB from the one
    definition with its parameters."""
    from regmig.linkage.stage import link
    from regmig.linkage.training import latest_model

    paths = _copy(spark_linked_run, tmp_path / "run")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert latest_model(con)[1]["sql_dialect"] == "spark"
    link(paths, Config(), "test-duckdb-link")
    assert _engine_of(paths, "test-duckdb-link") == [("Splink ran on duckdb",)]
    assert _mapped_alike(linked_run, paths, "test-duckdb-link") >= 0.999


def test_a_stored_model_is_rebuilt_for_the_other_dialect(linked_run):
    """DuckDB's stored model for Spark: the same comparisons and levels with the same
    trained parameters, in Spark's SQL."""
    from regmig.linkage.training import for_engine, latest_model

    with duckdb.connect(str(linked_run.warehouse), read_only=True) as con:
        stored = latest_model(con)[1]
    rebuilt = for_engine(stored, "spark")
    assert rebuilt["sql_dialect"] == "spark"
    assert rebuilt["probability_two_random_records_match"] == stored[
        "probability_two_random_records_match"]
    sql = {"duckdb": [], "spark": []}
    for old, new in zip(stored["comparisons"], rebuilt["comparisons"], strict=True):
        assert old["output_column_name"] == new["output_column_name"]
        for a, b in zip(old["comparison_levels"], new["comparison_levels"], strict=True):
            assert (a.get("m_probability"), a.get("u_probability")) == (
                b.get("m_probability"), b.get("u_probability"))
            sql["duckdb"].append(a["sql_condition"])
            sql["spark"].append(b["sql_condition"])
    assert any("jaro_winkler_similarity(" in c for c in sql["duckdb"])
    assert not any("jaro_winkler_similarity(" in c for c in sql["spark"])
    assert any("jaro_winkler(" in c for c in sql["spark"])
    assert any("arrays_overlap(" in c for c in sql["spark"])


def test_spark_tabulates_the_same_flows_and_stocks(published_run, tmp_path):
    """Estimate on Spark writes the DuckDB run's derived and stats tables; publish's
    populations and cubes on Spark hold the same cells (disclosure control, which runs
    on the driver whatever the engine, is not run twice)."""
    from datetime import date

    import polars as pl
    from fixtures.publish import SAMPLE_LAST_COMPLETE_YEAR, publish_config

    from regmig.estimators.stage import estimate
    from regmig.publish.stage import all_specs
    from regmig.publish.tables.cube import tabulate
    from regmig.publish.tables.populations import Reference, build_populations
    from regmig.schemas.tables import derived as derived_tables
    from regmig.schemas.tables import stats as stats_tables
    from regmig.warehouse.connection import open_warehouse
    from regmig.warehouse.sql_engines import sql_engine

    paths = _copy(published_run, tmp_path / "run")
    config = on_spark(publish_config())
    estimate(paths, config, "test-spark-estimate")
    compared = _compare(published_run, paths, [
        t.qualified for t in derived_tables.TABLES + stats_tables.TABLES])
    assert {"derived.migration_events", "derived.resident_stock",
            "stats.migration_totals"} <= set(compared)
    assert sum(rows for rows, _ in compared.values()) > 10_000
    assert {table: differ for table, (_, differ) in compared.items() if differ} == {}

    year = SAMPLE_LAST_COMPLETE_YEAR
    ref = Reference(year, date(year, 1, 1))
    con = open_warehouse(paths)
    try:
        cubes = {}
        for engine in ("duckdb", "spark"):
            sql = sql_engine(dataclasses.replace(config, engine=engine), con, paths)
            populations = build_populations(sql, config, ref)
            cubes[engine] = (populations, {spec.table_id: tabulate(sql, spec)
                                           for spec in all_specs(sql, config)})
    finally:
        con.close()
    assert cubes["spark"][0] == cubes["duckdb"][0]
    assert cubes["duckdb"][0]["immigrants"] > 0 and cubes["duckdb"][0]["stock"] > 0
    tables = cubes["duckdb"][1]
    assert set(cubes["spark"][1]) == set(tables) and len(tables) > 20
    for table_id, cells in tables.items():
        other = cubes["spark"][1][table_id]
        order = [c for c in cells.columns if c not in ("value", "released")]
        assert other.sort(order).equals(cells.sort(order)), table_id
    assert sum(int(c["value"].sum()) for c in tables.values()) > 10_000
    assert pl.concat([c.select("value") for c in tables.values()])["value"].max() > 0
    # The tables were read on Spark: the engine wrote them out for it.
    assert (paths.out / "spark_warehouse" / "derived" / "migration_events").is_dir()


def test_the_engine_is_a_setting_and_an_option():
    from regmig.errors import RegmigError
    from regmig.flows.run_settings import build_config

    assert build_config().engine == "duckdb"
    assert build_config(engine="spark").engine == "spark"
    with pytest.raises(RegmigError, match="expected duckdb or spark"):
        build_config(engine="polars")
