"""Content hashes of delivery files and warehouse tables: what a run read, so that a later
run can tell whether anything changed (meta.loads, meta.runs.input_hashes)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import duckdb

from regmig.warehouse.catalog import column_names


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_hash(
    con: duckdb.DuckDBPyConnection, tables: Iterable[str], ignore: Iterable[str] = ()
) -> str:
    """A content hash of whole tables, order-independent (keys skip-when-unchanged).

    Columns named in `ignore` (e.g. `run_id`, which changes with every run while the
    content stays the same) are left out of the hash where a table has them.
    """
    ignored = set(ignore)
    parts = []
    for table in tables:
        columns = [c for c in column_names(con, table) if c not in ignored]
        # hash() of the columns rather than of the row as one struct: the same content
        # hash, a quarter faster on ten million crossings.
        listed = ", ".join(f'"{c}"' for c in columns)
        row = con.sql(
            f"SELECT count(*), coalesce(bit_xor(hash({listed})), 0) FROM {table}"
        ).fetchall()[0]
        parts.append(f"{table}:{row[0]}:{row[1]}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()
