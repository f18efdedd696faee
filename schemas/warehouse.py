"""The run folder and its two databases (DESIGN.md §4, §6).

`RunPaths` names every file of a run folder; `open_warehouse` and `open_identifiers`
open the databases with every contracted table present and commented.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
from regmig.schemas.table_spec import create_tables
from regmig.schemas.tables import WAREHOUSE_TABLES
from regmig.schemas.tables import identifiers as identifier_tables

#: Schemas of the warehouse, in the order data flows through them.
WAREHOUSE_SCHEMAS = ("meta", "raw", "core", "derived", "stats", "release")


@dataclass(frozen=True)
class RunPaths:
    """The files of one run folder (`--out DIR`)."""

    out: Path

    @property
    def warehouse(self) -> Path:
        return self.out / "warehouse.duckdb"

    @property
    def identifiers(self) -> Path:
        return self.out / "identifiers.duckdb"

    @property
    def release(self) -> Path:
        return self.out / "release"

    @property
    def report(self) -> Path:
        return self.out / "report.html"

    @property
    def linkage_report(self) -> Path:
        return self.out / "linkage_report.html"

    def ensure(self) -> RunPaths:
        self.out.mkdir(parents=True, exist_ok=True)
        return self


def open_warehouse(paths: RunPaths, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open warehouse.duckdb, creating the contracted schemas and tables if absent."""
    if read_only:
        return duckdb.connect(str(paths.warehouse), read_only=True)
    paths.ensure()
    con = duckdb.connect(str(paths.warehouse))
    with _one_transaction(con):
        for schema in WAREHOUSE_SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        create_tables(con, WAREHOUSE_TABLES)
    return con


def open_identifiers(paths: RunPaths, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the restricted identifiers.duckdb (names, exact dates of birth)."""
    if read_only:
        return duckdb.connect(str(paths.identifiers), read_only=True)
    paths.ensure()
    con = duckdb.connect(str(paths.identifiers))
    with _one_transaction(con):
        create_tables(con, identifier_tables.TABLES)
    return con


@contextmanager
def _one_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """A hundred auto-committed COMMENT statements would cost most of an open."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
