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


def build_person_tables(work: duckdb.DuckDBPyConnection, run_id: str,
                        from_profiles: bool = False) -> None:
    """out_person_map and out_crossings from record_clusters and cluster_person, and
    out_persons: from the records in link_records, or (`from_profiles`) from the value
    counts of the persons' profiles in `profile_value_counts` (value_counts_sql per
    profile) and profile_clusters, which need none of their records."""
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
    if from_profiles:
        work.execute("""
            CREATE OR REPLACE TABLE person_value_counts AS
            SELECT cp.person_id, v.attribute, v.value, sum(v.n) AS n,
                   min(v.first_date) AS first_date, max(v.last_date) AS last_date
            FROM profile_value_counts AS v
            JOIN profile_clusters AS pc USING (unique_id)
            JOIN cluster_person AS cp USING (cluster_id)
            GROUP BY ALL;

            CREATE OR REPLACE TABLE person_conflicts AS
            SELECT cp.person_id, bool_or(pc.in_conflict) AS register_conflict
            FROM profile_clusters AS pc JOIN cluster_person AS cp USING (cluster_id)
            GROUP BY ALL;
        """)
    else:
        person_records = ("(SELECT r.*, m.person_id FROM link_records AS r "
                          "JOIN out_person_map AS m USING (source, record_id))")
        work.execute(f"""
            CREATE OR REPLACE TABLE person_value_counts AS
            {value_counts_sql(person_records, "person_id")};

            CREATE OR REPLACE TABLE person_conflicts AS
            SELECT m.person_id, bool_or(rc.in_conflict) AS register_conflict
            FROM out_person_map AS m JOIN record_clusters AS rc USING (source, record_id)
            GROUP BY ALL;
        """)
    work.execute(_PERSONS_SQL, {"run_id": run_id})


def value_counts_sql(records: str, unit: str) -> str:
    """Per `unit` of the relation `records` (link_records' columns and `unit`) and per
    attribute core.persons is made of (source, sex, birth: year * 100 + month, citizenship,
    country_of_birth), each value with its records and its first and last record date.
    Counts add up: a person's are the sums of its profiles' (linkage/incremental.py keeps
    them per profile, so that a person is summarised without reading its records)."""
    return f"""
WITH records AS (
    SELECT {unit}, source, sex, citizenship, country_of_birth, record_date,
           CAST(year(date_of_birth) * 100 + month(date_of_birth) AS VARCHAR) AS birth
    FROM {records}
), long AS (
    UNPIVOT records ON source, sex, citizenship, country_of_birth, birth
    INTO NAME attribute VALUE value
)
SELECT {unit}, attribute, value, count(*) AS n, min(record_date) AS first_date,
       max(record_date) AS last_date
FROM long GROUP BY ALL
"""


# Modal values break ties on the smallest value so that reruns agree. The latest and the
# first citizenship are those of the latest and the earliest dated record (undated last).
_PERSONS_SQL = """
CREATE OR REPLACE TABLE out_persons AS
WITH per_person AS (
    SELECT person_id,
           mode_sex: first(value ORDER BY n DESC, value) FILTER (WHERE attribute = 'sex'),
           n_crossings: coalesce(sum(n) FILTER (WHERE attribute = 'source'
                                                AND value = 'border_crossings'), 0),
           n_register_records: coalesce(sum(n) FILTER (WHERE attribute = 'source'
                                                       AND value = 'population_register'), 0),
           n_permit_records: coalesce(sum(n) FILTER (WHERE attribute = 'source'
                                                     AND value = 'permits'), 0),
           citizenship: first(value ORDER BY last_date DESC NULLS LAST, value)
               FILTER (WHERE attribute = 'citizenship'),
           first_citizenship: first(value ORDER BY first_date NULLS LAST, value)
               FILTER (WHERE attribute = 'citizenship'),
           -- six digits (years of four): ordered as text as they are as numbers
           birth: CAST(first(value ORDER BY n DESC, value) FILTER (WHERE attribute = 'birth')
                       AS INTEGER),
           country_of_birth: first(value ORDER BY n DESC, value)
               FILTER (WHERE attribute = 'country_of_birth'),
           sex_conflict: count(*) FILTER (WHERE attribute = 'sex') > 1,
           birth_conflict: count(*) FILTER (WHERE attribute = 'birth') > 1,
           cob_conflict: count(*) FILTER (WHERE attribute = 'country_of_birth') > 1
    FROM person_value_counts
    GROUP BY person_id
)
SELECT p.person_id, p.mode_sex AS sex, CAST(p.birth // 100 AS INTEGER) AS birth_year,
       CAST(p.birth % 100 AS INTEGER) AS birth_month, p.citizenship, p.first_citizenship,
       p.country_of_birth, CAST(p.n_crossings AS INTEGER) AS n_crossings,
       CAST(p.n_register_records AS INTEGER) AS n_register_records,
       CAST(p.n_permit_records AS INTEGER) AS n_permit_records,
       list_filter([
           CASE WHEN p.sex_conflict THEN 'sex' END,
           CASE WHEN p.birth_conflict THEN 'birth_year_month' END,
           CASE WHEN p.cob_conflict THEN 'country_of_birth' END,
           CASE WHEN c.register_conflict THEN 'register_ids_split' END
       ], lambda x: x IS NOT NULL) AS conflicts,
       $run_id AS run_id
FROM per_person AS p JOIN person_conflicts AS c USING (person_id)
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
