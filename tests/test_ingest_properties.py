"""Property-based tests: corrupted deliveries never give a traceback, and every row read
is loaded or quarantined (read = loaded + rejected, row numbers 1..read each exactly once).
"""

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regmig.config import Config
from regmig.errors import RegmigError
from regmig.ingest.stage import ingest_file
from regmig.warehouse.paths import RunPaths

SOURCES = ("border_crossings", "population_register", "permits")
ROWS_PER_FILE = 25


@pytest.fixture(scope="module")
def clean_files(sample_delivery, tmp_path_factory) -> dict[str, bytes]:
    """The first rows of each sample file, as bytes to corrupt."""
    folder = tmp_path_factory.mktemp("clean")
    files = {}
    for source in SOURCES:
        frame = pl.read_csv(sample_delivery / f"{source}.csv", infer_schema=False)
        path = folder / f"{source}.csv"
        frame.head(ROWS_PER_FILE).write_csv(path)
        files[source] = path.read_bytes()
    return files


@pytest.fixture(scope="module")
def empty_run(tmp_path_factory) -> RunPaths:
    """A run folder with both databases created, copied for each example."""
    from regmig.warehouse.connection import open_identifiers, open_warehouse

    paths = RunPaths(tmp_path_factory.mktemp("empty") / "run")
    open_warehouse(paths).close()
    open_identifiers(paths).close()
    return paths


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _cells(line: bytes) -> list[bytes]:
    return line.split(b",")


@st.composite
def corruption(draw, clean: bytes) -> bytes:
    """One or more corruptions of a clean CSV delivery."""
    lines = _lines(clean)
    header, body = lines[0], [line for line in lines[1:] if line]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from([
            "bad_value", "unknown_code", "wrong_type", "truncate", "duplicate_row",
            "extra_column", "missing_column", "stray_delimiter", "non_utf8", "stray_quote",
            "blank_line", "drop_cells",
        ]))
        row = draw(st.integers(0, len(body) - 1))
        cells = _cells(body[row])
        column = draw(st.integers(0, len(cells) - 1))
        if kind in ("bad_value", "unknown_code", "wrong_type"):
            value = {
                "bad_value": draw(st.sampled_from([b"2023-02-30", b"1980-13", b"1980",
                                                   b"31/12/1999", b"", b"  "])),
                "unknown_code": draw(st.sampled_from([b"XYZ", b"zz", b"sideways", b"Q"])),
                "wrong_type": draw(st.sampled_from([b"12.5", b"true", b"-1", b"NaN",
                                                    b"\xd0\x96\xd0\xb6"])),
            }[kind]
            cells[column] = value
            body[row] = b",".join(cells)
        elif kind == "truncate":
            data = b"\n".join([header] + body)
            cut = draw(st.integers(len(header) + 1, len(data)))
            body = _lines(data[:cut])[1:]
        elif kind == "duplicate_row":
            body.insert(draw(st.integers(0, len(body))), body[row])
        elif kind == "extra_column":
            header += b",extra"
            body = [line + b",x" for line in body]
        elif kind == "missing_column":
            header_cells = _cells(header)
            drop = draw(st.integers(0, len(header_cells) - 1))
            header = b",".join(c for i, c in enumerate(header_cells) if i != drop)
            body = [b",".join(c for i, c in enumerate(_cells(line)) if i != drop)
                    for line in body]
        elif kind == "stray_delimiter":
            cells.insert(column, b"")
            body[row] = b",".join(cells)
        elif kind == "non_utf8":
            cells[column] = cells[column] + draw(st.sampled_from([b"\xff", b"\xe9", b"\xc3"]))
            body[row] = b",".join(cells)
        elif kind == "stray_quote":
            cells[column] = b'"' + cells[column]
            body[row] = b",".join(cells)
        elif kind == "blank_line":
            body.insert(row, b"")
        elif kind == "drop_cells":
            body[row] = b",".join(cells[: draw(st.integers(0, len(cells) - 1))])
        if not body:
            body = []
    return b"\n".join([header] + body) + draw(st.sampled_from([b"\n", b""]))


@pytest.mark.parametrize("source", SOURCES)
def test_corrupted_delivery_is_loaded_or_quarantined_row_by_row(
    source, clean_files, empty_run, tmp_path_factory
):
    @settings(max_examples=8, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(data=st.data())
    def check(data):
        content = data.draw(corruption(clean_files[source]))
        folder = tmp_path_factory.mktemp("example")
        paths = RunPaths(folder / "run")
        shutil.copytree(empty_run.out, paths.out)
        path = folder / f"{source}.csv"
        path.write_bytes(content)
        try:
            result = ingest_file(paths, Config(), source, path, "property")
        except RegmigError as exc:
            message = str(exc)
            assert "\n" not in message and str(path) in message
            _assert_refusal_recorded(paths)
            return
        assert result.rows_read == result.rows_loaded + result.rows_rejected
        _assert_every_row_accounted_for(paths, source, result.rows_read)

    check()


def _assert_refusal_recorded(paths: RunPaths) -> None:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.sql("SELECT status FROM meta.loads").fetchall() == [("refused",)]
        assert con.sql("SELECT count(*) FROM raw.rejected").fetchall() == [(0,)]
    with duckdb.connect(str(paths.identifiers), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM ident.records").fetchall() == [(0,)]


def _assert_every_row_accounted_for(paths: RunPaths, source: str, rows_read: int) -> None:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        loaded = con.sql(f"SELECT row_number FROM raw.{source}").pl()["row_number"]
        rejected = con.sql("SELECT DISTINCT row_number FROM raw.rejected").pl()["row_number"]
        meta = con.sql("SELECT rows_read, rows_loaded, rows_rejected FROM meta.loads"
                       ).fetchall()
        unlocated = con.sql(f"""SELECT count(*) FROM raw.rejected WHERE NOT starts_with(
            reason, '{source}.csv: row ' || row_number || (CASE WHEN column_name IS NULL
            THEN ':' ELSE ', column ' || column_name || ':' END))""").fetchall()
    assert unlocated == [(0,)]  # every reason names the file, the row and the column
    assert meta == [(rows_read, loaded.len(), rejected.len())]
    numbers = sorted(loaded.to_list() + rejected.to_list())
    assert numbers == list(range(1, rows_read + 1))
    with duckdb.connect(str(paths.identifiers), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM ident.records").fetchall() == [(loaded.len(),)]
        assert con.sql("SELECT count(DISTINCT row_number) FROM ident.quarantine"
                       ).fetchall() == [(rejected.len(),)]


def test_clean_sample_rows_are_all_loaded(clean_files, empty_run, tmp_path: Path):
    """The property above is not vacuous: uncorrupted rows load without a rejection."""
    paths = RunPaths(tmp_path / "run")
    shutil.copytree(empty_run.out, paths.out)
    for source in SOURCES:
        path = tmp_path / f"{source}.csv"
        path.write_bytes(clean_files[source])
        result = ingest_file(paths, Config(), source, path, "clean")
        assert (result.rows_read, result.rows_loaded) == (ROWS_PER_FILE, ROWS_PER_FILE)
