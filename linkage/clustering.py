"""Scored pairs to clusters of profiles, with register conflicts split.

Connected components at `LinkageConfig.cluster_threshold` (Splink's clustering). The
population register guarantees one personal id per person, so a component holding two
different register personal ids is wrong somewhere: it is rebuilt from its own links,
strongest first, refusing any link that would join two personal ids (which cuts it at
its weakest links), and the split is counted. Only those few components are handled in
Python; everything else stays in SQL.

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
from regmig.warehouse.writes import registered


@dataclass(frozen=True)
class ClusterResult:
    clusters: int
    conflict_clusters: int
    links_cut: int


def cluster_profiles(
    work: duckdb.DuckDBPyConnection,
    engine: LinkageEngine,
    linker: Linker,
    predictions: SplinkDataFrame,
    threshold: float,
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
    counts = work.sql(
        "SELECT count(DISTINCT cluster_id), "
        "(SELECT count(*) FROM conflict_components) FROM profile_clusters"
    ).fetchall()[0]
    return ClusterResult(int(counts[0]), int(counts[1]), links_cut)


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
