"""Every published worked example of the 12/16-month rule, finalisation days included.

Sources (the rule: Stats NZ, "Defining migrants using travel histories and the
12/16-month rule", https://www.stats.govt.nz/methods/defining-migrants-using-travel-histories-and-the-1216-month-rule
and the archived http://www.stats.govt.nz/browse_for_stats/population/Migration/define-migrants-travel-rule.aspx).
The worked scenarios with their crossing dates, statuses, long-term flags and
finalisation days are those Stats NZ publishes with its reference implementation, the
migrbc package (https://github.com/StatisticsNZ/migrbc, files
tests/testthat/test-RBC_algorithm_non_residence_rcpp.R scenarios 1-11,
tests/testthat/test-RBC_algorithm_residence_rcpp.R (the same scenarios for a resident,
directions reversed) and tests/testthat/test-RBC_algorithm_with_IRS.R scenarios 1 and 3).
Finalisation days are counted from the first crossing, as there.

Not transcribed: with_IRS scenario 2, which tests a quirk of migrbc's own input format
(an initial status "finalised" after the first crossing overriding a later status), not
the rule.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from reference_rule import classify_person

from regmig.config import ResidenceRule
from regmig.estimators.step2_rule.residence_rule import classify

A, D = "arrival", "departure"

# name: (initial status, [(date, direction)], [(before, after, ltm, rb, ra, ltm_day)])
NON_RESIDENT = {
    "1 start of series: a departure of a non-resident": (
        0, [("2017-01-01", D)], [(0, 0, 0, 0, 0, 0)]),
    "2 a non-resident who migrates": (
        0, [("2017-01-01", A)], [(0, 1, 1, 0, 365, 365)]),
    "3 holiday of a non-resident of less than 8 months": (
        0, [("2017-01-01", A), ("2017-01-11", D)],
        [(0, 0, 0, 0, 132, 132), (0, 0, 0, 132, 132, 10)]),
    "4 two short return trips of a non-resident": (
        0, [("2017-01-01", A), ("2017-01-11", D), ("2017-03-12", A), ("2017-04-01", D)],
        [(0, 0, 0, 0, 152, 152), (0, 0, 0, 152, 152, 10), (0, 0, 0, 152, 212, 212),
         (0, 0, 0, 212, 212, 90)]),
    "5 holiday of a non-resident of 8 to 12 months": (
        0, [("2017-01-01", A), ("2017-09-08", D)],
        [(0, 0, 0, 0, 372, 372), (0, 0, 0, 372, 372, 372)]),
    "6 a non-resident there and back on the same day": (
        0, [("2017-01-01", A), ("2017-01-01", D)],
        [(0, 0, 0, 0, 122, 122), (0, 0, 0, 122, 122, 0)]),
    "7 a non-resident who migrates after a short trip": (
        0, [("2017-01-01", A), ("2017-01-11", D), ("2017-03-12", A)],
        [(0, 1, 1, 0, 425, 425), (1, 1, 0, 425, 425, 10), (1, 1, 0, 425, 425, 425)]),
    "8 a non-resident who migrates, then leaves and migrates out": (
        0, [("2017-01-01", A), ("2018-01-06", D)],
        [(0, 1, 1, 0, 365, 365), (1, 0, 1, 370, 735, 735)]),
    "9 a non-resident who migrates during a succession of trips": (
        0, [("2017-01-01", A), ("2017-12-17", D), ("2018-01-06", A), ("2018-01-26", D),
            ("2018-01-27", A)],
        [(0, 1, 1, 0, 385, 385), (1, 1, 0, 385, 493, 493), (1, 1, 0, 493, 493, 385),
         (1, 1, 0, 493, 513, 513), (1, 1, 0, 513, 513, 391)]),
    "10 a non-resident with two trips a long time apart": (
        0, [("2017-01-01", A), ("2017-01-11", D), ("2018-01-06", A), ("2018-01-16", D)],
        [(0, 0, 0, 0, 132, 132), (0, 0, 0, 132, 132, 10), (0, 0, 0, 370, 502, 502),
         (0, 0, 0, 502, 502, 380)]),
    "11 a non-resident who migrates, then short trips a long time apart": (
        0, [("2017-01-01", A), ("2018-01-06", D), ("2018-01-16", A), ("2018-11-02", D),
            ("2018-11-12", A)],
        [(0, 1, 1, 0, 365, 365), (1, 1, 0, 370, 502, 502), (1, 1, 0, 502, 502, 380),
         (1, 1, 0, 670, 802, 802), (1, 1, 0, 802, 802, 680)]),
    "IRS 1 a resident who emigrates, then short trips a long time apart": (
        1, [("2017-01-01", D), ("2018-01-06", A), ("2018-01-16", D), ("2018-11-02", A),
            ("2018-11-12", D)],
        [(1, 0, 1, 0, 365, 365), (0, 0, 0, 370, 502, 502), (0, 0, 0, 502, 502, 380),
         (0, 0, 0, 670, 802, 802), (0, 0, 0, 802, 802, 680)]),
}


def _mirror(example):
    initial, crossings, expected = example
    flipped = [(d, A if direction == D else D) for d, direction in crossings]
    return (1 - initial, flipped,
            [(1 - b, 1 - a, ltm, rb, ra, lt) for b, a, ltm, rb, ra, lt in expected])


EXAMPLES = {f"non-resident {k}": v for k, v in NON_RESIDENT.items() if not k.startswith("IRS")}
EXAMPLES |= {f"resident {k}": _mirror(v) for k, v in NON_RESIDENT.items()
             if not k.startswith("IRS")}
EXAMPLES["IRS 1"] = NON_RESIDENT["IRS 1 a resident who emigrates, then short trips a long "
                                 "time apart"]
EXAMPLES["IRS 3 (= non-resident 11 with the initial status given)"] = NON_RESIDENT[
    "11 a non-resident who migrates, then short trips a long time apart"]


def _frame(examples: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows, initial = [], []
    for pid, (status, crossings, _) in enumerate(examples.values(), start=1):
        initial.append((pid, status))
        for seq, (day, direction) in enumerate(crossings, start=1):
            rows.append((pid, date.fromisoformat(day), direction, seq))
    return (
        pl.DataFrame(rows, schema=["person_id", "crossing_date", "direction", "seq"],
                     orient="row"),
        pl.DataFrame(initial, schema=["person_id", "res_status_initial"], orient="row"),
    )


def _days(since: date, day: date | None) -> int | None:
    return None if day is None else (day - since).days


@pytest.fixture(scope="module")
def classified() -> pl.DataFrame:
    crossings, initial = _frame(EXAMPLES)
    # Observed long enough for every window to close.
    return classify(crossings, initial, ResidenceRule(365, 487), date(2030, 1, 1))


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_published_example(classified: pl.DataFrame, name: str) -> None:
    pid = list(EXAMPLES).index(name) + 1
    _, crossings, expected = EXAMPLES[name]
    start = date.fromisoformat(crossings[0][0])
    got = classified.filter(pl.col("person_id") == pid).sort("seq")
    actual = [
        (r["res_status_before"], r["res_status_after"], int(r["is_long_term_migration"]),
         _days(start, r["date_finalised_res_before"]), _days(start, r["date_finalised_res_after"]),
         _days(start, r["date_finalised_ltm"]))
        for r in got.iter_rows(named=True)
    ]
    assert actual == expected
    assert got["resolved"].all()


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_reference_reproduces_published_example(name: str) -> None:
    initial, crossings, expected = EXAMPLES[name]
    start = date.fromisoformat(crossings[0][0])
    results = classify_person(
        [(date.fromisoformat(d), direction == A) for d, direction in crossings],
        initial, ResidenceRule(365, 487))
    actual = [(r.res_status_before, r.res_status_after, int(r.is_long_term_migration),
               (r.date_finalised_res_before - start).days,
               (r.date_finalised_res_after - start).days,
               (r.date_finalised_ltm - start).days) for r in results]
    assert actual == expected


def test_resolved_once_the_days_observed_settle_it() -> None:
    """Arrival on 2017-01-01, never leaves: the 365th day in is 2017-12-31, so data
    ending that day settle it (published finalisation date: the next day); data ending
    the day before do not."""
    crossings, initial = _frame({"2": EXAMPLES["non-resident 2 a non-resident who migrates"]})
    last_day_in = date(2017, 1, 1) + timedelta(days=364)
    cut = classify(crossings, initial, ResidenceRule(365, 487), last_day_in - timedelta(1))
    assert cut["resolved"].to_list() == [False]
    assert cut["is_long_term_migration"].to_list() == [None]
    assert cut["date_finalised_ltm"].to_list() == [None]
    on_day = classify(crossings, initial, ResidenceRule(365, 487), last_day_in)
    assert on_day["is_long_term_migration"].to_list() == [True]
    assert on_day["date_finalised_ltm"].to_list() == [date(2018, 1, 1)]
