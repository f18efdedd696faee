"""The rule as of an earlier day (`step2_rule.as_of`), reconstructed from one run on all
the data and its known-on dates, against the rule run afresh on the data cut at that
day: the same resolved crossings and flags, the same open ones, the same provisional
statuses.

One convention of the rule makes a few exceptions (about 1 crossing in 30,000 here): a
return made within 2(W - V) days of an undecided migrating crossing is settled as "not
a long-term migration" on that crossing's status-before date, but only when it looks
like failing. Data cut on a day when it looked like qualifying leave it open; and a
return settled so on a cut day can still turn out long-term. The reconstruction follows
the run on all the data.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from regmig.config import ResidenceRule
from regmig.estimators.step2_rule.as_of import rule_as_of, with_known_days
from regmig.estimators.step2_rule.residence_rule import classify


def _histories(persons: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Alternating histories with stays near the rule's thresholds, frequent short
    trips and long absences."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 16, size=persons)
    person = np.repeat(np.arange(persons, dtype=np.int64), sizes)
    first = np.r_[True, person[1:] != person[:-1]]
    gap = rng.choice(np.array([0, 1, 3, 10, 30, 60, 100, 121, 122, 123, 200, 300, 364,
                               365, 366, 400, 486, 487, 488, 700]), size=len(person))
    gap[first] = 0
    day = np.cumsum(gap)
    day = day - np.repeat(day[first], sizes) + np.repeat(rng.integers(0, 900, persons),
                                                         sizes)
    seq = np.arange(len(person)) - np.repeat(np.flatnonzero(first), sizes) + 1
    starts_in = np.repeat(rng.integers(0, 2, size=persons).astype(bool), sizes)
    arrival = ((seq - 1) % 2 == 0) == starts_in
    crossings = pl.DataFrame({
        "person_id": person,
        "crossing_date": [date(2018, 1, 1) + timedelta(days=int(d)) for d in day],
        "direction": np.where(arrival, "arrival", "departure"),
        "seq": seq.astype(np.int32),
    })
    initial = pl.DataFrame({"person_id": np.arange(persons, dtype=np.int64),
                            "res_status_initial": rng.integers(0, 2, persons).astype(np.int8)})
    return crossings, initial


@pytest.mark.parametrize("rule", [ResidenceRule(), ResidenceRule(274, 365)])
def test_as_of_equals_the_rule_on_data_cut_then(rule: ResidenceRule) -> None:
    crossings, initial = _histories(6000, seed=11)
    end = crossings["crossing_date"].max()
    full = with_known_days(classify(crossings, initial, rule, end))
    compared = 0
    for cut in (date(2019, 3, 1), date(2019, 11, 17), date(2020, 6, 30), date(2021, 2, 9)):
        cut_day = (cut - date(1970, 1, 1)).days
        truncated = classify(crossings.filter(pl.col("crossing_date") <= cut), initial,
                             rule, cut)
        queries = truncated.select("person_id", "seq", at=pl.lit(cut_day, pl.Int64))
        seen = rule_as_of(full, queries, rule).join(truncated, on=["person_id", "seq"])
        assert seen.height == truncated.height > 1000
        cut_open = pl.col("migrating") & (pl.col("decision_date") > cut)
        differs = seen.join(full.select("person_id", "seq", full_ltm="is_long_term_migration"),
                            on=["person_id", "seq"]).filter(
            (pl.col("resolved_at") != pl.col("resolved"))
            | (pl.col("resolved") & (pl.col("full_ltm") != pl.col("is_long_term_migration")))
            | (~pl.col("resolved") & ((pl.col("open_at") != cut_open)
                                      | (pl.col("migrating_at") != pl.col("migrating"))
                                      | (pl.col("qualifies_at") != pl.col("qualifies"))
                                      | (pl.col("status_before_at")
                                         != pl.col("res_status_before")))))
        unresolved = seen.filter(~pl.col("resolved"))
        assert unresolved.height > 500 and unresolved.filter(cut_open).height > 300
        assert differs.height <= seen.height / 10_000, (cut, differs)
        compared += seen.height
    assert compared > 30_000
