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


def _totals(con: duckdb.DuckDBPyConnection, figures: dict[tuple[str, date], float]) -> None:
    """The canonical table with immigration totals (period, its first day) -> published."""
    create_tables(con, [MIGRATION_TOTALS])
    con.execute(f"DELETE FROM {MIGRATION_TOTALS.qualified}")
    for (period, start), published in figures.items():
        end = {"year": date(start.year, 12, 31),
               "month": (pl.Series([start]).dt.month_end()[0])}[period]
        con.execute(f"INSERT INTO {MIGRATION_TOTALS.qualified} (period, period_start, "
                    "period_end, year, kind, breakdown, category, final, published, "
                    "estimate, lower, upper, status, rule) VALUES (?, ?, ?, ?, "
                    "'immigration', 'total', 'TOTAL', ?, ?, ?, ?, ?, 'provisional', '12/16')",
                    [period, start, end, start.year, int(published) - 10, int(published),
                     published + 0.4, published - 5, published + 5])


def test_revisions_hold_each_figure_of_each_vintage_with_lag_and_revision(tmp_path):
    con = open_warehouse(RunPaths(tmp_path))
    y2023, y2024, y2025 = date(2023, 1, 1), date(2024, 1, 1), date(2025, 1, 1)
    nov, jan = date(2024, 11, 1), date(2025, 1, 1)
    y, m = "year", "month"
    vintages_made = [  # data end, then the published figures
        (date(2024, 11, 30), {(y, y2023): 100, (y, y2024): 90, (m, nov): 8}),
        (date(2024, 12, 31), {(y, y2023): 104, (y, y2024): 95, (m, nov): 9}),
        (date(2025, 1, 31), {(y, y2023): 106, (y, y2024): 101, (m, nov): 10, (m, jan): 7}),
        (date(2025, 3, 31), {(y, y2023): 108, (y, y2024): 104, (m, nov): 10, (m, jan): 9}),
    ]
    for i, (end, figures) in enumerate(vintages_made):
        _totals(con, figures | {(y, y2025): 7})  # a year not over yet
        revisions.record_vintage(con, f"v{i}", end, datetime(2025, 4, 1, 0, i), f"r{i}",
                                 "publish")
    rows = con.sql("SELECT vintage, period, period_start, lag_months, published, "
                   "previous_published, revision FROM stats.revisions "
                   "ORDER BY period, period_start, vintage").pl()
    years = rows.filter(pl.col("period") == "year")
    # 2025 is not over in any vintage, 2024 only from the second on
    assert years.filter(pl.col("period_start") == y2025).height == 0
    assert years.filter(pl.col("period_start") == y2024).drop("period", "period_start"
                                                             ).rows() == [
        ("v1", 0, 95, None, None),
        ("v2", 1, 101, 95, 6),
        ("v3", 3, 104, 101, 3),
    ]
    assert years.filter(pl.col("period_start") == y2023)["lag_months"].to_list() \
        == [11, 12, 13, 15]
    months = rows.filter(pl.col("period") == "month")
    assert months.filter(pl.col("period_start") == nov).select(
        "lag_months", "published", "revision").rows() == [
        (0, 8, None), (1, 9, 1), (2, 10, 1), (4, 10, 0)]
    by_lag = {(r["period"], r["lag_months"]): r
              for r in revisions.mean_absolute_revision(con).to_dicts()}
    # against the latest vintage: 2024 at lag 0 is 9 off, at lag 1 3 off; 2023 at lag 11
    # 8 off; November at lag 0 2 off and January 2025 at lag 0 2 off
    assert by_lag[("year", 0)]["mean_abs_revision"] == 9.0
    assert by_lag[("year", 1)]["mean_abs_revision"] == 3.0
    assert by_lag[("year", 11)]["mean_abs_revision"] == 8.0
    assert by_lag[("year", 0)]["mean_abs_relative_revision"] == pytest.approx(9 / 104)
    assert by_lag[("month", 0)]["mean_abs_revision"] == 2.0
    assert by_lag[("month", 0)]["figures"] == 2
    assert ("year", 15) not in by_lag and ("year", 3) not in by_lag  # the latest themselves
    indicators = con.sql("SELECT DISTINCT indicator FROM meta.quality "
                         "WHERE run_id = 'r3'").fetchall()
    assert sorted(indicators) == [("mean_abs_relative_revision",), ("mean_abs_revision",)]
    con.close()
