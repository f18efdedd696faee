"""Staging files: a load's rows on disk until the two databases take them in one
transaction each.

Why not insert batch by batch inside the open transaction? DuckDB keeps the rows appended
by an uncommitted transaction in memory whatever its memory_limit (measured: +115 MB per
450,000 crossings, so a 10-million-row delivery needed 5.8 GB), while one
`INSERT ... SELECT * FROM read_parquet(...)` streams through its optimistic writer at
constant memory (0.5 GB) and, with insertion order not preserved, in parallel.

The staging folder lives in the run folder's restricted folder, readable by its owner
only, since the identifier parts hold names and dates of birth like identifiers.duckdb
beside it. It is
removed when the load ends, and any leftover of a killed load when ingest next opens the
run folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl

from regmig.warehouse.paths import RunPaths

STAGING_FOLDER = ".ingest-staging"
#: Cheap to write and read back; the files live only for the duration of a load.
COMPRESSION = "lz4"


def staging_root(run_folder: Path) -> Path:
    return RunPaths(run_folder).restricted / STAGING_FOLDER


def remove_leftovers(run_folder: Path) -> None:
    """Remove staging files of loads that did not finish (call with the databases open,
    so no other process is loading into this run folder)."""
    shutil.rmtree(staging_root(run_folder), ignore_errors=True)


class Staging:
    """Parquet parts of one load, one folder per destination table."""

    def __init__(self, run_folder: Path, load_id: int) -> None:
        root = staging_root(run_folder)
        root.mkdir(mode=0o700, exist_ok=True)
        self.folder = root / f"load-{load_id}"
        self.folder.mkdir(mode=0o700)
        self._parts = 0

    def write(self, table: str, frame: pl.DataFrame) -> None:
        if frame.is_empty():
            return
        folder = self.folder / table
        folder.mkdir(mode=0o700, exist_ok=True)
        self._parts += 1
        frame.write_parquet(folder / f"{self._parts:06d}.parquet", compression=COMPRESSION)

    def insert_into(self, con: duckdb.DuckDBPyConnection, table: str) -> None:
        """Append the staged rows of `table` in the connection's open transaction."""
        files = sorted(str(p) for p in (self.folder / table).glob("*.parquet"))
        if files:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet(?)", [files])

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
