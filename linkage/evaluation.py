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
