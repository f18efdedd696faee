"""Skip-when-unchanged: content hashes of the tables a stage reads, and when an earlier
run's results may stand for a new run (real DuckDB files, no Prefect needed)."""

import json
from pathlib import Path

import duckdb
import pytest

from regmig.config import Config, LinkageConfig
from regmig.flows.stage_cache import LINK, PROVENANCE_COLUMNS, StageCache
from regmig.warehouse.connection import open_identifiers, open_warehouse
from regmig.warehouse.hashes import table_hash
from regmig.warehouse.paths import RunPaths
from regmig.warehouse.runs import RunRecord, close_interrupted_runs, recorded_run

#: A toy stage: reads raw.permits, writes core.persons and files in release/.
TOY = StageCache(stage="link", warehouse_inputs=("raw.permits",), identifier_inputs=(),
                 outputs=("core.persons",), output_folder=lambda paths: paths.release,
                 settings=lambda config, _: {"threshold": config.linkage.cluster_threshold})


@pytest.fixture
def warehouse(tmp_path: Path):
    paths = RunPaths(tmp_path)
    con = open_warehouse(paths)
    open_identifiers(paths).close()
    con.execute("INSERT INTO raw.permits (load_id, row_number, record_id, permit_id, "
                "permit_type) VALUES (1, 1, 'p1', 'A', 'work'), (1, 2, 'p2', 'B', 'study')")
    yield paths, con
    con.close()


def _write_outputs(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    release = Path(con.sql("SELECT path FROM duckdb_databases() "
                           "WHERE database_name = current_database()")
                   .fetchall()[0][0]).parent / "release"
    (release / "csv").mkdir(parents=True, exist_ok=True)
    (release / "csv" / "table.csv").write_text("cell,value\na,5\n")
    con.execute("DELETE FROM core.persons")
    con.execute("INSERT INTO core.persons (person_id, sex, run_id) VALUES (1, 'F', ?), "
                "(2, 'M', ?)", [run_id, run_id])


def _complete(con, paths, run_id: str, config: Config) -> dict[str, str]:
    inputs = TOY.input_hashes(con, paths, config, {})
    with recorded_run(con, RunRecord(run_id, "link")) as record:
        _write_outputs(con, run_id)
        record.input_hashes = inputs
        record.parameters["outputs_hash"] = TOY.outputs_hash(con, paths)
    return inputs


def _reusable(con, paths, config: Config) -> str | None:
    return TOY.reusable_run(con, paths, TOY.input_hashes(con, paths, config, {}))


def test_hash_ignores_provenance_but_not_content(warehouse):
    _, con = warehouse
    before = table_hash(con, ["raw.permits"], PROVENANCE_COLUMNS)
    con.execute("UPDATE raw.permits SET load_id = 7")  # reloaded: same rows, new load
    assert table_hash(con, ["raw.permits"], PROVENANCE_COLUMNS) == before
    con.execute("UPDATE raw.permits SET permit_type = 'family' WHERE record_id = 'p2'")
    assert table_hash(con, ["raw.permits"], PROVENANCE_COLUMNS) != before


def test_unchanged_inputs_reuse_the_last_run(warehouse):
    paths, con = warehouse
    config = Config()
    inputs = _complete(con, paths, "run-1", config)
    assert _reusable(con, paths, config) == "run-1"
    assert TOY.input_hashes(con, paths, config, {}) == inputs


def test_changed_input_setting_or_damaged_output_runs_again(warehouse):
    paths, con = warehouse
    config = Config()
    _complete(con, paths, "run-1", config)

    changed_settings = Config(linkage=LinkageConfig(cluster_threshold=0.99))
    assert _reusable(con, paths, changed_settings) is None

    con.execute("DELETE FROM core.persons WHERE person_id = 2")  # outputs no longer intact
    assert _reusable(con, paths, config) is None
    _write_outputs(con, "run-1")
    assert _reusable(con, paths, config) == "run-1"

    (paths.release / "csv" / "table.csv").write_text("cell,value\na,6\n")  # edited file
    assert _reusable(con, paths, config) is None
    _write_outputs(con, "run-1")

    con.execute("INSERT INTO raw.permits (load_id, row_number, record_id, permit_id, "
                "permit_type) VALUES (2, 1, 'p3', 'C', 'work')")
    assert _reusable(con, paths, config) is None


def test_a_skip_points_at_the_run_that_made_the_rows(warehouse):
    paths, con = warehouse
    config = Config()
    inputs = _complete(con, paths, "run-1", config)
    with recorded_run(con, RunRecord("run-2", "link")) as record:
        record.status = "skipped"
        record.input_hashes = inputs
        record.parameters |= {"reused_run_id": "run-1",
                              "outputs_hash": TOY.outputs_hash(con, paths)}
    assert TOY.reusable_run(con, paths, inputs) == "run-1"
    stored = con.sql("SELECT status, parameters FROM meta.runs WHERE run_id = 'run-2'").fetchall()
    assert stored[0][0] == "skipped" and json.loads(stored[0][1])["reused_run_id"] == "run-1"


def test_link_inputs_include_the_identifiers(warehouse):
    paths, con = warehouse
    before = LINK.input_hashes(con, paths, Config(), {})
    ident = open_identifiers(paths)
    ident.execute("INSERT INTO ident.records (source, load_id, record_id, surname) "
                  "VALUES ('permits', 1, 'p1', 'Petrosyan')")
    ident.close()
    after = LINK.input_hashes(con, paths, Config(), {})
    assert after["ident.records"] != before["ident.records"]
    assert {k: v for k, v in after.items() if k != "ident.records"} == {
        k: v for k, v in before.items() if k != "ident.records"}


def test_runs_left_running_by_a_kill_are_closed(warehouse):
    _, con = warehouse
    con.execute("INSERT INTO meta.runs (run_id, stage, status) VALUES ('dead', 'estimate', "
                "'running'), ('done', 'link', 'completed')")
    assert close_interrupted_runs(con) == 1
    assert dict(con.sql("SELECT run_id, status FROM meta.runs").fetchall()) == {
        "dead": "failed", "done": "completed"}


def test_new_code_runs_again(warehouse, tmp_path, monkeypatch):
    """An upgrade or a fix of the stage's code re-runs it on unchanged inputs."""
    from regmig.flows import stage_cache

    package = tmp_path / "package"
    (package / "stage").mkdir(parents=True)
    (package / "config.py").write_text("X = 1\n")
    (package / "stage" / "rule.py").write_text("V = 365\n")
    monkeypatch.setattr(stage_cache, "PACKAGE_ROOT", package)
    coded = StageCache(stage="link", warehouse_inputs=("raw.permits",), identifier_inputs=(),
                       outputs=("core.persons",), code=("stage",))
    paths, con = warehouse
    with recorded_run(con, RunRecord("run-1", "link")) as record:
        _write_outputs(con, "run-1")
        record.input_hashes = coded.input_hashes(con, paths, Config(), {})
        record.parameters["outputs_hash"] = coded.outputs_hash(con, paths)
    assert coded.reusable_run(con, paths, coded.input_hashes(con, paths, Config(), {})) == "run-1"
    (package / "stage" / "rule.py").write_text("V = 274\n")
    assert coded.reusable_run(con, paths, coded.input_hashes(con, paths, Config(), {})) is None
