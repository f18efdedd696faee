"""Incremental linkage (linkage/incremental.py): new records linked to the persons that
exist, person ids kept, merges and splits the new evidence forces applied and recorded,
and the same persons as a full re-link."""

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from regmig.config import Config
from regmig.flows.cli import main
from regmig.ingest.stage import ingest_file, ingest_folder
from regmig.linkage import incremental
from regmig.linkage.stage import link
from regmig.warehouse.paths import RunPaths

SOURCES = ("border_crossings", "population_register", "permits")


def _copy(paths: RunPaths, to: Path) -> RunPaths:
    shutil.copytree(paths.out, to, symlinks=True)
    return RunPaths(to)


def _person_map(paths: RunPaths) -> pl.DataFrame:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.sql("SELECT source, record_id, person_id FROM core.person_map").pl()


def _partition(paths: RunPaths) -> set[frozenset[str]]:
    grouped = _person_map(paths).group_by("person_id").agg(
        (pl.col("source") + ":" + pl.col("record_id")).alias("records"))
    return {frozenset(r) for r in grouped["records"]}


def _history(paths: RunPaths, run_id: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.sql("SELECT event, person_id, related_person_id, n_records FROM "
                       "core.person_id_history WHERE run_id = ? ORDER BY ALL",
                       params=[run_id]).fetchall()


def _link_new(paths: RunPaths, run_id: str):  # noqa: ANN202
    assert incremental.link_mode(paths, Config())[0] == incremental.INCREMENTAL
    return incremental.link_incrementally(paths, Config(), run_id)


def test_a_monthly_chain_gives_the_persons_of_a_full_relink(tmp_path):
    """Two months linked in full, then five months one at a time: the same persons,
    with the same ids, as one full re-link of all seven; every record that changed person
    between two runs is in that run's history; the state kept month by month is the
    state a full link leaves."""
    deliveries = tmp_path / "deliveries"
    assert main(["synth", "--monthly", "--persons", "500", "--seed", "41", "--start",
                 "2023", "--end", "2023", "--out", str(deliveries)]) == 0
    months = sorted(p for p in deliveries.iterdir() if p.name.startswith("2023"))
    paths = RunPaths(tmp_path / "run")
    for month in months[:2]:
        ingest_folder(paths, Config(), month, "ingest")
    link(paths, Config(), "full")
    grown = 0
    for i, month in enumerate(months[2:6]):
        before = _person_map(paths)
        ingest_folder(paths, Config(), month, "ingest")
        summary = _link_new(paths, f"month-{i}")
        assert summary.mode == incremental.INCREMENTAL
        assert summary.row_counts["records_new"] > 0
        assert summary.row_counts["profiles_changed"] < summary.row_counts["profiles_touched"]
        # profiles that only gained agreeing records are not rebuilt: the comparison
        # with a full re-link below covers that shortcut
        grown += summary.row_counts["profiles_grown"]
        moved = before.join(_person_map(paths), on=["source", "record_id"],
                            suffix="_now").filter(pl.col("person_id") != pl.col("person_id_now"))
        recorded = sum(n for event, _p, _r, n in _history(paths, f"month-{i}")
                       if event in ("merged", "split"))
        assert recorded == moved.height
    assert grown > 0
    # a state left before the value counts were kept gets them made once, as kept
    upgraded = _copy(paths, tmp_path / "upgraded")
    with duckdb.connect(str(upgraded.identifiers)) as con:
        con.execute("DELETE FROM ident.link_profile_values")
    for run in (paths, upgraded):
        ingest_folder(run, Config(), months[6], "ingest")
        _link_new(run, "month-6")
    assert _persons(upgraded) == _persons(paths)
    for table, columns in _STATE_COMPARED.items():
        assert _state(upgraded, table, columns) == _state(paths, table, columns), table
    full = _copy(paths, tmp_path / "full")
    link(full, Config(), "relink")
    assert _partition(paths) == _partition(full)
    ids = _person_map(paths).join(_person_map(full), on=["source", "record_id"])
    assert (ids["person_id"] == ids["person_id_right"]).all()
    # core.persons, summed from the profiles' value counts, as a full link makes it
    assert _persons(paths) == _persons(full)
    # the state the chain kept up to date month by month is the state a full link builds
    for table, columns in _STATE_COMPARED.items():
        assert _state(paths, table, columns) == _state(full, table, columns), table


def _persons(paths: RunPaths) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.sql("SELECT * EXCLUDE (run_id) FROM core.persons ORDER BY ALL").fetchall()


#: State tables kept up to date by each incremental month, and the columns a full link
#: must give alike (the bookkeeping of the profiles, which the pairs decide, is compared
#: through the persons above).
_STATE_COMPARED = {
    "ident.link_records": "source, record_id, load_id, profile_group, profile_id",
    "ident.link_profile_values": "*",
    "ident.link_profiles": "* EXCLUDE (component_id, cluster_id, in_conflict, "
                           "match_probability, person_id, run_id)",
}


def _state(paths: RunPaths, table: str, columns: str) -> list[tuple]:
    with duckdb.connect(str(paths.identifiers), read_only=True) as con:
        rows = con.sql(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall()
    assert rows
    return rows


def _sample_rows(sample: Path, source: str) -> pl.DataFrame:
    return pl.read_csv(sample / f"{source}.csv", infer_schema=False)


@pytest.fixture()
def monthly_run(linked_run, tmp_path) -> RunPaths:
    """A copy of the linked sample (the full link's state), for incremental runs."""
    return _copy(linked_run, tmp_path / "run")


def test_a_corrected_document_moves_a_crossing_to_its_person(monthly_run, sample_delivery,
                                                              tmp_path):
    """A crossing delivered with another traveller's document number joins that
    document's person; its correction moves it to its own person (a split of one record,
    recorded), and both persons keep their ids."""
    crossings = _sample_rows(sample_delivery, "border_crossings")
    mapped = _person_map(monthly_run).filter(pl.col("source") == "border_crossings")
    travellers = crossings.join(mapped, on="record_id").filter(
        pl.col("document_type") == "passport").group_by("person_id").agg(
        pl.all().first(), pl.len().alias("n")).filter(pl.col("n") >= 5).sort("person_id")
    owner, traveller = travellers.row(0, named=True), travellers.row(1, named=True)
    crossing = pl.DataFrame([traveller]).select(crossings.columns).with_columns(
        record_id=pl.lit("BC-LATE-1"), crossed_at=pl.lit("2025-01-15T10:00:00"))
    wrong = tmp_path / "border_crossings_2025-01.csv"
    crossing.with_columns(document_number=pl.lit(owner["document_number"]),
                          document_country=pl.lit(owner["document_country"])).write_csv(wrong)
    ingest_file(monthly_run, Config(), "border_crossings", wrong, "ingest")
    _link_new(monthly_run, "wrong")
    person_of = dict(_person_map(monthly_run).filter(pl.col("record_id") == "BC-LATE-1")
                     .select("record_id", "person_id").rows())
    assert person_of["BC-LATE-1"] == owner["person_id"]

    corrected = tmp_path / "border_crossings_2025-02.csv"
    crossing.write_csv(corrected)
    assert ingest_file(monthly_run, Config(), "border_crossings", corrected,
                       "ingest").records_superseded == 1
    _link_new(monthly_run, "corrected")
    after = _person_map(monthly_run)
    assert after.filter(pl.col("record_id") == "BC-LATE-1")["person_id"].to_list() == [
        traveller["person_id"]]
    assert _history(monthly_run, "corrected") == [
        ("split", traveller["person_id"], owner["person_id"], 1)]
    full = _copy(monthly_run, tmp_path / "full")
    link(full, Config(), "relink")
    assert _partition(monthly_run) == _partition(full)
    # the record left its earlier profile (a group that lost a record is named again)
    assert _persons(monthly_run) == _persons(full)
    for table, columns in _STATE_COMPARED.items():
        assert _state(monthly_run, table, columns) == _state(full, table, columns), table


def test_new_evidence_merges_two_persons(monthly_run, tmp_path):
    """Two travellers on two new passports, one without a date of birth or sex and with
    a short form of the given name, stay two persons; a register record with the
    name, the date of birth and the second passport shows them to be one: they merge,
    and the history says so."""
    base = {"direction": "arrival", "border_point": "EVN", "transport_mode": "air",
            "document_type": "passport", "document_country": "ARM", "citizenship": "ARM",
            "sex": "F", "given_name": "Zaruhi", "surname": "Qwertyan",
            "country_of_birth": "ARM", "country_of_residence": "ARM",
            "origin_destination": "FRA", "travel_purpose": ""}
    first = tmp_path / "border_crossings_2025-01.csv"
    pl.DataFrame([
        base | {"record_id": "BC-NEW-1", "crossed_at": "2025-01-10T10:00:00",
                "document_number": "ZZ1000001", "date_of_birth": "1985-03-03"},
        base | {"record_id": "BC-NEW-2", "crossed_at": "2025-01-20T10:00:00",
                "document_number": "ZZ2000002", "date_of_birth": "", "sex": "",
                "given_name": "Zara"},
    ]).write_csv(first)
    ingest_file(monthly_run, Config(), "border_crossings", first, "ingest")
    _link_new(monthly_run, "new")
    persons = _person_map(monthly_run).filter(pl.col("record_id").str.starts_with("BC-NEW"))
    assert persons["person_id"].n_unique() == 2
    register = tmp_path / "population_register_2025-02.csv"
    pl.DataFrame([{
        "record_id": "PR-NEW-1", "person_pin": "4810853017", "given_name": "Zaruhi",
        "surname": "Qwertyan", "sex": "F", "date_of_birth": "1985-03-03",
        "country_of_birth": "ARM", "citizenship": "ARM", "second_citizenship": "",
        "registered_from": "2025-02-01", "deregistered_on": "", "deregistration_reason": "",
        "document_number": "ZZ2000002", "document_country": "ARM", "region": "Shirak"}]
    ).write_csv(register)
    ingest_file(monthly_run, Config(), "population_register", register, "ingest")
    _link_new(monthly_run, "merge")
    merged = _person_map(monthly_run).filter(pl.col("record_id").str.contains("-NEW-"))
    assert merged.height == 3, "the register record was not loaded"
    assert merged["person_id"].n_unique() == 1
    kept = merged["person_id"][0]
    assert kept in set(persons["person_id"])
    (gone,) = set(persons["person_id"]) - {kept}
    assert ("merged", kept, gone, 1) in _history(monthly_run, "merge")
