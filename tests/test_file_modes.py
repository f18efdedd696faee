"""File modes (issue 13, finding 9): restricted databases are created owner-only, in an
owner-only folder, and refused when others may read them."""

from __future__ import annotations

import os
import stat

import duckdb
import pytest

from regmig.errors import RegmigError
from regmig.warehouse.connection import open_identifiers, open_warehouse
from regmig.warehouse.paths import RunPaths


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_restricted_files_are_created_owner_only_whatever_the_umask(tmp_path):
    previous = os.umask(0o000)  # the loosest: everything would be world-writable
    try:
        paths = RunPaths(tmp_path / "run")
        open_warehouse(paths).close()
        con = open_identifiers(paths)
        con.execute("INSERT INTO ident.quarantine VALUES ('permits', 1, 1, '{}')")
        assert mode(paths.restricted) == 0o700
        assert mode(paths.identifiers) == 0o600
        assert mode(paths.stats) == 0o600
        # the write-ahead log DuckDB creates with the umask's mode lies behind the folder
        assert [p.name for p in paths.restricted.glob("*.wal")] == ["identifiers.duckdb.wal"]
        con.close()
    finally:
        os.umask(previous)


@pytest.mark.parametrize("target, loose", [("file", 0o644), ("file", 0o640),
                                           ("folder", 0o755), ("folder", 0o711)])
def test_restricted_files_others_may_read_are_refused(tmp_path, target, loose):
    paths = RunPaths(tmp_path / "run")
    open_identifiers(paths).close()
    (paths.identifiers if target == "file" else paths.restricted).chmod(loose)
    for read_only in (False, True):
        with pytest.raises(RegmigError, match="accessible to group or others"):
            open_identifiers(paths, read_only=read_only)


def test_a_run_folder_of_the_old_layout_is_moved_into_the_restricted_folder(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    legacy = out / "identifiers.duckdb"
    with duckdb.connect(str(legacy)) as con:
        con.execute("CREATE SCHEMA ident; CREATE TABLE ident.marker AS SELECT 42 AS x")
    legacy.chmod(0o644)
    paths = RunPaths(out)
    con = open_identifiers(paths)
    assert con.sql("SELECT x FROM ident.marker").fetchall() == [(42,)]
    con.close()
    assert not legacy.exists() and mode(paths.identifiers) == 0o600
