"""meta.quality: the indicators each stage reports about its own run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import duckdb

#: One indicator: (name, value, unit, detail).
Indicator = tuple[str, float, str, str | None]


def record_quality(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    stage: str,
    indicators: Iterable[Indicator],
) -> None:
    """Append (indicator, value, unit, detail) rows to meta.quality."""
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [(run_id, stage, name, float(value), unit, detail, now)
            for name, value, unit, detail in indicators]
    if rows:
        con.executemany("INSERT INTO meta.quality VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
