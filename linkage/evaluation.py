"""Linkage accuracy against a truth mapping (record -> true person).

Pairwise precision and recall count pairs of records put together: a predicted pair is
right when both records belong to one true person. B-cubed scores each record by the
overlap of its predicted and true clusters, so a few huge clusters cannot dominate.
Both are computed by counting cluster intersections in SQL, never by listing pairs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb


@dataclass(frozen=True)
class LinkageAccuracy:
    records: int
    true_persons: int
    predicted_persons: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float

    @property
    def person_count_error(self) -> float:
        """Relative error of the number of persons (predicted / true - 1)."""
        return self.predicted_persons / self.true_persons - 1

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "person_count_error": self.person_count_error}


def evaluate(con: duckdb.DuckDBPyConnection, predicted: str, truth: str) -> LinkageAccuracy:
    """Compare two relations with columns (source, record_id, person_id).

    Only records present in both are scored (a record the truth does not know, or that
    was rejected at ingest, says nothing about linkage).
    """
    row = con.sql(f"""
        WITH joined AS (
            SELECT p.person_id AS predicted, t.person_id AS true_id
            FROM ({predicted}) AS p JOIN ({truth}) AS t USING (source, record_id)
        ), cells AS (
            SELECT predicted, true_id, count(*)::DOUBLE AS n FROM joined GROUP BY ALL
        ), predicted_sizes AS (
            SELECT predicted, sum(n) AS n FROM cells GROUP BY predicted
        ), true_sizes AS (
            SELECT true_id, sum(n) AS n FROM cells GROUP BY true_id
        ), bcubed AS (
            SELECT sum(c.n * c.n / ps.n) AS precision_sum, sum(c.n * c.n / ts.n) AS recall_sum
            FROM cells AS c
            JOIN predicted_sizes AS ps USING (predicted)
            JOIN true_sizes AS ts USING (true_id)
        )
        SELECT (SELECT sum(n) FROM cells) AS records,
               (SELECT count(*) FROM true_sizes) AS true_persons,
               (SELECT count(*) FROM predicted_sizes) AS predicted_persons,
               (SELECT sum(n * (n - 1) / 2) FROM cells) AS true_positive_pairs,
               (SELECT sum(n * (n - 1) / 2) FROM predicted_sizes) AS predicted_pairs,
               (SELECT sum(n * (n - 1) / 2) FROM true_sizes) AS true_pairs,
               precision_sum, recall_sum
        FROM bcubed
    """).fetchall()[0]
    records, true_persons, predicted_persons, tp, predicted_pairs, true_pairs = row[:6]
    precision = tp / predicted_pairs if predicted_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    b_precision = row[6] / records
    b_recall = row[7] / records
    return LinkageAccuracy(
        records=int(records),
        true_persons=int(true_persons),
        predicted_persons=int(predicted_persons),
        pairwise_precision=precision,
        pairwise_recall=recall,
        pairwise_f1=_f1(precision, recall),
        bcubed_precision=b_precision,
        bcubed_recall=b_recall,
        bcubed_f1=_f1(b_precision, b_recall),
    )


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@dataclass(frozen=True)
class BlockingRecall:
    true_pairs: int
    blocked_pairs: int
    #: true pairs the blocking found that scoring then put in one cluster
    linked_pairs: int

    @property
    def recall(self) -> float:
        return self.blocked_pairs / self.true_pairs if self.true_pairs else 1.0

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "blocking_recall": self.recall}


def blocking_recall(
    con: duckdb.DuckDBPyConnection, profile_truth: str, rules: list[str],
    profiles: str = "profiles", clusters: str | None = "profile_clusters",
) -> BlockingRecall:
    """The share of true pairs of profiles that at least one blocking rule generates,
    measured on the truth and apart from scoring.

    `profile_truth` is a relation (unique_id, person_id): each profile's true person
    (profiles whose records belong to several persons take the most frequent one).
    `rules` are Splink blocking rules as SQL over `l.` and `r.`. Writes `true_pairs`.
    """
    con.execute(f"""
        CREATE OR REPLACE TABLE true_pairs AS
        SELECT a.unique_id AS unique_id_l, b.unique_id AS unique_id_r
        FROM ({profile_truth}) AS a JOIN ({profile_truth}) AS b
          ON a.person_id = b.person_id AND a.unique_id < b.unique_id
    """)
    any_rule = " OR ".join(f"({rule})" for rule in rules) or "FALSE"
    same_cluster = (f"""(SELECT count(*) FROM true_pairs AS t
        JOIN {clusters} AS cl ON cl.unique_id = t.unique_id_l
        JOIN {clusters} AS cr ON cr.unique_id = t.unique_id_r
        WHERE cl.cluster_id = cr.cluster_id)""" if clusters else "0")
    row = con.sql(f"""
        SELECT (SELECT count(*) FROM true_pairs),
               (SELECT count(*) FROM true_pairs AS t
                JOIN {profiles} AS l ON l.unique_id = t.unique_id_l
                JOIN {profiles} AS r ON r.unique_id = t.unique_id_r
                WHERE {any_rule}),
               {same_cluster}
    """).fetchall()[0]
    return BlockingRecall(int(row[0]), int(row[1]), int(row[2]))
