"""meta.loads bookkeeping: which files are in force, which were superseded, which were
refused; and keeping identifiers.duckdb in step with the warehouse.

Periods. A delivery covers a period; a later delivery of the same source and period is a
correction that supersedes the earlier one (its rows leave raw.<source>; its meta.loads row
gets status superseded and superseded_by). The period is, in this order:
1. the one given explicitly (`regmig ingest --period P`);
2. the suffix of the file name after the source name: `border_crossings_2024-03.csv` ->
   "2024-03" (any text after `<source>_`);
3. otherwise the file name without its extension: re-delivering `border_crossings.csv`
   (as CSV or Parquet) replaces the earlier `border_crossings.csv`.

Records. Every delivery may also send again a record_id that an earlier delivery of the
source, of any period, holds: a deregistration or a permit decision sent as a new version
of the record, a correction of a record already sent. The later row supersedes the
earlier one: the earlier version moves to raw.<source>_superseded (with the load that
superseded it) and the new one takes its place in raw.<source>, so raw.<source> holds one
row per record_id, the latest delivered. "Later" is load order. A record_id twice within
one file is still refused (check "unique").

Two databases, one load. DuckDB cannot commit two database files in one transaction, so a
load writes identifiers.duckdb first (rows keyed by the new load_id) and commits the
warehouse last; the meta.loads row with status loaded is the commit point. Rows in
identifiers.duckdb whose load is not (or no longer) in force in meta.loads are leftovers of
a load that died between the two commits, or of a superseded load: `remove_orphans` deletes
them each time ingest opens the databases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from regmig.errors import RegmigError
from regmig.schemas.tables.raw import SOURCE_TABLES, SUPERSEDED_TABLES
from regmig.warehouse.connection import transaction
from regmig.warehouse.writes import registered

#: Statuses of meta.loads (a skipped duplicate is reported, not recorded).
LOADED, SUPERSEDED, REFUSED = "loaded", "superseded", "refused"


@dataclass(frozen=True)
class PriorLoad:
    load_id: int
    file_name: str
    status: str


def delivery_period(path: Path, source: str, explicit: str | None = None) -> str:
    """The period a delivery file covers (see the module docstring)."""
    if explicit:
        return explicit
    stem = path.name.split(".", 1)[0]
    match = re.fullmatch(rf"{re.escape(source)}[_\-.](.+)", stem, flags=re.IGNORECASE)
    return match.group(1) if match else stem


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def find_same_file(con: duckdb.DuckDBPyConnection, source: str, sha256: str) -> PriorLoad | None:
    """An earlier load of exactly these bytes (in force or superseded)."""
    rows = con.execute(
        "SELECT load_id, file_name, status FROM meta.loads WHERE source = ? "
        "AND file_sha256 = ? AND status IN (?, ?) ORDER BY load_id LIMIT 1",
        [source, sha256, LOADED, SUPERSEDED],
    ).fetchall()
    return PriorLoad(*rows[0]) if rows else None


def load_in_force(con: duckdb.DuckDBPyConnection, source: str, period: str) -> PriorLoad | None:
    """The load a new delivery of this source and period would supersede."""
    rows = con.execute(
        "SELECT load_id, file_name, status FROM meta.loads WHERE source = ? AND period = ? "
        "AND status = ? ORDER BY load_id DESC LIMIT 1",
        [source, period, LOADED],
    ).fetchall()
    return PriorLoad(*rows[0]) if rows else None


def next_load_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.sql("SELECT coalesce(max(load_id), 0) + 1 FROM meta.loads").fetchall()[0][0])


def supersede(
    con: duckdb.DuckDBPyConnection, source: str, old_load_id: int, new_load_id: int
) -> None:
    """Inside the warehouse transaction of the new load: the old rows leave raw.<source>
    (its quarantine rows stay, for the record) and the old load is marked superseded."""
    con.execute(f"DELETE FROM {SOURCE_TABLES[source].qualified} WHERE load_id = ?",
                [old_load_id])
    con.execute(
        "UPDATE meta.loads SET status = ?, superseded_by = ? WHERE load_id = ?",
        [SUPERSEDED, new_load_id, old_load_id],
    )


def supersede_records(con: duckdb.DuckDBPyConnection, source: str, new_load_id: int) -> int:
    """Inside the warehouse transaction of the new load, after its rows went in: earlier
    versions of its record_ids move to raw.<source>_superseded. Returns how many."""
    table, history = SOURCE_TABLES[source].qualified, SUPERSEDED_TABLES[source].qualified
    earlier = (f"FROM {table} WHERE load_id <> $load AND record_id IN "
               f"(SELECT record_id FROM {table} WHERE load_id = $load)")
    con.execute(f"INSERT INTO {history} BY NAME SELECT *, $load AS superseded_by_load_id "
                f"{earlier}", {"load": new_load_id})
    return int(con.execute(f"DELETE {earlier}", {"load": new_load_id}).fetchall()[0][0])


def record_refusal(
    con: duckdb.DuckDBPyConnection,
    source: str,
    path: Path,
    sha256: str,
    period: str,
    message: str,
    run_id: str,
) -> None:
    """One meta.loads row per refused file (re-offering the same bytes updates it)."""
    with transaction(con):
        con.execute("DELETE FROM meta.loads WHERE source = ? AND file_sha256 = ? AND status = ?",
                    [source, sha256, REFUSED])
        con.execute(
            "INSERT INTO meta.loads (load_id, source, file_name, file_path, file_sha256, "
            "period, status, rows_read, rows_loaded, rows_rejected, message, run_id, "
            "loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?)",
            [next_load_id(con), source, path.name, str(path), sha256, period, REFUSED,
             message, run_id, now_utc()],
        )


def remove_orphans(
    warehouse: duckdb.DuckDBPyConnection, identifiers: duckdb.DuckDBPyConnection
) -> int:
    """Delete identifier rows of loads not in force (see the module docstring).

    ident.records and ident.document_neighbours keep rows of loads in force only;
    ident.quarantine also keeps those of superseded loads, like raw.rejected does."""
    in_force = warehouse.sql(
        "SELECT load_id, status FROM meta.loads WHERE status IN (?, ?)",
        params=[LOADED, SUPERSEDED],
    ).pl()
    with registered(identifiers, "loads_in_warehouse", in_force), transaction(identifiers):
        removed = 0
        for table in ("ident.records", "ident.document_neighbours"):
            removed += identifiers.execute(
                f"DELETE FROM {table} WHERE load_id NOT IN "
                "(SELECT load_id FROM loads_in_warehouse WHERE status = ?)", [LOADED]
            ).fetchall()[0][0]
        removed += identifiers.execute(
            "DELETE FROM ident.quarantine WHERE load_id NOT IN "
            "(SELECT load_id FROM loads_in_warehouse)"
        ).fetchall()[0][0]
    return int(removed)


def check_source(source: str) -> None:
    if source not in SOURCE_TABLES:
        raise RegmigError(f"unknown source '{source}': expected one of "
                          f"{', '.join(SOURCE_TABLES)}")
