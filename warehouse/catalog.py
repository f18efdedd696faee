"""What tables the warehouse holds, as `schema.table` names that SQL can use.

`stats` is an attached database (restricted/stats.duckdb) rather than a schema, so DuckDB's
own listings name its tables `main` of database `stats`; these helpers name them
`stats.<table>`, as every query does, so that callers never need to know the difference.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from regmig.warehouse.connection import RESTRICTED_CATALOG

_TABLES = f"""
    SELECT CASE WHEN database_name = '{RESTRICTED_CATALOG}' THEN '{RESTRICTED_CATALOG}'
                ELSE schema_name END AS schema_name,
           table_name
    FROM duckdb_tables()
    WHERE database_name = current_database()
       OR (database_name = '{RESTRICTED_CATALOG}' AND schema_name = 'main')
"""


def table_names(
    con: duckdb.DuckDBPyConnection, schemas: Iterable[str] | None = None
) -> list[str]:
    """Every table as `schema.table`, sorted; only those of `schemas` if given."""
    wanted = None if schemas is None else set(schemas)
    return sorted(
        f"{schema}.{name}" for schema, name in con.sql(_TABLES).fetchall()
        if wanted is None or schema in wanted
    )


def has_table(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    return qualified in table_names(con, [qualified.split(".")[0]])


def column_names(con: duckdb.DuckDBPyConnection, qualified: str) -> list[str]:
    return list(con.sql(f"SELECT * FROM {qualified} LIMIT 0").columns)
