"""The house: configuration, command line, warehouse contract."""

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from regmig.config import Config, ResidenceRule, load_config
from regmig.errors import RegmigError
from regmig.flows.cli import COMMANDS, main
from regmig.warehouse.connection import open_identifiers, open_warehouse
from regmig.warehouse.paths import RunPaths


def test_config_defaults_are_the_12_16_rule():
    config = Config()
    assert config.estimate.rule == ResidenceRule(365, 487)
    assert config.estimate.rule.label == "12/16"
    assert config.disclosure.threshold == 5


def test_config_file_overrides_and_rejects_typos(tmp_path: Path):
    good = tmp_path / "good.toml"
    good.write_text("[estimate.rule]\nthreshold_days = 274\nwindow_days = 365\n"
                    "[disclosure]\nthreshold = 10\n")
    config = load_config(good)
    assert config.estimate.rule == ResidenceRule(274, 365)
    assert config.disclosure.threshold == 10
    assert config.linkage == Config().linkage

    typo = tmp_path / "typo.toml"
    typo.write_text("[disclosure]\nthreshhold = 10\n")
    with pytest.raises(RegmigError, match="threshhold"):
        load_config(typo)

    wrong_type = tmp_path / "type.toml"
    wrong_type.write_text("[disclosure]\nthreshold = 'ten'\n")
    with pytest.raises(RegmigError, match="expected int"):
        load_config(wrong_type)


def test_every_warehouse_table_and_column_is_commented(tmp_path: Path):
    paths = RunPaths(tmp_path)
    open_warehouse(paths).close()
    open_identifiers(paths).close()
    for db in (paths.warehouse, paths.identifiers, paths.stats):
        with duckdb.connect(str(db), read_only=True) as con:
            tables = con.sql("SELECT table_name, comment FROM duckdb_tables()").fetchall()
            assert tables, db
            assert all(comment for _, comment in tables)
            uncommented = con.sql(
                "SELECT table_name, column_name FROM duckdb_columns() "
                "WHERE NOT internal AND (comment IS NULL OR comment = '')"
            ).fetchall()
            assert uncommented == []


def test_unprotected_aggregates_are_kept_out_of_the_analysts_file(tmp_path: Path):
    paths = RunPaths(tmp_path)
    with open_warehouse(paths) as con:
        con.execute("INSERT INTO stats.sensitivity (year, kind, final) "
                    "VALUES (2024, 'immigration', 3)")
    assert paths.stats.stat().st_mode & 0o077 == 0
    with duckdb.connect(str(paths.warehouse), read_only=True) as analyst:
        schemas = {r[0] for r in analyst.sql("SELECT schema_name FROM duckdb_schemas() "
                                             "WHERE database_name = 'warehouse'").fetchall()}
        assert "stats" not in schemas
    with duckdb.connect(str(paths.stats), read_only=True) as restricted:
        assert restricted.sql("SELECT final FROM sensitivity").fetchall() == [(3,)]
    with open_warehouse(paths, read_only=True) as con:
        assert con.sql("SELECT final FROM stats.sensitivity").fetchall() == [(3,)]


def test_warehouse_holds_no_identifier_columns(tmp_path: Path):
    paths = RunPaths(tmp_path)
    con = open_warehouse(paths)
    columns = {r[0] for r in con.sql("SELECT column_name FROM duckdb_columns()").fetchall()}
    assert not columns & {"given_name", "surname", "date_of_birth", "document_number",
                          "person_pin"}


@pytest.mark.parametrize("argv", [["no-such-command"], ["classify", "--bogus"]])
def test_cli_user_mistake_is_one_line_and_nonzero(argv, capsys):
    assert main(argv) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("regmig: error:")


def test_cli_lists_every_design_command():
    assert {"demo", "run", "ingest", "link", "estimate", "publish", "classify",
            "synth"} <= set(COMMANDS)


def test_installed_entry_point_reports_version():
    out = subprocess.run([Path(sys.executable).parent / "regmig", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("regmig ")
