"""Opening the run folder's two databases, and the one transaction helper.

`open_warehouse` and `open_identifiers` open the databases with every contracted table
present and commented (docs/design.md §4); `transaction` wraps a stage's writes so that a
stage replaces what it wrote all at once or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from regmig.schemas.table_spec import create_tables
from regmig.schemas.tables import WAREHOUSE_TABLES
from regmig.schemas.tables import identifiers as identifier_tables
from regmig.warehouse.paths import RunPaths

#: Schemas of the warehouse, in the order data flows through them.
WAREHOUSE_SCHEMAS = ("meta", "raw", "core", "derived", "stats", "release")


def open_warehouse(paths: RunPaths, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open warehouse.duckdb, creating the contracted schemas and tables if absent."""
    if read_only:
        return duckdb.connect(str(paths.warehouse), read_only=True)
    paths.ensure()
    con = duckdb.connect(str(paths.warehouse))
    # A hundred auto-committed COMMENT statements would cost most of an open.
    with transaction(con):
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
    with transaction(con):
        create_tables(con, identifier_tables.TABLES)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN, then COMMIT when the block ends, or ROLLBACK if it raises (kills included:
    an uncommitted DuckDB transaction never reaches the file)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
