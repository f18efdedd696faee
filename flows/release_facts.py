"""Facts about the protected release that the run report and the demo summary show.

Read from what publish leaves in the restricted `stats` tables: the information loss per
table (cells published, primary and complementary suppressions) and the disclosure audit
of every primary cell.
"""

from __future__ import annotations

import duckdb

from regmig.warehouse.catalog import has_table


def suppression_by_table(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int, int]]:
    """(table, cells, primary suppressed, secondary suppressed) per protected table."""
    if not has_table(con, "stats.information_loss"):
        return []
    return con.sql(
        "SELECT table_id, cells, cells_primary, cells_complementary "
        "FROM stats.information_loss ORDER BY table_id"
    ).fetchall()


def audit_result(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(primary cells audited, cells an attacker could narrow below the threshold)."""
    if not has_table(con, "stats.disclosure_audit"):
        return 0, 0
    audited, exposed = con.sql(
        "SELECT count(*), count(*) FILTER (WHERE NOT ok) FROM stats.disclosure_audit"
    ).fetchall()[0]
    return audited, exposed
