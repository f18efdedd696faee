"""What a delivery holds for linkage: the share of profiles carrying each attribute.

The model is built from this, not from a fixed list: a comparison, a blocking pass or a
training pass is used only where its columns are present on enough profiles
(`LinkageConfig.min_column_coverage`), so a delivery without document numbers, dates of
birth or sex links with what it has. The shares go to meta.quality.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

#: Profile columns whose presence decides what the model can use.
COVERED_COLUMNS = (
    "given_name", "surname", "given_key", "surname_key", "surname_tail", "given_initial",
    "surname_initial", "dob", "birth_year", "birth_month", "birth_month_day", "sex",
    "citizenship", "country_of_birth", "document_key", "document_neighbours",
)


@dataclass(frozen=True)
class Coverage:
    profiles: int
    #: column -> share of profiles where it is not empty
    share: dict[str, float]
    #: document keys carried by two profiles or more (pairs a document pass can find)
    shared_documents: int
    #: sources with at least one profile
    sources: tuple[str, ...]


def measure_coverage(work: duckdb.DuckDBPyConnection, table: str = "profiles") -> Coverage:
    shares = ", ".join(f"avg(({c} IS NOT NULL)::INTEGER) AS {c}" for c in COVERED_COLUMNS)
    row = work.sql(f"SELECT count(*), {shares} FROM {table}").fetchall()[0]
    shared = work.sql(f"""
        SELECT count(*) FROM (
            SELECT document_key FROM {table} WHERE document_key IS NOT NULL
            GROUP BY document_key HAVING count(*) > 1)
    """).fetchall()[0][0]
    sources = tuple(r[0] for r in work.sql(
        f"SELECT DISTINCT source FROM {table} ORDER BY source").fetchall())
    return Coverage(int(row[0]), {c: float(v or 0.0) for c, v in zip(
        COVERED_COLUMNS, row[1:], strict=True)}, int(shared), sources)
