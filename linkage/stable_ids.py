"""Person ids that survive runs (docs/design.md §4, "stable persons").

Each previous person id goes to the new cluster holding most of its records; a cluster
that receives several keeps the one it shares most records with (the others are merged
into it). Clusters that receive none get fresh ids, above every id ever issued. Every
creation, merge, split and retirement is an event in core.person_id_history.

Input in the working database: `record_clusters(source, record_id, cluster_id)` and
`prev_map(source, record_id, person_id)` (the warehouse's person_map before this run).
Output: `cluster_person(cluster_id, person_id)` and `id_events(event, person_id,
related_person_id, n_records)`.
"""

from __future__ import annotations

import duckdb

from regmig.warehouse.writes import registered


def assign_person_ids(work: duckdb.DuckDBPyConnection, highest_issued_id: int) -> dict[str, int]:
    work.execute(_KEPT_IDS_SQL)
    work.execute(f"""
        CREATE OR REPLACE TABLE cluster_person AS
        WITH clusters AS (SELECT DISTINCT cluster_id FROM record_clusters)
        SELECT c.cluster_id,
               coalesce(k.person_id, {int(highest_issued_id)}
                   + row_number() OVER (PARTITION BY k.person_id IS NULL
                                        ORDER BY c.cluster_id)) AS person_id
        FROM clusters AS c LEFT JOIN kept_ids AS k USING (cluster_id)
    """)
    work.execute(_EVENTS_SQL)
    return dict(work.sql("SELECT event, count(*) FROM id_events GROUP BY event").fetchall())


_KEPT_IDS_SQL = """
CREATE OR REPLACE TABLE overlap AS
SELECT c.cluster_id, p.person_id, count(*) AS n_records
FROM record_clusters AS c JOIN prev_map AS p USING (source, record_id)
GROUP BY ALL;

CREATE OR REPLACE TABLE home_cluster AS   -- where most of an old person's records went
SELECT person_id, first(cluster_id ORDER BY n_records DESC, cluster_id) AS cluster_id
FROM overlap GROUP BY person_id;

CREATE OR REPLACE TABLE kept_ids AS       -- the old id a cluster keeps, if any
SELECT h.cluster_id, first(h.person_id ORDER BY o.n_records DESC, h.person_id) AS person_id
FROM home_cluster AS h JOIN overlap AS o USING (cluster_id, person_id)
GROUP BY h.cluster_id;
"""

_EVENTS_SQL = """
CREATE OR REPLACE TABLE id_events AS
WITH sizes AS (
    SELECT cluster_id, count(*) AS n_records FROM record_clusters GROUP BY cluster_id
), fresh AS (
    SELECT cp.cluster_id, cp.person_id FROM cluster_person AS cp
    WHERE cp.cluster_id NOT IN (SELECT cluster_id FROM kept_ids)
), moves AS (   -- records of an old id now in a cluster carrying another id
    SELECT cp.person_id, o.person_id AS old_id, o.n_records,
           h.cluster_id = o.cluster_id AS old_id_absorbed
    FROM overlap AS o
    JOIN cluster_person AS cp USING (cluster_id)
    JOIN home_cluster AS h ON h.person_id = o.person_id
    WHERE cp.person_id <> o.person_id
)
SELECT 'created' AS event, f.person_id, NULL::BIGINT AS related_person_id, s.n_records
FROM fresh AS f JOIN sizes AS s USING (cluster_id)
WHERE f.cluster_id NOT IN (SELECT cluster_id FROM overlap)
UNION ALL
SELECT CASE WHEN old_id_absorbed THEN 'merged' ELSE 'split' END, person_id, old_id, n_records
FROM moves
UNION ALL
SELECT 'retired', p.person_id, NULL, count(*)
FROM prev_map AS p WHERE p.person_id NOT IN (SELECT person_id FROM overlap)
GROUP BY p.person_id
"""


def write_history(warehouse: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection,
                  run_id: str) -> None:
    """Append this run's merges, splits and new ids (`id_events`) to
    core.person_id_history."""
    arrow = work.sql("SELECT event, person_id, related_person_id, n_records FROM id_events"
                     ).to_arrow_table()
    with registered(warehouse, "_events", arrow):
        warehouse.execute("""
            INSERT INTO core.person_id_history
                (run_id, event, person_id, related_person_id, n_records, recorded_at)
            SELECT ?, event, person_id, related_person_id, n_records,
                   now() AT TIME ZONE 'UTC'
            FROM _events
        """, [run_id])


def highest_issued_id(warehouse: duckdb.DuckDBPyConnection) -> int:
    """The highest person id ever issued: in core.person_map or, for ids merged away,
    in core.person_id_history (an id is never issued twice)."""
    return int(warehouse.sql("""
        SELECT greatest(
            (SELECT coalesce(max(person_id), 0) FROM core.person_map),
            (SELECT coalesce(max(greatest(person_id, coalesce(related_person_id, 0))), 0)
             FROM core.person_id_history))
    """).fetchall()[0][0])
