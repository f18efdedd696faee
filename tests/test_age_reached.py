"""Age reached during the year (AGEDEF REACH) beside age in completed years (COMPLET).

Each unit's age reached is its completed age or one more, so a reader holding both
tables bounds the hidden cells of one from the other. The protector states that relation
for the family (publish/disclosure/family.py), the outsider's audit reads it from
metadata.json (publish/audit/release_files.py): a protection that ignores it is broken by
the audit that knows it, and the real pipeline's release withstands it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from regmig.config import Config
from regmig.errors import RegmigError
from regmig.publish import export
from regmig.publish.audit.deduce import deduce
from regmig.publish.audit.release_files import read_release
from regmig.publish.audit.verdict import audit_release
from regmig.publish.classifications import age_codes
from regmig.publish.disclosure.family import TableCells, build_family
from regmig.publish.disclosure.protect import protect
from regmig.publish.stage import assemble, protection, release_header
from regmig.publish.tables import dimensions as dims
from regmig.publish.tables.cube import TableSpec, tabulate
from regmig.publish.tables.eurostat import REACH_DATASETS, REACH_SUFFIX, reach_tables
from regmig.publish.tables.populations import Reference
from regmig.warehouse.connection import open_warehouse
from regmig.warehouse.sql_engines import DuckDBSql

YEAR = 2024


def _cumulative(frame: pl.DataFrame, age: str) -> pl.DataFrame:
    """Per sex, the count up to and including each single year (Y_LT1 .. Y_GE100)."""
    order = {code: i for i, code in enumerate(age_codes("single_year"))}
    return (frame.filter(pl.col(age).is_in(list(order)))
            .with_columns(pl.col(age).replace_strict(order, return_dtype=pl.Int64)
                          .alias("year"))
            .sort("sex", "year")
            .with_columns(pl.col("value").cum_sum().over("sex").alias("up_to"))
            .select("sex", "year", "up_to"))


@pytest.mark.parametrize("dataset", REACH_DATASETS)
def test_reach_tables_hold_the_definition(published_run, dataset):
    """Same units: the totals agree, and up to each age the count by age reached lies
    between the counts by completed age up to the year before and up to that age."""
    with open_warehouse(published_run, read_only=True) as con:
        complet = con.sql(f"SELECT * FROM stats.{dataset}").pl()
        reach = con.sql(f"SELECT * FROM stats.{dataset}{REACH_SUFFIX}").pl()
    total = pl.col("sex") == "T"
    assert reach.filter(total & (pl.col("age_reached") == "TOTAL"))["value"].item() == \
        complet.filter(total & (pl.col("age") == "TOTAL"))["value"].item() > 0
    both = _cumulative(reach, "age_reached").join(
        _cumulative(complet, "age").rename({"up_to": "completed"}), on=["sex", "year"])
    before = both.with_columns(pl.col("completed").shift(1, fill_value=0).over("sex")
                               .alias("completed_before"))
    assert (before["completed_before"] <= before["up_to"]).all()
    assert (before["up_to"] <= before["completed"]).all()
    # Some birthdays fall after the migration: the two tables are not the same table.
    assert (before["up_to"] < before["completed"]).any()


def test_sdmx_holds_both_age_definitions(published_run):
    for dataset in REACH_DATASETS:
        sdmx = pl.read_csv(published_run.release / "sdmx" / f"{dataset}.csv",
                           infer_schema=False)
        rows = sdmx.group_by("agedef").len()
        assert dict(rows.iter_rows()) == {"COMPLET": sdmx.height // 2,
                                          "REACH": sdmx.height // 2}
        published = pl.read_csv(published_run.release / "csv" / f"{dataset}{REACH_SUFFIX}.csv",
                                infer_schema=False)
        reach = sdmx.filter(pl.col("agedef") == "REACH")
        assert reach.height == published.height
        assert (reach["OBS_VALUE"].is_null().sum() == (published["obs_status"] != "").sum())


def test_metadata_states_the_relation_as_data(published_run):
    meta = {t["table_id"]: t for t in json.loads(
        (published_run.release / "metadata.json").read_text())["tables"]}
    for dataset in REACH_DATASETS:
        rule, = (r for r in meta[dataset + REACH_SUFFIX]["rules"]
                 if r["kind"] == "age_reached")
        assert rule["table"] == dataset and rule["completed"] == "age"
        assert rule["reached"] == "age_reached" and rule["unchanged"] == ["UNK"]
        spans = {a["code"]: (a["first"], a["last"]) for a in rule["ages"]}
        assert spans["Y_LT1"] == (0, 0) and spans["Y37"] == (37, 37)
        assert spans["Y_GE100"] == (100, None)
    # The hidden counts of the relation are no table of the release.
    assert not [t for t in meta if t.endswith("_shifts")]


# --- a protection that ignores the relation, against the audit that knows it ----------

def _units(seed: int, n: int) -> pl.DataFrame:
    """Units by sex, single year of completed age and of age reached (half of them
    reach the next age during the year)."""
    rng = np.random.default_rng(seed)
    age = np.minimum(rng.geometric(0.12, n) - 1, 101)
    up = (rng.random(n) < 0.5) & (age < 100)
    years = age_codes("single_year")
    code = np.array(years)[np.minimum(np.arange(103), 100)]
    return pl.DataFrame({
        "unit_id": np.arange(n), "sex": rng.choice(["M", "F"], n),
        "age_year": code[age], "age_reached_year": code[age + up], "up": up,
    }).with_columns(pl.when("up").then(pl.col("age_year")).alias("age_up")).drop("up")


def _tabulated(units: pl.DataFrame) -> list[TableCells]:
    """The units' table by completed age x sex, by age reached, and its U counts."""
    con = duckdb.connect()
    sql = DuckDBSql(con)
    sql.register("people", units)
    complet = TableSpec("by_age", "by age", "people", "persons",
                        (dims.single_year_age("single_year"), dims.sex()),
                        unit_column="unit_id")
    reach, shifts = reach_tables(complet)
    return [TableCells(s, tabulate(sql, s)) for s in (complet, reach, shifts)]


def _release(tmp: Path, name: str, tables: list[TableCells], protected_with: list[TableCells],
             config: Config) -> tuple[Path, dict[str, pl.DataFrame]]:
    """Release files of `tables` protected as the family `protected_with`."""
    family = protect(build_family("people", protected_with), config.disclosure)
    ref = Reference(YEAR, date(YEAR, 1, 1))
    result = assemble(tables, {"people": family}, config, ref, {})
    header = release_header(config, ref, name) | {
        "vintage": name, "data_end": f"{YEAR}-12-31", "published_at": f"{YEAR + 1}-01-01"}
    staging, _ = export.stage_release(tmp / name, result.release, [], header,
                                      result.release_loss)
    return staging, {t: c.drop("released") for t, c in result.unprotected.items()}


def _without_rules(release: Path, tmp: Path) -> Path:
    """A copy of the release whose metadata states no age relation."""
    copy = tmp / (release.name + "-norule")
    shutil.copytree(release, copy)
    meta = json.loads((copy / "metadata.json").read_text())
    for table in meta["tables"]:
        table["rules"] = [r for r in table["rules"] if r["kind"] != "age_reached"]
    (copy / "metadata.json").write_text(json.dumps(meta))
    return copy


@pytest.mark.parametrize("seed", [0, 2])
def test_protection_ignoring_the_relation_is_broken(seed, tmp_path):
    tables = _tabulated(_units(seed, 150))
    reach = tables[1].spec
    config = Config()
    config = dataclasses.replace(config, disclosure=dataclasses.replace(
        config.disclosure, solver_time_limit=5.0))
    need = protection(config.disclosure)
    naive = [tables[0], TableCells(dataclasses.replace(reach, age_reached=None),
                                   tables[1].cells), tables[2]]
    broken, truth = _release(tmp_path, "naive", tables, naive, config)
    blind = _without_rules(broken, tmp_path)
    # Blind to the relation, the attacker finds nothing; knowing it, it narrows cells.
    assert audit_release(blind, truth, need).passed
    failures = audit_release(broken, truth, need).failures
    assert failures.height > 0 and set(failures["finding"]) == {"narrowed"}
    # The relation narrows intervals: confidential cells the attacker pins below the
    # width with it (intervals narrower than the width are exact) are wide without it.
    width = {}
    for label, folder in (("with", broken), ("without", blind)):
        cells = deduce(read_release(folder), need.integer_max_cells, need.width).cells
        width[label] = cells.filter(pl.col("state") == "confidential").select(
            "key", (pl.col("upper") - pl.col("lower")).alias(label))
    narrowed = width["with"].join(width["without"], on="key").filter(
        pl.col("with") < need.width)
    assert narrowed.height >= failures.height
    assert (narrowed["without"] >= need.width).all()
    # The protector that carries the relation withstands it.
    safe, truth = _release(tmp_path, "aware", tables, tables, config)
    assert audit_release(safe, truth, need).passed


def test_with_every_cell_shown_the_audit_derives_each_shift(tmp_path):
    """Nothing suppressed (threshold 1): each U(a) follows from the two tables, the
    youngest age first (an equation with one unknown left fixes it), so the audit holds
    every U exactly, and they add up to the units that reach the next age."""
    units = _units(0, 150)
    tables = _tabulated(units)
    config = Config()
    config = dataclasses.replace(config, disclosure=dataclasses.replace(
        config.disclosure, threshold=1, solver_time_limit=5.0))
    release, truth = _release(tmp_path, "open", tables, tables, config)
    need = protection(config.disclosure)
    cells = deduce(read_release(release), need.integer_max_cells, need.width).cells
    assert set(cells["state"]) == {"shown", "relation"}
    shift = cells.filter(pl.col("state") == "relation")
    assert shift.height == tables[2].cells.height
    assert (shift["upper"] == shift["lower"]).all()
    # By sex (the key names the sex outside its total): each unit reaching up once.
    assert shift.filter(pl.col("key").str.contains("sex="))["lower"].sum() == \
        units["age_up"].is_not_null().sum()
    assert audit_release(release, truth, need).passed


def test_the_audit_fails_closed_on_a_relation_it_cannot_read(published_run, tmp_path):
    release = tmp_path / "release"
    shutil.copytree(published_run.release, release)
    meta = json.loads((release / "metadata.json").read_text())
    table = next(t for t in meta["tables"] if t["table_id"] == REACH_DATASETS[0] + REACH_SUFFIX)
    rule = next(r for r in table["rules"] if r["kind"] == "age_reached")
    rule["reached"] = "age_at_birthday"   # a dimension the table does not have
    (release / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(RegmigError, match="age_reached"):
        read_release(release)
    rule["reached"], rule["table"] = "age_reached", "no_such_table"
    (release / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(RegmigError, match="cannot read"):
        read_release(release)


def test_a_relation_the_counts_break_stops_protection():
    """Counts that break the stated relation (U lost) are refused before protecting."""
    con = duckdb.connect()
    sql = DuckDBSql(con)
    sql.register("people", _units(0, 150).with_columns(pl.lit(None, pl.Utf8).alias("age_up")))
    complet = TableSpec("by_age", "by age", "people", "persons",
                        (dims.single_year_age("single_year"), dims.sex()),
                        unit_column="unit_id")
    tables = [TableCells(s, tabulate(sql, s)) for s in (complet, *reach_tables(complet))]
    with pytest.raises(ValueError, match="does not hold"):
        build_family("people", tables)
