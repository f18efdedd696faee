"""Warehouse tables as data: each table and column with its type and its comment.

The warehouse promises to be self-describing (docs/design.md §4): every table and column
carries a DuckDB comment saying what it holds and whether it counts persons or cases.
Declaring tables here, rather than in hand-written DDL, makes that promise impossible to
forget: `create_sql` and `comment_sql` are generated from the same spec.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str
    constraint: str = ""


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    comment: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def create_sql(self) -> str:
        lines = [f"    {c.name} {c.type} {c.constraint}".rstrip() for c in self.columns]
        if self.primary_key:
            lines.append(f"    PRIMARY KEY ({', '.join(self.primary_key)})")
        body = ",\n".join(lines)
        return f"CREATE TABLE IF NOT EXISTS {self.qualified} (\n{body}\n)"

    def comment_sql(self) -> list[str]:
        return [f"COMMENT ON TABLE {self.qualified} IS {_quote(self.comment)}"] + [
            f"COMMENT ON COLUMN {self.qualified}.{c.name} IS {_quote(c.comment)}"
            for c in self.columns
        ]


def C(name: str, type_: str, comment: str, constraint: str = "") -> Column:
    """Shorthand used by the table modules."""
    return Column(name, type_, comment, constraint)


def create_tables(con: duckdb.DuckDBPyConnection, tables: Iterable[Table]) -> None:
    """Create (if absent) and comment every table; safe to call on every open.

    A table whose `schema` names an attached database rather than a schema (the
    restricted `stats`) is created in that database's default schema."""
    attached = {r[0] for r in con.sql("SELECT database_name FROM duckdb_databases()").fetchall()}
    for table in tables:
        if table.schema not in attached:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.schema}")
        con.execute(table.create_sql())
        for statement in table.comment_sql():
            con.execute(statement)


def comment_relation(
    con: duckdb.DuckDBPyConnection,
    qualified_name: str,
    comment: str,
    column_comments: dict[str, str],
) -> None:
    """Comment a table built by CREATE TABLE AS (e.g. a publication table).

    Every column of the table must be described: a missing description is a bug.
    """
    # Read from the relation itself: `qualified_name` may name a table of an attached
    # database (stats.x), which duckdb_columns() lists under another schema name.
    columns = list(con.sql(f"SELECT * FROM {qualified_name} LIMIT 0").columns)
    missing = [c for c in columns if c not in column_comments]
    if missing:
        raise ValueError(f"{qualified_name}: no comment for column(s) {', '.join(missing)}")
    con.execute(f"COMMENT ON TABLE {qualified_name} IS {_quote(comment)}")
    for column in columns:
        con.execute(
            f"COMMENT ON COLUMN {qualified_name}.{column} IS {_quote(column_comments[column])}"
        )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
