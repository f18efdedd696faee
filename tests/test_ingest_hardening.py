"""Ingest under attack (issue 13, findings 1-5 and 8): rows that break the contract end in
quarantine with file, row, column and reason, and never crash a load or pass as good."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from regmig.config import Config
from regmig.flows.cli import main
from regmig.ingest.stage import ingest_file
from regmig.warehouse.paths import RunPaths

ROWS = 200


def sample_lines(sample: Path, source: str, rows: int = ROWS) -> list[bytes]:
    return (sample / f"{source}.csv").read_bytes().split(b"\n")[: rows + 1]


def set_cell(lines: list[bytes], row: int, column: str, value: bytes) -> None:
    header = lines[0].split(b",")
    cells = lines[row].split(b",")
    cells[header.index(column.encode())] = value
    lines[row] = b",".join(cells)


def cell(lines: list[bytes], row: int, column: str) -> bytes:
    return lines[row].split(b",")[lines[0].split(b",").index(column.encode())]


def load(tmp_path: Path, source: str, data: bytes):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{source}.csv"
    path.write_bytes(data)
    paths = RunPaths(tmp_path / "run")
    return paths, ingest_file(paths, Config(), source, path, "hardening")


def rejected(paths: RunPaths) -> dict[int, tuple[str | None, str, str]]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rows = con.sql("SELECT row_number, column_name, check_name, reason "
                       "FROM raw.rejected ORDER BY row_number").fetchall()
    return {r[0]: r[1:] for r in rows}


def loaded(paths: RunPaths, source: str, columns: str = "*") -> pl.DataFrame:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.sql(f"SELECT {columns} FROM raw.{source} ORDER BY row_number").pl()


# --- 1 and 3: identifiers that identify nobody -------------------------------------------


@pytest.mark.parametrize("value", [b"--/--", b"NULL", b"N/A", b"-", b"0", b"000000",
                                   b"UNKNOWN", b"   "])
def test_required_identifier_that_identifies_nobody_is_quarantined(
        sample_delivery, tmp_path, value):
    lines = sample_lines(sample_delivery, "population_register")
    set_cell(lines, 7, "person_pin", value)
    paths, result = load(tmp_path, "population_register", b"\n".join(lines) + b"\n")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (ROWS, ROWS - 1, 1)
    column, check, reason = rejected(paths)[7]
    assert column == "person_pin" and check in ("identifier_empty", "identifier_placeholder",
                                                "not_nullable")
    assert reason.startswith("population_register.csv: row 7, column person_pin: ")


def test_punctuation_pin_does_not_stop_the_run(sample_delivery, tmp_path, capsys):
    """Finding 1 as the user saw it: `regmig ingest` exits 0 and loads the other files."""
    folder = tmp_path / "delivery"
    folder.mkdir()
    for source in ("border_crossings", "population_register", "permits"):
        shutil.copy(sample_delivery / f"{source}.csv", folder)
    lines = (folder / "population_register.csv").read_bytes().split(b"\n")
    set_cell(lines, 3, "person_pin", b"--/--")
    (folder / "population_register.csv").write_bytes(b"\n".join(lines))
    assert main(["ingest", "--input", str(folder), "--out", str(tmp_path / "run")]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.err == ""
    with duckdb.connect(str(tmp_path / "run" / "warehouse.duckdb"), read_only=True) as con:
        assert con.sql("SELECT source, status FROM meta.loads ORDER BY load_id").fetchall() == [
            ("border_crossings", "loaded"), ("population_register", "loaded"),
            ("permits", "loaded")]


def test_optional_document_placeholders_get_no_shared_pseudonym(sample_delivery, tmp_path):
    lines = sample_lines(sample_delivery, "permits")
    for row, value in ((3, b"NULL"), (4, b"NULL"), (5, b"--/--"), (6, b"000000")):
        set_cell(lines, row, "document_number", value)
    paths, result = load(tmp_path, "permits", b"\n".join(lines) + b"\n")
    assert result.rows_rejected == 0
    rows = loaded(paths, "permits", "row_number, document_key, document_number_flag")
    hit = rows.filter(pl.col("row_number").is_in([3, 4, 5, 6]))
    assert hit["document_key"].null_count() == 4
    assert hit["document_number_flag"].to_list() == ["placeholder", "placeholder", "empty",
                                                     "placeholder"]
    others = rows.filter(~pl.col("row_number").is_in([3, 4, 5, 6]))
    assert set(others["document_number_flag"]) <= {"ok", "missing"}
    assert others["document_key"].null_count() == \
        (others["document_number_flag"] == "missing").sum()


def test_crossing_with_a_placeholder_document_is_quarantined(sample_delivery, tmp_path):
    lines = sample_lines(sample_delivery, "border_crossings")
    set_cell(lines, 11, "document_number", b"XXXXXXX")
    paths, result = load(tmp_path, "border_crossings", b"\n".join(lines) + b"\n")
    assert rejected(paths)[11][:2] == ("document_number", "identifier_placeholder")


# --- 2: a stray quote stays in its row -----------------------------------------------------


@pytest.mark.parametrize("source", ["border_crossings", "population_register", "permits"])
@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_unbalanced_quote_is_confined_to_its_row(sample_delivery, tmp_path, source, ending):
    lines = sample_lines(sample_delivery, source, 1000 if source != "permits" else 700)
    records = len(lines) - 1
    middle = records // 2
    cells = lines[middle].split(b",")
    cells[3] = b'"' + cells[3]
    lines[middle] = b",".join(cells)
    paths, result = load(tmp_path, source, ending.join(lines) + ending)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == \
        (records, records - 1, 1)
    column, check, reason = rejected(paths)[middle]
    assert (column, check) == (None, "csv_structure") and "quote" in reason
    assert loaded(paths, source, "row_number")["row_number"].to_list() == \
        [n for n in range(1, records + 1) if n != middle]


def test_two_stray_quotes_do_not_swallow_the_lines_between(sample_delivery, tmp_path):
    """Quotes in the same column of rows 100 and 150 would make one well-formed row of 51
    lines for a CSV parser that lets quotes span lines."""
    lines = sample_lines(sample_delivery, "border_crossings")
    for row in (100, 150):
        set_cell(lines, row, "given_name", b'"' + cell(lines, row, "given_name"))
    paths, result = load(tmp_path, "border_crossings", b"\n".join(lines) + b"\n")
    assert (result.rows_read, result.rows_rejected) == (ROWS, 2)
    assert sorted(rejected(paths)) == [100, 150]


# --- 4: implausible dates and intervals ------------------------------------------------------


@pytest.mark.parametrize("value", [b"1700-01-01", b"2999-12-31", b"1899-12-31T23:00:00"])
def test_implausible_required_dates_are_quarantined(sample_delivery, tmp_path, value):
    lines = sample_lines(sample_delivery, "border_crossings")
    set_cell(lines, 5, "crossed_at", value)
    paths, _ = load(tmp_path / "c", "border_crossings", b"\n".join(lines) + b"\n")
    assert rejected(paths)[5][:2] == ("crossed_at", "implausible_date")
    register = sample_lines(sample_delivery, "population_register")
    set_cell(register, 5, "registered_from", value[:10])
    paths, _ = load(tmp_path / "r", "population_register", b"\n".join(register) + b"\n")
    assert rejected(paths)[5][:2] == ("registered_from", "implausible_date")


def test_register_spell_ending_before_it_starts_is_quarantined(sample_delivery, tmp_path):
    lines = sample_lines(sample_delivery, "population_register")
    start = date.fromisoformat(cell(lines, 9, "registered_from").decode())
    set_cell(lines, 9, "deregistered_on", str(start.replace(year=start.year - 1)).encode())
    paths, _ = load(tmp_path, "population_register", b"\n".join(lines) + b"\n")
    column, check, reason = rejected(paths)[9]
    assert (column, check) == ("deregistered_on", "interval_order")
    assert reason.startswith("population_register.csv: row 9, column deregistered_on: ")


def test_permit_validity_ending_before_it_starts_is_emptied_and_flagged(sample_delivery,
                                                                         tmp_path):
    lines = sample_lines(sample_delivery, "permits")
    row = next(i for i in range(1, len(lines)) if cell(lines, i, "valid_from"))
    start = date.fromisoformat(cell(lines, row, "valid_from").decode())
    set_cell(lines, row, "valid_to", str(start.replace(year=start.year - 1)).encode())
    paths, result = load(tmp_path, "permits", b"\n".join(lines) + b"\n")
    assert result.rows_rejected == 0
    permit = loaded(paths, "permits").filter(pl.col("row_number") == row).row(0, named=True)
    assert (permit["valid_from"], permit["valid_to"]) == (None, None)
    assert permit["date_flags"] == ["valid_from:inverted", "valid_to:inverted"]


def test_optional_event_date_in_the_future_is_flagged(sample_delivery, tmp_path):
    lines = sample_lines(sample_delivery, "permits")
    set_cell(lines, 4, "application_date", b"2999-01-01")
    paths, _ = load(tmp_path, "permits", b"\n".join(lines) + b"\n")
    permit = loaded(paths, "permits").filter(pl.col("row_number") == 4).row(0, named=True)
    assert permit["application_date"] is None
    assert "application_date:impossible" in permit["date_flags"]


# --- 5: NUL bytes and a header without a line break ---------------------------------------


@pytest.mark.parametrize("row", [2, 150])
def test_nul_byte_is_quarantined_wherever_it_is(sample_delivery, tmp_path, row):
    lines = sample_lines(sample_delivery, "border_crossings")
    set_cell(lines, row, "given_name", b"Bo\x00ris")
    paths, result = load(tmp_path, "border_crossings", b"\n".join(lines) + b"\n")
    assert (result.rows_read, result.rows_rejected) == (ROWS, 1)
    assert rejected(paths)[row][:2] == ("given_name", "nul_byte")


def test_nul_byte_deep_in_a_large_file_is_quarantined(sample_delivery, tmp_path):
    lines = (sample_delivery / "border_crossings.csv").read_bytes().split(b"\n")[:3001]
    set_cell(lines, 2900, "surname", b"Pet\x00rov")
    data = b"\n".join(lines) + b"\n"
    assert data.index(b"\x00") > 64 * 1024
    paths, result = load(tmp_path, "border_crossings", data)
    assert rejected(paths)[2900][:2] == ("surname", "nul_byte")


def test_nul_byte_in_the_header_refuses_the_file(sample_delivery, tmp_path):
    lines = sample_lines(sample_delivery, "border_crossings")
    lines[0] = lines[0].replace(b"record_id", b"record\x00_id")
    with pytest.raises(Exception, match="binary content"):
        load(tmp_path, "border_crossings", b"\n".join(lines))


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n"])
def test_header_only_file_is_an_empty_delivery(sample_delivery, tmp_path, ending):
    header = sample_lines(sample_delivery, "permits")[0]
    paths, result = load(tmp_path, "permits", header + ending)
    assert (result.status, result.rows_read) == ("loaded", 0)


# --- 8: no date of birth in registration dates ------------------------------------------


def test_registration_at_birth_is_given_to_the_month_after(ingested_run, sample_delivery):
    delivered = pl.read_csv(sample_delivery / "population_register.csv", infer_schema=False)
    rows = loaded(ingested_run, "population_register",
                  "record_id, registered_from, registered_from_precision").join(
        delivered.select("record_id", "date_of_birth",
                         delivered_from=pl.col("registered_from").str.to_date()),
        on="record_id")
    at_birth = rows.filter(pl.col("delivered_from") == pl.col("date_of_birth").str.to_date())
    assert at_birth.height > 3000
    assert (at_birth["registered_from_precision"] == "month").all()
    assert (at_birth["registered_from"] == at_birth["delivered_from"].dt.month_start()
            .dt.offset_by("1mo")).all()
    # registrations years after birth (immigrants) keep their day
    later = rows.filter(pl.col("delivered_from").dt.year()
                        > pl.col("date_of_birth").str.slice(0, 4).cast(pl.Int32))
    assert later.height > 100
    assert (later["registered_from_precision"] == "day").all()
    assert (later["registered_from"] == later["delivered_from"]).all()


def test_registration_month_is_never_the_delivered_birth_date(sample_delivery, tmp_path):
    """Registered 2010-01-02 with a date of birth delivered as 2010-02-01 (day and month
    swapped): the month after the registration would be that day, so the one after."""
    lines = sample_lines(sample_delivery, "population_register")
    set_cell(lines, 3, "registered_from", b"2010-01-02")
    set_cell(lines, 3, "date_of_birth", b"2010-02-01")
    paths, _ = load(tmp_path, "population_register", b"\n".join(lines) + b"\n")
    row = loaded(paths, "population_register").filter(pl.col("row_number") == 3).row(
        0, named=True)
    assert (row["registered_from"], row["registered_from_precision"]) == \
        (date(2010, 3, 1), "month")


def test_implausible_end_of_a_spell_is_flagged_not_quarantined(sample_delivery, tmp_path):
    lines = sample_lines(sample_delivery, "population_register")
    set_cell(lines, 6, "deregistered_on", b"1899-12-31")
    paths, result = load(tmp_path, "population_register", b"\n".join(lines) + b"\n")
    assert result.rows_rejected == 0
    row = loaded(paths, "population_register").filter(pl.col("row_number") == 6).row(
        0, named=True)
    assert row["deregistered_on"] is None
    assert "deregistered_on:impossible" in row["date_flags"]
