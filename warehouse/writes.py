"""Writing frames into warehouse tables declared in `regmig.schemas`.

A stage hands over a polars frame or an Arrow table; the columns written are the
declared ones, in their declared order, so a frame with extra or reordered columns
cannot put a value in the wrong column.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import polars as pl
import pyarrow as pa

from regmig.schemas.table_spec import Table, comment_relation
from regmig.warehouse.connection import RESTRICTED_CATALOG


@contextmanager
def registered(
    con: duckdb.DuckDBPyConnection, name: str, data: pl.DataFrame | pa.Table
) -> Iterator[str]:
    """Make `data` queryable as the view `name` for the length of the block."""
    con.register(name, data.to_arrow() if isinstance(data, pl.DataFrame) else data)
    try:
        yield name
    finally:
        con.unregister(name)


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    frame: pl.DataFrame,
    run_id: str | None = None,
) -> int:
    """Append the declared columns of `frame` to `table` (with `run_id` if given)."""
    columns = [c.name for c in table.columns]
    if run_id is not None:
        frame = frame.with_columns(run_id=pl.lit(run_id))
    data = frame.select(columns)
    listed = ", ".join(columns)
    with registered(con, "_rows_in", data):
        con.execute(f"INSERT INTO {table.qualified} ({listed}) SELECT {listed} FROM _rows_in")
    return data.height


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    frame: pl.DataFrame,
    run_id: str | None = None,
) -> int:
    """Replace every row of `table` by `frame` (call inside a transaction)."""
    con.execute(f"DELETE FROM {table.qualified}")
    return insert_rows(con, table, frame, run_id)


def create_table_as(
    con: duckdb.DuckDBPyConnection,
    name: str,
    frame: pl.DataFrame,
    comment: str,
    column_comments: dict[str, str],
) -> int:
    """Create table `name` (schema.table) from `frame`, commented table and columns alike:
    for tables whose columns are built at run time (the publication tables)."""
    with registered(con, "_frame_in", frame):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _frame_in")
    comment_relation(con, name, comment, column_comments)
    return frame.height


Frames = list[tuple[Table, pl.DataFrame]]


def by_database(frames: Frames) -> tuple[Frames, Frames]:
    """(restricted tables, warehouse tables): DuckDB writes one database per transaction,
    so a stage commits the first group, then the second (restricted first: a kill in
    between leaves the warehouse as it was, and the stage cache sees the mismatch)."""
    restricted = [(t, f) for t, f in frames if t.schema == RESTRICTED_CATALOG]
    return restricted, [(t, f) for t, f in frames if t.schema != RESTRICTED_CATALOG]


def replace_all(
    con: duckdb.DuckDBPyConnection, frames: Frames, run_id: str | None = None
) -> dict[str, int]:
    """`replace_rows` for each (table, frame); rows written per table."""
    return {table.qualified: replace_rows(con, table, frame, run_id) for table, frame in frames}
