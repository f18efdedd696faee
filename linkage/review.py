"""Clerical review: people label pairs near the threshold, the labels measure accuracy.

The export holds pseudonymous profile ids and the names, dates of birth and other
attributes a person needs to judge a pair, so it is as restricted as identifiers.duckdb
and belongs next to it. Reviewers fill the `label` column (1 = same person, 0 = not);
reading the file back gives precision and recall of the clustering threshold on the
labelled pairs (for pairs within the review band: the uncertain ones, where errors are).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb
from splink.internals.splink_dataframe import SplinkDataFrame

from regmig.config import LinkageConfig
from regmig.errors import RegmigError

#: Attributes shown side by side for each pair.
SHOWN = ("source", "given_name", "surname", "date_of_birth", "sex", "citizenship",
         "country_of_birth")

REVIEW_COLUMNS = ("pair_id", "match_probability", "unique_id_l", "unique_id_r",
                  *(f"{a}_{side}" for a in SHOWN for side in ("l", "r")), "label")


def export_review_sample(
    work: duckdb.DuckDBPyConnection,
    predictions: SplinkDataFrame,
    config: LinkageConfig,
    path: Path,
) -> int:
    """Write a random sample of pairs within the review band; return how many."""
    low, high = config.review_band
    shown = ", ".join(f"pl.{a} AS {a}_l, pr.{a} AS {a}_r" for a in SHOWN)
    query = f"""
        WITH band AS (
            SELECT unique_id_l, unique_id_r, match_probability
            FROM {predictions.physical_name}
            WHERE match_probability BETWEEN {float(low)} AND {float(high)}
            ORDER BY unique_id_l, unique_id_r
        ), sample AS (
            SELECT * FROM band
            USING SAMPLE reservoir({int(config.review_sample_size)} ROWS)
            REPEATABLE ({int(config.seed)})
        )
        SELECT row_number() OVER (ORDER BY s.match_probability, s.unique_id_l) AS pair_id,
               round(s.match_probability, 4) AS match_probability,
               s.unique_id_l, s.unique_id_r, {shown}, NULL::INTEGER AS label
        FROM sample AS s
        JOIN profiles AS pl ON pl.unique_id = s.unique_id_l
        JOIN profiles AS pr ON pr.unique_id = s.unique_id_r
        ORDER BY pair_id
    """
    rows = work.sql(query).fetchall()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(REVIEW_COLUMNS)
        writer.writerows(rows)
    return len(rows)


#: Thresholds at which the review labels are scored for the threshold chart.
CHART_THRESHOLDS = tuple(round(0.50 + 0.01 * i, 2) for i in range(50))


@dataclass(frozen=True)
class ReviewAccuracy:
    labelled_pairs: int
    precision: float
    recall: float
    #: (threshold, precision, recall) on the labelled pairs, for the threshold chart
    curve: tuple[tuple[float, float, float], ...] = ()

    def chart(self, threshold: float) -> dict:
        """Vega-Lite: precision and recall of the labelled pairs against the threshold,
        the configured threshold marked."""
        values = [{"threshold": t, "measure": name, "value": v}
                  for t, p, r in self.curve for name, v in (("precision", p), ("recall", r))]
        return {
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "title": f"Clerical review: {self.labelled_pairs} labelled pairs",
            "width": 500, "height": 250,
            "layer": [
                {"data": {"values": values}, "mark": {"type": "line", "point": True},
                 "encoding": {
                     "x": {"field": "threshold", "type": "quantitative",
                           "title": "match probability threshold"},
                     "y": {"field": "value", "type": "quantitative",
                           "scale": {"domain": [0, 1]}, "title": "on the labelled pairs"},
                     "color": {"field": "measure", "type": "nominal"}}},
                {"data": {"values": [{"threshold": threshold}]},
                 "mark": {"type": "rule", "strokeDash": [4, 4]},
                 "encoding": {"x": {"field": "threshold", "type": "quantitative"}}},
            ],
        }


def read_review_labels(path: Path, threshold: float) -> ReviewAccuracy:
    """Precision and recall of `threshold` on the labelled pairs of a review file."""
    if not path.is_file():
        raise RegmigError(f"{path}: review labels file not found")
    labelled: list[tuple[float, bool]] = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"match_probability", "label"} - set(reader.fieldnames or ())
        if missing:
            raise RegmigError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for row_number, row in enumerate(reader, start=1):
            label = (row["label"] or "").strip()
            if label == "":
                continue
            if label not in ("0", "1"):
                raise RegmigError(
                    f"{path}: row {row_number}, column label: {label!r} is not 0 or 1"
                )
            try:
                probability = float(row["match_probability"])
            except ValueError:
                raise RegmigError(
                    f"{path}: row {row_number}, column match_probability: not a number"
                ) from None
            labelled.append((probability, label == "1"))
    if not labelled:
        raise RegmigError(f"{path}: no labelled pairs (fill the label column with 0 or 1)")
    precision, recall = _scores(labelled, threshold)
    return ReviewAccuracy(
        labelled_pairs=len(labelled), precision=precision, recall=recall,
        curve=tuple((t, *_scores(labelled, t)) for t in CHART_THRESHOLDS),
    )


def _scores(labelled: list[tuple[float, bool]], threshold: float) -> tuple[float, float]:
    """Precision and recall of `threshold` on (probability, is_match) pairs."""
    true = sum(is_match for _p, is_match in labelled)
    predicted = sum(p >= threshold for p, _m in labelled)
    hits = sum(is_match and p >= threshold for p, is_match in labelled)
    return (hits / predicted if predicted else 1.0, hits / true if true else 1.0)
