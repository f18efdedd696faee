"""Release vintages and stats.revisions: every release kept, release/ the latest, every
published figure in every vintage with its lag and revision."""

import json
import os
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from regmig.errors import RegmigError
from regmig.publish import revisions, vintages
from regmig.schemas.table_spec import create_tables
from regmig.schemas.tables.stats import MIGRATION_TOTALS
from regmig.warehouse.connection import open_warehouse
from regmig.warehouse.paths import RunPaths


def _release(paths: RunPaths, name: str, run_id: str) -> Path:
    folder = vintages.new_vintage_folder(paths, name)
    folder.mkdir()
    (folder / "metadata.json").write_text(json.dumps({"release": {"run_id": run_id}}))
    return folder


def test_release_points_to_the_latest_vintage_and_none_is_overwritten(tmp_path):
    paths = RunPaths(tmp_path)
    first = _release(paths, vintages.vintage_name(date(2024, 1, 31), "r1"), "r1")
    vintages.point_latest(paths, first)
    second = _release(paths, vintages.vintage_name(date(2024, 2, 29), "r2"), "r2")
    vintages.point_latest(paths, second)
    assert paths.release.is_symlink()
    assert os.readlink(paths.release) == os.path.join("releases", "2024-02-29_r2")
    assert json.loads((paths.release / "metadata.json").read_text())["release"]["run_id"] \
        == "r2"
    assert sorted(p.name for p in paths.releases.iterdir()) == ["2024-01-31_r1",
                                                                 "2024-02-29_r2"]
    assert vintages.latest_vintage(paths) == "2024-02-29_r2"
    with pytest.raises(RegmigError, match="never overwritten"):
        vintages.new_vintage_folder(paths, "2024-02-29_r2")


def test_a_plain_release_folder_is_kept_as_a_vintage(tmp_path):
    """A release/ written before vintages existed becomes a vintage; a plain copy of a
    kept vintage (a run folder copied by following links) is not kept twice."""
    paths = RunPaths(tmp_path)
    paths.release.mkdir()
    (paths.release / "metadata.json").write_text(json.dumps({"release": {"run_id": "old"}}))
    new = _release(paths, "2024-03-31_r3", "r3")
    vintages.point_latest(paths, new)
    assert sorted(p.name for p in paths.releases.iterdir()) == ["2024-03-31_r3",
                                                                 "unversioned_old"]
    os.unlink(paths.release)
    paths.release.mkdir()  # a copy of the vintage r3
    (paths.release / "metadata.json").write_text(json.dumps({"release": {"run_id": "r3"}}))
    newer = _release(paths, "2024-04-30_r4", "r4")
    vintages.point_latest(paths, newer)
    assert sorted(p.name for p in paths.releases.iterdir()) == [
        "2024-03-31_r3", "2024-04-30_r4", "unversioned_old"]


def _totals(con: duckdb.DuckDBPyConnection, figures: dict[tuple[int, str], float]) -> None:
    create_tables(con, [MIGRATION_TOTALS])
    con.execute(f"DELETE FROM {MIGRATION_TOTALS.qualified}")
    for (year, kind), estimate in figures.items():
        con.execute(f"INSERT INTO {MIGRATION_TOTALS.qualified} (year, kind, final, "
                    "provisional_expected, estimate, lower, upper, rule) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, '12/16')",
                    [year, kind, int(estimate) - 10, 10.0, estimate, estimate - 5,
                     estimate + 5])


def test_revisions_hold_each_figure_of_each_vintage_with_lag_and_revision(tmp_path):
    con = open_warehouse(RunPaths(tmp_path))
    vintages_made = [  # (data end, 2023 immigration, 2024 immigration)
        (date(2024, 11, 30), 100.0, 90.0),
        (date(2024, 12, 31), 104.0, 95.0),
        (date(2025, 1, 31), 106.0, 101.0),
        (date(2025, 3, 31), 108.0, 104.0),
    ]
    for i, (end, y2023, y2024) in enumerate(vintages_made):
        _totals(con, {(2023, "immigration"): y2023, (2024, "immigration"): y2024,
                      (2025, "immigration"): 7.0})
        revisions.record_vintage(con, f"v{i}", end, datetime(2025, 4, 1, 0, i), f"r{i}",
                                 "publish")
    rows = con.sql("SELECT vintage, period, lag_months, estimate, previous_estimate, "
                   "revision FROM stats.revisions ORDER BY period, vintage").pl()
    # 2025 is not over in any vintage, 2024 only from the second on
    assert rows.filter(pl.col("period") == "2025").height == 0
    assert rows.filter(pl.col("period") == "2024").rows() == [
        ("v1", "2024", 0, 95.0, None, None),
        ("v2", "2024", 1, 101.0, 95.0, 6.0),
        ("v3", "2024", 3, 104.0, 101.0, 3.0),
    ]
    assert rows.filter(pl.col("period") == "2023")["lag_months"].to_list() == [11, 12, 13, 15]
    by_lag = {r["lag_months"]: r for r in revisions.mean_absolute_revision(con).to_dicts()}
    # against the latest vintage: 2024 at lag 0 is 9 off, at lag 1 3 off; 2023 at lag 11 8
    assert by_lag[0]["mean_abs_revision"] == 9.0
    assert by_lag[1]["mean_abs_revision"] == 3.0
    assert by_lag[11]["mean_abs_revision"] == 8.0
    assert by_lag[0]["mean_abs_relative_revision"] == pytest.approx(9 / 104)
    assert 15 not in by_lag and 3 not in by_lag  # the latest figures themselves
    indicators = con.sql("SELECT DISTINCT indicator FROM meta.quality "
                         "WHERE run_id = 'r3'").fetchall()
    assert sorted(indicators) == [("mean_abs_relative_revision",), ("mean_abs_revision",)]
    con.close()
