"""The link stage's working database: an in-memory DuckDB that Splink may fill freely.

Splink writes many intermediate tables; none of them may land in the analysts' warehouse,
and names and exact dates of birth may never reach it. So the stage copies what it needs
into a private in-memory database (`work`): the non-identifying raw columns from the
warehouse and the cleaned names and dates of birth from identifiers.duckdb (opened
read-only). Only person ids and probabilities travel back.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from regmig.config import LinkageConfig
from regmig.schemas.tables.identifiers import DOCUMENT_NEIGHBOURS
from regmig.warehouse.catalog import has_table
from regmig.warehouse.connection import open_identifiers
from regmig.warehouse.paths import RunPaths
from regmig.warehouse.writes import registered

SOURCES = ("border_crossings", "population_register", "permits")

#: Columns of raw.<source> the link stage reads (never names, dates of birth or numbers).
RAW_COLUMNS = {
    "border_crossings": (
        "record_id, document_key, document_country, sex, birth_year, birth_month, "
        "citizenship, country_of_birth, crossing_date, crossed_at, direction, "
        "country_of_residence, origin_destination, travel_purpose, load_id, row_number"
    ),
    "population_register": (
        "record_id, person_key, document_key, document_country, sex, birth_year, "
        "birth_month, citizenship, second_citizenship, country_of_birth, registered_from, "
        "deregistered_on, load_id, row_number"
    ),
    "permits": (
        "record_id, permit_id, document_key, document_country, sex, birth_year, "
        "birth_month, citizenship, country_of_birth, "
        "coalesce(application_date, valid_from, decision_date) AS record_date, "
        "load_id, row_number"
    ),
}


def open_work_db(config: LinkageConfig, spill_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB with a memory limit and a spill directory."""
    work = duckdb.connect(":memory:")
    work.execute(f"SET memory_limit = '{config.duckdb_memory_limit}'")
    if config.duckdb_threads:
        work.execute(f"SET threads = {int(config.duckdb_threads)}")
    spill = spill_dir or Path(tempfile.gettempdir())
    work.execute(f"SET temp_directory = '{spill}'")
    work.execute("SET preserve_insertion_order = false")
    return work


def load_inputs(
    warehouse: duckdb.DuckDBPyConnection,
    work: duckdb.DuckDBPyConnection,
    paths: RunPaths,
) -> dict[str, int]:
    """Copy the raw sources and the identifiers into `work`; return rows per source.

    Tables in `work`: in_border_crossings, in_population_register, in_permits, in_ident,
    in_document_neighbours (per document pseudonym, its neighbourhood one character
    apart), names_without_latin (per source: delivered names that have no Latin form).
    """
    counts = {}
    for source in SOURCES:
        arrow = warehouse.sql(f"SELECT {RAW_COLUMNS[source]} FROM raw.{source}").to_arrow_table()
        with registered(work, "_arrow_in", arrow):
            work.execute(f"CREATE OR REPLACE TABLE in_{source} AS SELECT * FROM _arrow_in")
        counts[source] = arrow.num_rows
        del arrow
    ident = open_identifiers(paths, read_only=True)
    try:
        arrow = ident.sql(
            "SELECT source, load_id, record_id, given_name_clean, surname_clean, date_of_birth "
            "FROM ident.records"
        ).to_arrow_table()
        # counts only: the delivered names themselves never leave identifiers.duckdb
        without_latin = ident.sql("""
            SELECT source,
                   count(*) FILTER (WHERE given_name IS NOT NULL AND given_name_clean IS NULL)
                       AS given_names,
                   count(*) FILTER (WHERE surname IS NOT NULL AND surname_clean IS NULL)
                       AS surnames
            FROM ident.records GROUP BY source
        """).to_arrow_table()
        copy_document_neighbours(ident, work)
    finally:
        ident.close()
    with registered(work, "_arrow_in", without_latin):
        work.execute("CREATE OR REPLACE TABLE names_without_latin AS SELECT * FROM _arrow_in")
    with registered(work, "_arrow_in", arrow):
        work.execute("CREATE OR REPLACE TABLE in_ident AS SELECT * FROM _arrow_in")
    return counts


def copy_document_neighbours(
    ident: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection,
    documents: str | None = None,
) -> None:
    """`in_document_neighbours` in `work`: one neighbourhood per document pseudonym (a
    document comes again in later loads), of every document or of those in the `work`
    table `documents` (document_key). A run folder ingested before neighbourhoods
    existed has none: its documents then link on equality alone."""
    if not has_table(ident, DOCUMENT_NEIGHBOURS.qualified):
        neighbours = ident.sql("SELECT NULL::VARCHAR AS document_key, "
                               "NULL::BIGINT[] AS neighbour_keys WHERE false").to_arrow_table()
    elif documents is None:
        neighbours = ident.sql(_NEIGHBOURS.format(wanted="")).to_arrow_table()
    else:
        keys = work.sql(f"SELECT DISTINCT document_key FROM {documents}").to_arrow_table()
        with registered(ident, "_documents", keys):
            neighbours = ident.sql(_NEIGHBOURS.format(
                wanted="WHERE document_key IN (SELECT document_key FROM _documents)"
            )).to_arrow_table()
    with registered(work, "_arrow_in", neighbours):
        work.execute("CREATE OR REPLACE TABLE in_document_neighbours AS SELECT * FROM _arrow_in")


_NEIGHBOURS = ("SELECT document_key, first(neighbour_keys) AS neighbour_keys "
               "FROM ident.document_neighbours {wanted} GROUP BY document_key")
