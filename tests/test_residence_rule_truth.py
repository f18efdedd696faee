"""The vectorised rule on the synthetic TRUE crossing histories against the synthetic
truth (synth/truth_rule.py applied to histories simulated beyond the data end)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from regmig.config import ResidenceRule
from regmig.estimators.step2_rule.residence_rule import classify


@pytest.fixture(scope="module")
def compared(sample_delivery: Path) -> tuple[pl.DataFrame, date]:
    truth = sample_delivery / "truth"
    parameters = json.loads((truth / "parameters.json").read_text())
    data_end = date.fromisoformat(parameters["data_end"])
    rule = ResidenceRule(**parameters["rule"])
    status = pl.read_parquet(truth / "crossing_status.parquet")
    crossings = status.select("person_id", "crossing_date", "direction", "seq")
    initial = pl.read_parquet(truth / "initial_residence.parquet")
    mine = classify(crossings, initial, rule, data_end)
    return mine.join(status, on=["person_id", "seq"], suffix="_truth"), data_end


def test_every_crossing_settled_by_the_data_agrees_with_the_truth(compared) -> None:
    both, _ = compared
    settled = both.filter("resolved")
    assert settled.height > 0.7 * both.height
    disagree = settled.filter(
        pl.col("is_long_term_migration") != pl.col("is_long_term_migration_truth"))
    assert disagree.height == 0, disagree.head()


def test_statuses_agree_wherever_they_are_settled(compared) -> None:
    both, _ = compared
    settled = both.filter(pl.col("date_finalised_res_after").is_not_null())
    for column in ("res_status_before", "res_status_after"):
        assert settled.filter(pl.col(column) != pl.col(f"{column}_truth")).height == 0


def test_own_decision_known_exactly_when_the_truth_says_decided(compared) -> None:
    """A qualification is known at the end of its V-th day (the published finalisation
    date is the day after), a failure on the day the other side passes W - V: the same
    days the synthetic truth counts up to and including the data end."""
    both, data_end = compared
    known_on = pl.col("decision_date") - pl.duration(days=pl.col("qualifies").cast(pl.Int64))
    mismatch = both.filter((known_on <= data_end) != pl.col("decided_by_data_end"))
    assert mismatch.height == 0, mismatch.head()
    # ... and that is not vacuous: some qualifications complete on the last day itself.
    edge = both.filter(pl.col("qualifies")
                       & (pl.col("decision_date") == data_end + timedelta(days=1)))
    assert edge.height > 0 and edge["decided_by_data_end"].all()
