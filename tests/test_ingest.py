"""Ingest: validated, idempotent, atomic loads; quarantine; pseudonyms; separation."""

import hashlib
import hmac
import json
import os
import shutil
import stat
from pathlib import Path

import duckdb
import polars as pl
import pytest

from regmig.config import Config, IngestConfig
from regmig.errors import RegmigError
from regmig.flows.cli import main
from regmig.ingest.cleaning import clean_name, date_flag
from regmig.ingest.pseudonyms import Pseudonymiser, create_key_file, load_key
from regmig.ingest.stage import ingest_file, ingest_folder
from regmig.ingest.staging import staging_root
from regmig.schemas.deliveries import IDENTIFYING_COLUMNS
from regmig.warehouse.hashes import table_hash
from regmig.warehouse.paths import RunPaths

SOURCES = ("border_crossings", "population_register", "permits")
KEY = os.environ["REGMIG_PSEUDONYM_KEY"].encode()


def read_text(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def copy_run(paths: RunPaths, tmp_path: Path) -> RunPaths:
    target = tmp_path / "run"
    shutil.copytree(paths.out, target)
    return RunPaths(target)


def warehouse_hash(paths: RunPaths) -> str:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        tables = [f"{s}.{t}" for s, t in con.sql(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE schema_name IN ('meta', 'raw') AND table_name <> 'runs'").fetchall()]
        return table_hash(con, sorted(tables))


def crossing_rows(sample: Path, n: int) -> pl.DataFrame:
    return read_text(sample / "border_crossings.csv").head(n)


# --- the sample delivery -------------------------------------------------------------


def test_sample_every_record_of_the_truth_is_loaded(ingested_run, sample_delivery):
    truth = pl.read_parquet(sample_delivery / "truth" / "record_person.parquet")
    with duckdb.connect(str(ingested_run.warehouse), read_only=True) as con:
        for source in SOURCES:
            loaded = con.sql(f"SELECT record_id FROM raw.{source}").pl()
            expected = truth.filter(pl.col("source") == source)["record_id"]
            assert sorted(loaded["record_id"].to_list()) == sorted(expected.to_list())
        loads = con.sql("SELECT source, status, rows_read, rows_loaded, rows_rejected "
                        "FROM meta.loads").pl()
    for row in loads.iter_rows(named=True):
        delivered = read_text(sample_delivery / f"{row['source']}.csv").height
        assert row["status"] == "loaded"
        assert row["rows_read"] == delivered == row["rows_loaded"] + row["rows_rejected"]


def test_warehouse_holds_no_names_birth_dates_or_document_numbers(ingested_run,
                                                                  sample_delivery):
    """Scan every table and column of the warehouse for the delivery's identifying values
    (whole values and the words of longer texts, case-insensitive). A value that the
    delivery also holds in a non-identifying column (the region Ararat is also a given
    name) is no evidence of a leak and is left out. Dates of birth are checked record by
    record (tests/test_identifier_scan.py): a date equal to someone else's birthday is no
    leak."""
    identifying, other = set(), set()
    for source in SOURCES:
        frame = read_text(sample_delivery / f"{source}.csv")
        for column in frame.columns:
            if column == "date_of_birth":
                continue
            values = {v.lower() for v in frame[column].drop_nulls().to_list()}
            (identifying if column in IDENTIFYING_COLUMNS[source] else other).update(values)
    secrets = pl.DataFrame({"secret": sorted(identifying - other)})
    assert secrets.height > 10_000  # names, dates of birth, documents, pins of the sample
    with duckdb.connect(str(ingested_run.warehouse), read_only=True) as con:
        columns = con.sql("SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                          "WHERE NOT internal").fetchall()
        assert len(columns) > 50
        con.register("secrets", secrets)
        leaks = []
        for schema, table, column in columns:
            found = con.sql(f"""
                WITH texts AS (SELECT lower(CAST("{column}" AS VARCHAR)) AS text
                               FROM {schema}.{table} WHERE "{column}" IS NOT NULL),
                     words AS (SELECT text FROM texts
                               UNION ALL
                               SELECT unnest(regexp_split_to_array(text, '[^\\w-]+')) FROM texts)
                SELECT count(*) FROM words JOIN secrets ON words.text = secrets.secret
            """).fetchall()[0][0]
            if found:
                leaks.append(f"{schema}.{table}.{column}: {found}")
    assert leaks == []


def test_identifiers_hold_names_and_exact_birth_dates(ingested_run, sample_delivery):
    delivered = read_text(sample_delivery / "population_register.csv")
    with duckdb.connect(str(ingested_run.identifiers), read_only=True) as con:
        records = con.sql("SELECT record_id, given_name, surname, "
                          "strftime(date_of_birth, '%Y-%m-%d') AS date_of_birth "
                          "FROM ident.records WHERE source = 'population_register'").pl()
    joined = delivered.join(records, on="record_id", suffix="_ident")
    assert joined.height == delivered.height
    for column in ("given_name", "surname", "date_of_birth"):
        assert joined[column].to_list() == joined[f"{column}_ident"].to_list()


def test_pseudonyms_are_hmac_sha256_of_the_document(ingested_run, sample_delivery):
    delivered = read_text(sample_delivery / "border_crossings.csv").head(50)
    with duckdb.connect(str(ingested_run.warehouse), read_only=True) as con:
        keys = dict(con.sql("SELECT record_id, document_key FROM raw.border_crossings")
                    .fetchall())
    for row in delivered.iter_rows(named=True):
        number = "".join(ch for ch in row["document_number"].upper() if ch.isalnum())
        message = f"document:{row['document_country']}:{number}".encode()
        assert keys[row["record_id"]] == hmac.new(KEY, message, hashlib.sha256).hexdigest()


def test_birth_year_and_month_match_the_delivered_date(ingested_run, sample_delivery):
    delivered = read_text(sample_delivery / "border_crossings.csv").filter(
        pl.col("date_of_birth").is_not_null())
    with duckdb.connect(str(ingested_run.warehouse), read_only=True) as con:
        raw = con.sql("SELECT record_id, birth_year, birth_month, date_of_birth_flag "
                      "FROM raw.border_crossings").pl()
    joined = delivered.join(raw, on="record_id")
    assert (joined["date_of_birth_flag"] == "ok").all()
    assert joined["birth_year"].to_list() == [int(d[:4]) for d in joined["date_of_birth"]]
    assert joined["birth_month"].to_list() == [int(d[5:7]) for d in joined["date_of_birth"]]


# --- idempotence, supersession, atomicity -------------------------------------------


def test_rerun_skips_files_already_loaded_and_changes_nothing(ingested_run, sample_delivery,
                                                              tmp_path):
    paths = copy_run(ingested_run, tmp_path)
    before = warehouse_hash(paths)
    summary = ingest_folder(paths, Config(), sample_delivery, "rerun")
    assert [r.status for r in summary.loads] == ["skipped_duplicate"] * 3
    assert summary.row_counts["rows_read"] == 0
    assert warehouse_hash(paths) == before


def test_corrected_delivery_supersedes_the_same_period(sample_delivery, tmp_path):
    paths = RunPaths(tmp_path / "run")
    rows = crossing_rows(sample_delivery, 40)
    first = tmp_path / "border_crossings_2024-03.csv"
    rows.head(30).write_csv(first)
    corrected = tmp_path / "v2" / "border_crossings_2024-03.csv"
    corrected.parent.mkdir()
    rows.tail(25).write_csv(corrected)
    other_period = tmp_path / "border_crossings_2024-04.csv"
    rows.head(1).with_columns(pl.lit("BC-APRIL").alias("record_id")).write_csv(other_period)

    old = ingest_file(paths, Config(), "border_crossings", first, "r1")
    ingest_file(paths, Config(), "border_crossings", other_period, "r1")
    new = ingest_file(paths, Config(), "border_crossings", corrected, "r2")
    assert (old.period, new.period, new.superseded_load_id) == ("2024-03", "2024-03",
                                                                old.load_id)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        loaded = set(con.sql("SELECT record_id FROM raw.border_crossings").pl()["record_id"])
        status = con.sql("SELECT load_id, status, superseded_by FROM meta.loads "
                         "ORDER BY load_id").fetchall()
    assert loaded == set(rows.tail(25)["record_id"]) | {"BC-APRIL"}
    assert status == [(old.load_id, "superseded", new.load_id), (2, "loaded", None),
                      (new.load_id, "loaded", None)]
    with duckdb.connect(str(paths.identifiers), read_only=True) as con:
        assert con.sql("SELECT DISTINCT load_id FROM ident.records ORDER BY 1").fetchall() \
            == [(2,), (new.load_id,)]


def test_a_record_sent_again_supersedes_its_earlier_version(sample_delivery, tmp_path):
    """A later delivery holding a record_id already loaded (a correction, a decision, a
    deregistration) replaces that row in raw.<source>; the earlier version is kept in
    raw.<source>_superseded. A repeat within one file is still refused."""
    paths = RunPaths(tmp_path / "run")
    rows = crossing_rows(sample_delivery, 10)
    march = tmp_path / "border_crossings_2024-03.csv"
    april = tmp_path / "border_crossings_2024-04.csv"
    rows.write_csv(march)
    resent = rows.tail(3).with_columns(pl.lit("departure").alias("direction"))
    pl.concat([resent, resent.head(1)]).write_csv(april)
    ingest_file(paths, Config(), "border_crossings", march, "r1")
    result = ingest_file(paths, Config(), "border_crossings", april, "r1")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected,
            result.records_superseded) == (4, 3, 1, 3)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        in_force = con.sql("SELECT record_id, load_id, direction FROM raw.border_crossings "
                           "ORDER BY record_id").pl()
        earlier = con.sql("SELECT record_id, load_id, direction, superseded_by_load_id "
                          "FROM raw.border_crossings_superseded ORDER BY record_id").pl()
        (reason,) = con.sql("SELECT reason FROM raw.rejected "
                            "WHERE check_name = 'unique'").fetchall()
    assert in_force.height == 10 and in_force["record_id"].n_unique() == 10
    assert in_force.filter(pl.col("load_id") == result.load_id)["record_id"].to_list() \
        == sorted(resent["record_id"])
    assert set(in_force.filter(pl.col("load_id") == result.load_id)["direction"]) \
        == {"departure"}
    assert earlier.select("record_id", "load_id", "superseded_by_load_id").rows() == [
        (record_id, 1, result.load_id) for record_id in sorted(resent["record_id"])]
    assert earlier["direction"].to_list() == rows.tail(3).sort("record_id")["direction"] \
        .to_list()
    assert "already in row 1 of this file" in reason[0]


def test_orphans_of_an_uncommitted_load_are_removed_on_the_next_run(sample_delivery,
                                                                   tmp_path):
    """A load that died after identifiers.duckdb committed but before the warehouse did
    leaves identifier rows of a load_id meta.loads does not know; the next run removes
    them, and the load_id is then reused cleanly."""
    paths = RunPaths(tmp_path / "run")
    rows = crossing_rows(sample_delivery, 5)
    delivery = tmp_path / "border_crossings.csv"
    rows.write_csv(delivery)
    ingest_folder(paths, Config(), tmp_path, "r0")  # creates both databases, load 1
    with duckdb.connect(str(paths.identifiers)) as con:
        con.execute("INSERT INTO ident.records (source, load_id, record_id, given_name) "
                    "VALUES ('permits', 2, 'PA-ORPHAN', 'Orphan')")
        con.execute("INSERT INTO ident.quarantine VALUES ('permits', 2, 1, '{}')")
    permits = tmp_path / "permits.csv"
    read_text(sample_delivery / "permits.csv").head(4).write_csv(permits)
    result = ingest_file(paths, Config(), "permits", permits, "r1")
    assert result.load_id == 2
    with duckdb.connect(str(paths.identifiers), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM ident.records WHERE record_id = 'PA-ORPHAN'"
                       ).fetchall() == [(0,)]
        assert con.sql("SELECT count(*) FROM ident.records WHERE load_id = 2").fetchall() \
            == [(4,)]
        assert con.sql("SELECT count(*) FROM ident.quarantine").fetchall() == [(0,)]


KILL_SCRIPT = """
import sys
from pathlib import Path
from regmig.config import Config
from regmig.ingest.stage import ingest_file
from regmig.warehouse.paths import RunPaths
print("started", flush=True)
ingest_file(RunPaths(Path(sys.argv[1])), Config(), "border_crossings", Path(sys.argv[2]), "killed")
print("finished", flush=True)
"""


def test_load_killed_mid_way_leaves_the_warehouse_as_it_was(sample_delivery, tmp_path):
    import subprocess
    import sys
    import time

    paths = RunPaths(tmp_path / "run")
    first = tmp_path / "border_crossings_2024-01.csv"
    crossing_rows(sample_delivery, 100).write_csv(first)
    ingest_file(paths, Config(), "border_crossings", first, "before")
    before = warehouse_hash(paths)

    # A big delivery: the sample's crossings 4 times, with new record ids.
    big = tmp_path / "border_crossings_2024-02.csv"
    sample = read_text(sample_delivery / "border_crossings.csv")
    pl.concat([sample.with_columns(pl.format("K{}-{}", pl.lit(i), pl.col("record_id"))
                                   .alias("record_id")) for i in range(4)]).write_csv(big)
    small_blocks = tmp_path / "config.toml"
    small_blocks.write_text("[ingest]\ncsv_block_bytes = 1048576\n")
    script = tmp_path / "load.py"
    script.write_text(KILL_SCRIPT.replace("Config()", f"load_config('{small_blocks}')")
                      .replace("from regmig.config import Config",
                               "from regmig.config import load_config"))
    process = subprocess.Popen([sys.executable, str(script), str(paths.out), str(big)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "started"
    # Kill once the load is under way: its first batches are staged.
    staged = staging_root(paths.out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if len(list(staged.glob("*/*/*.parquet"))) >= 4:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the load finished before it could be killed"
    process.kill()
    process.wait()

    assert warehouse_hash(paths) == before
    assert staged.exists()  # the killed load's leftovers ...
    result = ingest_file(paths, Config(), "border_crossings", big, "after")
    assert not any(staged.iterdir())  # ... are gone after the next run
    assert result.rows_loaded == result.rows_read == sample.height * 4
    with duckdb.connect(str(paths.identifiers), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM ident.records").fetchall() == [
            (100 + sample.height * 4,)]


# --- quarantine and refusal ----------------------------------------------------------


def test_bad_rows_are_quarantined_with_a_reason(sample_delivery, tmp_path):
    rows = crossing_rows(sample_delivery, 10)
    broken = rows.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("sideways"))
        .when(pl.int_range(pl.len()) == 7).then(pl.lit(" Arrival "))
        .otherwise(pl.col("direction")).alias("direction"),
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("XYZ"))
        .otherwise(pl.col("citizenship")).alias("citizenship"),
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("2023-02-30"))
        .otherwise(pl.col("crossed_at")).alias("crossed_at"),
        pl.when(pl.int_range(pl.len()) == 4).then(pl.lit(None))
        .otherwise(pl.col("document_number")).alias("document_number"),
        pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("1980-05"))
        .otherwise(pl.col("date_of_birth")).alias("date_of_birth"),
        pl.when(pl.int_range(pl.len()) == 6).then(pl.lit(rows["record_id"][0]))
        .otherwise(pl.col("record_id")).alias("record_id"),
    )
    path = tmp_path / "border_crossings.csv"
    broken.write_csv(path)
    with open(path, "a", encoding="utf-8") as handle:  # row 11: a stray delimiter
        handle.write(",".join(rows.row(9)[:3]) + ",,EXTRA," + ",".join(
            v or "" for v in rows.row(9)[3:]) + "\n")
    paths = RunPaths(tmp_path / "run")
    result = ingest_file(paths, Config(), "border_crossings", path, "r")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (11, 5, 6)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rejected = con.sql("SELECT row_number, column_name, check_name, reason, row_values "
                           "FROM raw.rejected ORDER BY row_number").pl()
        dob = con.sql("SELECT birth_year, birth_month, date_of_birth_flag FROM "
                      "raw.border_crossings WHERE row_number = 6").fetchall()
        directions = con.sql("SELECT direction FROM raw.border_crossings "
                             "WHERE row_number = 8").fetchall()
    assert rejected.select("row_number", "column_name", "check_name").rows() == [
        (2, "direction", "isin"), (3, "citizenship", "iso3166_alpha3"),
        (4, "crossed_at", "iso_datetime"), (5, "document_number", "not_nullable"),
        (7, "record_id", "unique"), (11, None, "csv_structure")]
    assert all(r.startswith("border_crossings.csv: row ") for r in rejected["reason"])
    assert "'sideways' is not one of arrival | departure" in rejected["reason"][0]
    assert "already in row 1 of this file" in rejected["reason"][4]
    assert dob == [(1980, 5, "partial")]
    assert directions == [("arrival",)]
    for values in rejected["row_values"].drop_nulls():
        assert not set(json.loads(values)) & set(IDENTIFYING_COLUMNS["border_crossings"])
    with duckdb.connect(str(paths.identifiers), read_only=True) as con:
        quarantined = con.sql("SELECT row_number, identifying_values FROM ident.quarantine "
                              "ORDER BY row_number").fetchall()
    assert [r[0] for r in quarantined] == [2, 3, 4, 5, 7, 11]
    assert json.loads(quarantined[0][1])["surname"] == rows["surname"][1]
    assert "EXTRA" in json.loads(quarantined[-1][1])["csv_line"]


@pytest.mark.parametrize("name, content, cause", [
    ("border_crossings.xlsx", b"PK\x03\x04 an xlsx workbook", "not a CSV or Parquet file"),
    ("border_crossings.csv", None, "not UTF-8 encoded (first invalid byte on line 3)"),
    ("border_crossings.csv", b"record_id,direction\nBC1,arrival\n",
     "required column(s) missing for border_crossings: crossed_at, document_number"),
    ("border_crossings.csv", b"", "empty file"),
    ("border_crossings.parquet", b"PAR1 truncated", "not a readable Parquet file"),
])
def test_unreadable_file_is_refused_whole_in_one_line(sample_delivery, tmp_path, name,
                                                      content, cause, capsys):
    path = tmp_path / name
    if content is None:
        text = (sample_delivery / "border_crossings.csv").read_bytes().splitlines(True)[:4]
        text[2] = text[2].replace(b",F,", b",\xe9,").replace(b",M,", b",\xe9,")
        content = b"".join(text)
    path.write_bytes(content)
    out = tmp_path / "run"
    code = main(["ingest", "--out", str(out), "--source", "border_crossings",
                 "--file", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert str(path) in err[0] and cause in err[0]
    with duckdb.connect(str(RunPaths(out).warehouse), read_only=True) as con:
        assert con.sql("SELECT status, rows_read FROM meta.loads").fetchall() == [
            ("refused", 0)]
        assert con.sql("SELECT count(*) FROM raw.border_crossings").fetchall() == [(0,)]
        assert con.sql("SELECT status FROM meta.runs").fetchall() == [("failed",)]


def test_parquet_delivery_loads_like_the_csv(ingested_run, sample_delivery, tmp_path):
    frame = pl.read_csv(sample_delivery / "permits.csv", try_parse_dates=True)
    assert frame.schema["application_date"] == pl.Date  # typed columns, read as text
    frame.write_parquet(tmp_path / "permits.parquet")
    paths = RunPaths(tmp_path / "run")
    result = ingest_file(paths, Config(), "permits", tmp_path / "permits.parquet", "r")
    assert result.rows_loaded == frame.height and result.period == "permits"
    query = "SELECT * EXCLUDE (load_id) FROM raw.permits ORDER BY record_id"
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        from_parquet = con.sql(query).pl()
    with duckdb.connect(str(ingested_run.warehouse), read_only=True) as con:
        from_csv = con.sql(query).pl()
    assert from_parquet.equals(from_csv)


def test_command_prints_counts(sample_delivery, tmp_path, capsys):
    path = tmp_path / "permits.csv"
    read_text(sample_delivery / "permits.csv").head(7).write_csv(path)
    code = main(["ingest", "--out", str(tmp_path / "run"), "--source", "permits",
                 "--file", str(path), "--period", "2024-Q1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "7 rows read, 7 loaded into raw.permits, 0 quarantined" in out
    assert "period 2024-Q1" in out


# --- cleaning and pseudonyms ---------------------------------------------------------


def test_names_are_normalised_and_transliterated_by_icao_9303():
    names = pl.Series(["  Щербакова-Müller ", "SHCHERBAKOVA MULLER", "Юлия", "Straße",
                       "Ёлкин", "Ǆuro ", "Հայկ", None, ""])
    assert pl.select(clean_name(pl.lit(names))).to_series().to_list() == [
        "shcherbakova muller", "shcherbakova muller", "iuliia", "strasse", "elkin",
        "dzuro", "hayk", None, None]


def test_names_in_every_script_of_the_region_get_a_latin_form():
    # Armenian (ISO 9985, u for the digraph), Georgian (national 2002, apostrophes dropped),
    # Greek, Arabic, Chinese (anyascii); each compared with the usual passport spelling.
    names = pl.Series(["Հարությունյան", "Ղազարյան", "Ծատուրյան", "ქეთევან კვარაცხელია",
                       "გიორგი", "Παπαδόπουλος", "محمد", "王伟", "O'Brien"])
    assert pl.select(clean_name(pl.lit(names))).to_series().to_list() == [
        "harutyunyan", "ghazaryan", "tsaturyan", "ketevan kvaratskhelia", "giorgi",
        "papadopoylos", "mhmd", "wangwei", "obrien"]


def test_partial_and_impossible_dates_are_flagged():
    from datetime import date

    texts = pl.Series(["1980-05-17", "1980", "1980-05", "1980-13", "1980-02-30",
                       "1899-12-31", "2999-01-01", "17/05/1980", None])
    flags = pl.select(date_flag(pl.lit(texts), date(1900, 1, 1), date(2026, 1, 1)))
    assert flags.to_series().to_list() == [
        "ok", "partial", "partial", "impossible", "impossible", "impossible", "impossible",
        "impossible", "missing"]


def test_sql_hmac_equals_python_hmac():
    for key in (KEY, b"k" * 100):  # a key longer than the SHA-256 block is hashed first
        pseudonymiser = Pseudonymiser(key)
        messages = pl.Series(["document:ARM:AN123", "person_pin:1000000007", "é", None])
        digests = pseudonymiser.digest(messages).to_list()
        pseudonymiser.close()
        expected = [hmac.new(key, m.encode(), hashlib.sha256).hexdigest() for m in messages[:3]]
        assert digests == expected + [None]


def test_no_key_stops_the_run(monkeypatch, tmp_path):
    monkeypatch.delenv("REGMIG_PSEUDONYM_KEY")
    with pytest.raises(RegmigError, match="no pseudonymisation key"):
        load_key(IngestConfig())
    key_file = create_key_file(tmp_path / "keys" / "pseudonym.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    config = IngestConfig(pseudonym_key_file=key_file)
    key = load_key(config)
    assert len(key) == 64 and create_key_file(key_file) == key_file
    assert load_key(config) == key  # an existing key file is kept
    key_file.chmod(0o644)
    with pytest.raises(RegmigError, match="readable by its owner only"):
        load_key(config)


def test_row_numbers_stay_exact_across_blocks_with_malformed_lines(sample_delivery, tmp_path):
    """Malformed lines are skipped by the CSV reader; the rows after them, many blocks
    later, must still carry their own row numbers."""
    import dataclasses

    rows = crossing_rows(sample_delivery, 6000)
    path = tmp_path / "border_crossings.csv"
    rows.write_csv(path)
    lines = path.read_bytes().split(b"\n")
    malformed = [5, 777, 778, 4000, 5999]
    for number in malformed:
        lines[number] += b",STRAY"
    path.write_bytes(b"\n".join(lines))
    config = dataclasses.replace(Config(), ingest=IngestConfig(csv_block_bytes=1 << 16))
    paths = RunPaths(tmp_path / "run")
    result = ingest_file(paths, config, "border_crossings", path, "r")
    assert (result.rows_read, result.rows_rejected) == (6000, len(malformed))
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rejected = [r[0] for r in con.sql("SELECT row_number FROM raw.rejected "
                                          "ORDER BY 1").fetchall()]
        loaded = con.sql("SELECT row_number, record_id FROM raw.border_crossings").pl()
    assert rejected == malformed
    expected = rows.with_row_index("row_number", offset=1).with_columns(
        pl.col("row_number").cast(pl.Int64))
    joined = expected.join(loaded, on="row_number", suffix="_loaded")
    assert joined.height == 6000 - len(malformed)
    assert (joined["record_id"] == joined["record_id_loaded"]).all()
