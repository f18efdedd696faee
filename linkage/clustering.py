"""Scored pairs to clusters of profiles, with register conflicts split.

Connected components at `LinkageConfig.cluster_threshold` (Splink's clustering). The
population register guarantees one personal id per person, so a component holding two
different register personal ids is wrong somewhere: it is rebuilt from its own links,
strongest first, refusing any link that would join two personal ids (which cuts it at
its weakest links), and the split is counted. Only those few components are handled in
Python; everything else stays in SQL.

A profile left alone in its cluster (a crossing on a mistyped document, a register
record without a date of birth) whose links at or above `LinkageConfig.attach_threshold`
all point into one and the same cluster joins that cluster: the evidence is below the
clustering threshold but names no other candidate. Links whose dates of birth disagree
outright do not count (in small name pools a namesake scores high on names alone). A
profile with links into two clusters, or whose register personal id differs from the
cluster's, stays alone.

A crossing profile still alone after that (most often one crossing on a mistyped document
and without a date of birth: names, sex and citizenship alone leave it below even the
attachment threshold) joins the one cluster, among those it links to at or above
`LinkageConfig.travel_attach_threshold`, into whose travel history each of its crossings
fits a gap: an arrival between two departures or a departure between two arrivals. Nobody
leaves twice without coming back, so in the right person's history the split-off crossing
has left exactly such a gap, while a namesake's history rarely has one at that date.
Links whose dates of birth disagree outright do not count here either.

A change of citizenship never splits anything: the model scores citizenship as one
attribute among others, and a naturalised person's profiles keep matching on name, date
of birth and documents.

Writes `profile_clusters(unique_id, cluster_id, in_conflict)` in the working database,
cluster_id being the smallest profile id of the cluster (repeatable across runs).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
from splink import Linker
from splink.internals.splink_dataframe import SplinkDataFrame

from regmig.linkage.engines import LinkageEngine
from regmig.warehouse.catalog import has_table
from regmig.warehouse.writes import registered


@dataclass(frozen=True)
class ClusterResult:
    clusters: int
    conflict_clusters: int
    links_cut: int
    lone_profiles_attached: int = 0
    attached_by_travel_history: int = 0


def cluster_profiles(
    work: duckdb.DuckDBPyConnection,
    engine: LinkageEngine,
    linker: Linker,
    predictions: SplinkDataFrame,
    threshold: float,
    attach_threshold: float | None = None,
    travel_attach_threshold: float | None = None,
) -> ClusterResult:
    components = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    engine.to_work(components, "components",
                   "unique_id, cluster_id AS component_id, person_key")
    components.drop_table_from_database_and_remove_from_cache()
    work.execute("""
        CREATE OR REPLACE TABLE conflict_components AS
        SELECT component_id FROM components
        GROUP BY component_id HAVING count(DISTINCT person_key) > 1
    """)
    conflict_edges = work.sql(f"""
        SELECT p.unique_id_l, p.unique_id_r, cl.person_key AS key_l, cr.person_key AS key_r,
               cl.component_id
        FROM pairs AS p
        JOIN components AS cl ON cl.unique_id = p.unique_id_l
        JOIN components AS cr ON cr.unique_id = p.unique_id_r
        WHERE p.match_probability >= {float(threshold)}
          AND cl.component_id IN (SELECT component_id FROM conflict_components)
        ORDER BY p.match_probability DESC, p.unique_id_l, p.unique_id_r
    """).fetchall()
    relabel, links_cut = split_conflicts(conflict_edges)
    relabelled = pa.table({
        "unique_id": list(relabel), "sub_id": list(relabel.values()),
    }, schema=pa.schema([("unique_id", pa.string()), ("sub_id", pa.string())]))
    with registered(work, "_relabel", relabelled):
        work.execute("""
        CREATE OR REPLACE TABLE profile_clusters AS
        WITH labelled AS (
            SELECT c.unique_id, coalesce(r.sub_id, c.component_id) AS label,
                   c.component_id IN (SELECT component_id FROM conflict_components)
                       AS in_conflict
            FROM components AS c LEFT JOIN _relabel AS r USING (unique_id)
        )
        SELECT unique_id, min(unique_id) OVER (PARTITION BY label) AS cluster_id, in_conflict
        FROM labelled
    """)
    attached = 0
    if attach_threshold is not None and attach_threshold < threshold:
        attached = attach_lone_profiles(work, attach_threshold)
    by_travel = 0
    if travel_attach_threshold is not None and all(
            has_table(work, f"main.{t}") for t in ("link_records", "in_border_crossings")):
        by_travel = attach_by_travel_history(work, travel_attach_threshold)
    counts = work.sql(
        "SELECT count(DISTINCT cluster_id), "
        "(SELECT count(*) FROM conflict_components) FROM profile_clusters"
    ).fetchall()[0]
    return ClusterResult(int(counts[0]), int(counts[1]), links_cut, attached, by_travel)


def attach_lone_profiles(work: duckdb.DuckDBPyConnection, attach_threshold: float) -> int:
    """Join each lone profile to the one cluster all its links above `attach_threshold`
    point into (see the module docstring); return how many joined."""
    work.execute(f"""
        CREATE OR REPLACE TABLE attachments AS
        WITH {_lone_links(attach_threshold)}, targets AS (
            SELECT l.lone_id, min(c.cluster_id) AS cluster_id,
                   count(DISTINCT c.cluster_id) AS clusters
            FROM links AS l JOIN profile_clusters AS c ON c.unique_id = l.other_id
            GROUP BY l.lone_id
            HAVING bool_and(l.dob_level IS DISTINCT FROM 0)
        ), keys AS (   -- register personal ids of the target clusters
            SELECT c.cluster_id, list_distinct(list(pr.person_key)) AS person_keys
            FROM profile_clusters AS c JOIN profiles AS pr USING (unique_id)
            WHERE pr.person_key IS NOT NULL GROUP BY c.cluster_id
        )
        SELECT t.lone_id AS unique_id, t.cluster_id
        FROM targets AS t
        JOIN profiles AS pr ON pr.unique_id = t.lone_id
        LEFT JOIN keys AS k ON k.cluster_id = t.cluster_id
        WHERE t.clusters = 1 AND t.cluster_id <> t.lone_id
          AND (pr.person_key IS NULL OR k.person_keys IS NULL
               OR k.person_keys = [pr.person_key])
    """)
    return _apply_attachments(work)


def attach_by_travel_history(work: duckdb.DuckDBPyConnection, threshold: float) -> int:
    """Join each lone crossing profile to the one linked cluster whose travel history its
    crossings fill (see the module docstring); return how many joined."""
    work.execute(f"""
        CREATE OR REPLACE TABLE attachments AS
        -- candidates: clusters a lone profile links to, no date of birth against
        WITH {_lone_links(threshold, "border_crossings")}, candidates AS (
            SELECT l.lone_id, c.cluster_id
            FROM links AS l JOIN profile_clusters AS c ON c.unique_id = l.other_id
            WHERE c.cluster_id <> l.lone_id
            GROUP BY l.lone_id, c.cluster_id
            HAVING bool_and(l.dob_level IS DISTINCT FROM 0)
        ), crossings AS (
            SELECT r.profile_id, b.crossed_at, b.direction
            FROM link_records AS r JOIN in_border_crossings AS b USING (record_id)
            WHERE r.source = 'border_crossings'
        ), candidate_crossings AS (
            SELECT c.cluster_id, x.crossed_at, x.direction
            FROM profile_clusters AS c JOIN crossings AS x ON x.profile_id = c.unique_id
            WHERE c.cluster_id IN (SELECT cluster_id FROM candidates)
        ), gaps AS (   -- two crossings of one direction in a row: one is missing between
            SELECT * FROM (
                SELECT cluster_id, crossed_at AS gap_from, direction,
                       lead(crossed_at) OVER w AS gap_to, lead(direction) OVER w AS next
                FROM candidate_crossings
                WINDOW w AS (PARTITION BY cluster_id ORDER BY crossed_at)
            ) WHERE next = direction
        ), fills AS (   -- each own crossing of the other direction strictly inside a gap
            SELECT k.lone_id, k.cluster_id, x.crossed_at, g.gap_from
            FROM candidates AS k
            JOIN crossings AS x ON x.profile_id = k.lone_id
            LEFT JOIN gaps AS g ON g.cluster_id = k.cluster_id
             AND g.direction <> x.direction
             AND x.crossed_at > g.gap_from AND x.crossed_at < g.gap_to
        ), fits AS (   -- every own crossing fills a gap, and no two fill the same one
            SELECT lone_id, cluster_id
            FROM fills
            GROUP BY lone_id, cluster_id
            HAVING count(gap_from) = count(*)
               AND count(DISTINCT gap_from) = count(*)
        )
        SELECT lone_id AS unique_id, min(cluster_id) AS cluster_id
        FROM fits
        WHERE cluster_id NOT IN (SELECT lone_id FROM fits)   -- targets stay where they are
        GROUP BY lone_id HAVING count(*) = 1
    """)
    return _apply_attachments(work)


def _lone_links(threshold: float, source: str | None = None) -> str:
    """The CTEs `lone` (profiles alone in their cluster, of `source` only if given) and
    `links` (their links at `threshold` or above, seen from the lone side)."""
    of_source = f"AND pr.source = '{source}'" if source else ""
    return f"""sizes AS (
            SELECT cluster_id, count(*) AS n FROM profile_clusters GROUP BY cluster_id
        ), lone AS (
            SELECT c.unique_id FROM profile_clusters AS c JOIN sizes USING (cluster_id)
            JOIN profiles AS pr USING (unique_id)
            WHERE sizes.n = 1 {of_source}
        ), links AS (
            SELECT unique_id_l AS lone_id, unique_id_r AS other_id, dob_level FROM pairs
            WHERE match_probability >= {float(threshold)}
              AND unique_id_l IN (SELECT unique_id FROM lone)
            UNION ALL
            SELECT unique_id_r, unique_id_l, dob_level FROM pairs
            WHERE match_probability >= {float(threshold)}
              AND unique_id_r IN (SELECT unique_id FROM lone)
        )"""


def _apply_attachments(work: duckdb.DuckDBPyConnection) -> int:
    """Move the profiles of `attachments(unique_id, cluster_id)` into their clusters."""
    attached = work.sql("SELECT count(*) FROM attachments").fetchall()[0][0]
    # A lone profile's cluster id is its own id. Links are symmetric, so a lone profile
    # attaching to another lone one is attached to by it in turn (any third link would
    # point the target into two clusters): both take the smaller id, or each would move
    # into the other's old cluster and they would stay apart.
    work.execute("""
        CREATE OR REPLACE TABLE profile_clusters AS
        WITH moved AS (
            SELECT c.unique_id, c.in_conflict,
                   CASE WHEN a.cluster_id IS NULL THEN c.cluster_id
                        WHEN back.cluster_id = c.cluster_id
                        THEN least(c.cluster_id, a.cluster_id)
                        ELSE a.cluster_id END AS label
            FROM profile_clusters AS c LEFT JOIN attachments AS a USING (unique_id)
            LEFT JOIN attachments AS back ON back.unique_id = a.cluster_id
        )
        SELECT unique_id, min(unique_id) OVER (PARTITION BY label) AS cluster_id, in_conflict
        FROM moved
    """)
    return int(attached)


def split_conflicts(
    edges: list[tuple[str, str, str | None, str | None, str]],
) -> tuple[dict[str, str], int]:
    """Union-find over the edges (strongest first) that never joins two personal ids.

    Returns a label per profile of the conflict components and the number of links cut.
    """
    parent: dict[str, str] = {}
    keys: dict[str, set[str]] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    cut = 0
    for left, right, key_l, key_r, _component in edges:
        for node, key in ((left, key_l), (right, key_r)):
            if node not in parent:
                parent[node] = node
                keys[node] = {key} if key else set()
        root_l, root_r = find(left), find(right)
        if root_l == root_r:
            continue
        if keys[root_l] and keys[root_r] and keys[root_l] != keys[root_r]:
            cut += 1
            continue
        parent[root_r] = root_l
        keys[root_l] = keys[root_l] | keys.pop(root_r)
    return {node: "split:" + find(node) for node in parent}, cut
