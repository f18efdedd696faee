"""Opening the run folder's databases, and the one transaction helper.

`open_warehouse` and `open_identifiers` open the databases with every contracted table
present and commented (docs/design.md §4); restricted databases are created owner-only
and refused when others may read them (`connect_restricted`, warehouse/paths.py);
`transaction` wraps a stage's writes so that a stage replaces what it wrote all at once
or not at all.

The unprotected aggregates live in `restricted/stats.duckdb`, not in the analysts'
`warehouse.duckdb`, so that file permissions can keep them from analysts. A stage's
connection to the warehouse has it ATTACHed as the catalog `stats`: SQL names its tables
`stats.<table>` as if `stats` were a schema of the warehouse. DuckDB lets one transaction
write to one database only, so a stage that writes both commits the restricted tables
first and the warehouse second (see `writes.by_database`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from regmig.errors import RegmigError
from regmig.schemas.table_spec import create_tables
from regmig.schemas.tables import WAREHOUSE_TABLES
from regmig.schemas.tables import identifiers as identifier_tables
from regmig.schemas.tables import stats as stats_tables
from regmig.warehouse.paths import RESTRICTED_FILE_MODE, RESTRICTED_FOLDER_MODE, RunPaths

#: Schemas of the warehouse, in the order data flows through them.
WAREHOUSE_SCHEMAS = ("meta", "raw", "core", "derived", "release")
#: The catalog name under which stats.duckdb is attached (see the module docstring).
RESTRICTED_CATALOG = "stats"


def open_warehouse(paths: RunPaths, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open warehouse.duckdb with the restricted stats.duckdb attached as `stats`,
    creating the contracted schemas and tables if absent (read-only: attached when it
    exists)."""
    if read_only:
        con = duckdb.connect(str(paths.warehouse), read_only=True)
        if paths.stats.exists():
            check_restricted(paths.stats)
            con.execute(f"ATTACH IF NOT EXISTS '{paths.stats}' AS "
                        f"{RESTRICTED_CATALOG} (READ_ONLY)")
        return con
    paths.ensure()
    con = duckdb.connect(str(paths.warehouse))
    # Warehouses of regmig 0.1 kept stats.* as a schema of their own: dropped (publish and
    # estimate write it again), since a schema named `stats` would hide the catalog.
    con.execute(f"DROP SCHEMA IF EXISTS {RESTRICTED_CATALOG} CASCADE")
    check_restricted(paths.stats)
    # IF NOT EXISTS: connections to one file in one process share one database instance.
    with _owner_only():
        con.execute(f"ATTACH IF NOT EXISTS '{paths.stats}' AS {RESTRICTED_CATALOG}")
    os.chmod(paths.stats, RESTRICTED_FILE_MODE)
    # A hundred auto-committed COMMENT statements would cost most of an open.
    with transaction(con):
        for schema in WAREHOUSE_SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        create_tables(con, WAREHOUSE_TABLES)
    with transaction(con):
        create_tables(con, stats_tables.TABLES)
    return con


def open_identifiers(paths: RunPaths, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the restricted identifiers.duckdb (names, exact dates of birth), created
    owner-only; refused when others may read it (see `check_restricted`)."""
    if read_only:
        check_restricted(paths.identifiers)
        return duckdb.connect(str(paths.identifiers), read_only=True)
    paths.ensure()
    con = connect_restricted(paths.identifiers)
    with transaction(con):
        create_tables(con, identifier_tables.TABLES)
    return con


def connect_restricted(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to a restricted database: created with mode 0600, inside
    its owner-only folder; an existing one whose folder or file others may read is
    refused."""
    check_restricted(path)
    if path.exists():
        return duckdb.connect(str(path))
    with _owner_only():
        con = duckdb.connect(str(path))
    os.chmod(path, RESTRICTED_FILE_MODE)
    return con


@contextmanager
def _owner_only() -> Iterator[None]:
    """DuckDB creates a file with the process's umask: owner-only from the first byte."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def check_restricted(path: Path) -> None:
    """Refuse a restricted file, or its folder, that group or others may access."""
    for target, mode, what in ((path.parent, RESTRICTED_FOLDER_MODE, "folder"),
                               (path, RESTRICTED_FILE_MODE, "file")):
        if not target.exists():
            continue
        actual = stat.S_IMODE(target.stat().st_mode)
        if actual & (stat.S_IRWXG | stat.S_IRWXO):
            raise RegmigError(
                f"{target}: restricted {what} (names, dates of birth) is accessible to "
                f"group or others (mode {actual:04o}); make it owner-only "
                f"(chmod {mode:o} {target}) after checking who has read it")


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
