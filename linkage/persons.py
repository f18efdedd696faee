"""Clusters to the core tables: person_map, persons, crossings.

Every loaded record of every source maps to exactly one person: a record belongs to one
profile, a profile to one cluster, a cluster to one person id. Attributes are
consolidated per person over all its records; attributes whose records disagree are
listed in `conflicts`. A changed citizenship is not a conflict but a naturalisation:
`first_citizenship` and `citizenship` then differ.

Built in the working database as out_person_map, out_persons, out_crossings (no names,
no exact dates of birth: only ids, year and month of birth, and non-identifying fields).
"""

from __future__ import annotations

import duckdb

from regmig.schemas.table_spec import create_tables
from regmig.schemas.tables.core import CROSSINGS, PERSON_MAP, PERSONS
from regmig.warehouse.writes import registered

CORE_TABLES = {"person_map": PERSON_MAP, "persons": PERSONS, "crossings": CROSSINGS}


def build_record_clusters(work: duckdb.DuckDBPyConnection, cluster_threshold: float) -> None:
    """`record_clusters` (per record) and `profile_probability` (per profile)."""
    work.execute(f"""
        CREATE OR REPLACE TABLE profile_probability AS
        WITH kept_links AS (   -- links at or above the threshold inside a final cluster
            SELECT p.unique_id_l, p.unique_id_r, p.match_probability
            FROM pairs AS p
            JOIN profile_clusters AS cl ON cl.unique_id = p.unique_id_l
            JOIN profile_clusters AS cr ON cr.unique_id = p.unique_id_r
            WHERE cl.cluster_id = cr.cluster_id
              AND p.match_probability >= {float(cluster_threshold)}
        ), ends AS (
            SELECT unique_id_l AS unique_id, match_probability FROM kept_links
            UNION ALL
            SELECT unique_id_r, match_probability FROM kept_links
        )
        SELECT unique_id, max(match_probability) AS match_probability
        FROM ends GROUP BY unique_id
    """)
    work.execute("""
        CREATE OR REPLACE TABLE record_clusters AS
        SELECT r.source, r.record_id, c.cluster_id, c.in_conflict,
               coalesce(pp.match_probability, 1.0) AS match_probability
        FROM link_records AS r
        JOIN profile_clusters AS c ON c.unique_id = r.profile_id
        LEFT JOIN profile_probability AS pp ON pp.unique_id = r.profile_id
    """)


def build_person_tables(work: duckdb.DuckDBPyConnection, run_id: str) -> None:
    work.execute("""
        CREATE OR REPLACE TABLE out_person_map AS
        SELECT rc.source, rc.record_id, cp.person_id, rc.match_probability,
               $run_id AS run_id
        FROM record_clusters AS rc JOIN cluster_person AS cp USING (cluster_id)
    """, {"run_id": run_id})
    work.execute("""
        CREATE OR REPLACE TABLE out_crossings AS
        SELECT b.record_id, m.person_id, b.crossing_date, b.crossed_at, b.direction,
               nullif(b.citizenship, '') AS citizenship, b.country_of_residence,
               b.origin_destination, b.travel_purpose, $run_id AS run_id
        FROM in_border_crossings AS b
        JOIN out_person_map AS m
          ON m.source = 'border_crossings' AND m.record_id = b.record_id
    """, {"run_id": run_id})
    work.execute(_PERSONS_SQL, {"run_id": run_id})


# Modal values break ties on the smallest value so that reruns agree.
_PERSONS_SQL = """
CREATE OR REPLACE TABLE out_persons AS
WITH records AS (
    SELECT m.person_id, r.source, r.sex, r.citizenship, r.country_of_birth, r.record_date,
           year(r.date_of_birth) AS birth_year, month(r.date_of_birth) AS birth_month,
           rc.in_conflict
    FROM link_records AS r
    JOIN out_person_map AS m USING (source, record_id)
    JOIN record_clusters AS rc USING (source, record_id)
), per_person AS (
    SELECT person_id,
           mode_sex: first(sex ORDER BY sex_n DESC, sex) FILTER (WHERE sex IS NOT NULL),
           n_crossings: count(*) FILTER (WHERE source = 'border_crossings'),
           n_register_records: count(*) FILTER (WHERE source = 'population_register'),
           n_permit_records: count(*) FILTER (WHERE source = 'permits'),
           citizenship: first(citizenship ORDER BY record_date DESC NULLS LAST, citizenship)
               FILTER (WHERE citizenship IS NOT NULL),
           first_citizenship: first(citizenship ORDER BY record_date NULLS LAST, citizenship)
               FILTER (WHERE citizenship IS NOT NULL),
           birth: first(birth_year * 100 + birth_month ORDER BY birth_n DESC,
                        birth_year * 100 + birth_month)
               FILTER (WHERE birth_year IS NOT NULL),
           country_of_birth: first(country_of_birth ORDER BY cob_n DESC, country_of_birth)
               FILTER (WHERE country_of_birth IS NOT NULL),
           sex_conflict: count(DISTINCT sex) > 1,
           birth_conflict: count(DISTINCT birth_year * 100 + birth_month) > 1,
           cob_conflict: count(DISTINCT country_of_birth) > 1,
           register_conflict: bool_or(in_conflict)
    FROM (
        SELECT *,
               count(*) OVER (PARTITION BY person_id, sex) AS sex_n,
               count(*) OVER (PARTITION BY person_id, birth_year, birth_month) AS birth_n,
               count(*) OVER (PARTITION BY person_id, country_of_birth) AS cob_n
        FROM records
    )
    GROUP BY person_id
)
SELECT person_id, mode_sex AS sex, CAST(birth // 100 AS INTEGER) AS birth_year,
       CAST(birth % 100 AS INTEGER) AS birth_month, citizenship, first_citizenship,
       country_of_birth, CAST(n_crossings AS INTEGER) AS n_crossings,
       CAST(n_register_records AS INTEGER) AS n_register_records,
       CAST(n_permit_records AS INTEGER) AS n_permit_records,
       list_filter([
           CASE WHEN sex_conflict THEN 'sex' END,
           CASE WHEN birth_conflict THEN 'birth_year_month' END,
           CASE WHEN cob_conflict THEN 'country_of_birth' END,
           CASE WHEN register_conflict THEN 'register_ids_split' END
       ], lambda x: x IS NOT NULL) AS conflicts,
       $run_id AS run_id
FROM per_person
"""


def write_core_tables(
    warehouse: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection
) -> dict[str, int]:
    """Replace core.person_map, core.persons and core.crossings (inside the caller's
    transaction); return the rows written."""
    counts = {}
    for table, columns in (
        ("person_map", "source, record_id, person_id, match_probability, run_id"),
        ("persons", "person_id, sex, birth_year, birth_month, citizenship, "
                    "first_citizenship, country_of_birth, n_crossings, n_register_records, "
                    "n_permit_records, conflicts, run_id"),
        ("crossings", "record_id, person_id, crossing_date, crossed_at, direction, "
                      "citizenship, country_of_residence, origin_destination, "
                      "travel_purpose, run_id"),
    ):
        arrow = work.sql(f"SELECT {columns} FROM out_{table}").to_arrow_table()
        # Dropping and recreating is instant; deleting ten million keyed rows is not.
        warehouse.execute(f"DROP TABLE core.{table}")
        create_tables(warehouse, [CORE_TABLES[table]])
        with registered(warehouse, "_arrow_out", arrow):
            warehouse.execute(
                f"INSERT INTO core.{table} ({columns}) SELECT {columns} FROM _arrow_out"
            )
        counts[f"core.{table}"] = arrow.num_rows
    return counts
