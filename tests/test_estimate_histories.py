"""Crossing histories (ordering, repair policies) and initial residence (DESIGN.md §5)."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from regmig.errors import RegmigError
from regmig.estimators import initial_residence
from regmig.estimators.crossing_histories import repair


def _crossings(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["person_id", "record_id", "crossing_date", "crossed_at",
                                      "direction"], orient="row")


BROKEN = _crossings([
    (1, "a", date(2020, 1, 1), None, "arrival"),
    (1, "b", date(2020, 1, 11), None, "arrival"),  # a departure in between went unrecorded
    (1, "c", date(2020, 2, 1), None, "departure"),
    (2, "d", date(2020, 3, 1), datetime(2020, 3, 1, 18), "departure"),
    (2, "e", date(2020, 3, 1), datetime(2020, 3, 1, 6), "arrival"),
])


def test_midpoint_imputes_the_missing_crossing_halfway() -> None:
    history, counts = repair(BROKEN, "midpoint")
    one = history.filter(pl.col("person_id") == 1).sort("seq")
    assert one["direction"].to_list() == ["arrival", "departure", "arrival", "departure"]
    assert one["crossing_date"].to_list()[1] == date(2020, 1, 6)
    assert one["imputed"].to_list() == [False, True, False, False]
    assert one["record_id"].to_list()[1] is None
    assert (counts.broken_pairs, counts.imputed, counts.dropped, counts.persons_repaired) == (
        1, 1, 0, 1)


def test_same_day_crossings_ordered_by_time() -> None:
    history, counts = repair(BROKEN, "midpoint")
    two = history.filter(pl.col("person_id") == 2).sort("seq")
    assert two["record_id"].to_list() == ["e", "d"]
    assert counts.broken_pairs == 1  # only person 1: person 2 is in order once timed


def test_drop_keeps_the_first_of_a_run() -> None:
    history, counts = repair(BROKEN, "drop")
    one = history.filter(pl.col("person_id") == 1).sort("seq")
    assert one["record_id"].to_list() == ["a", "c"]
    assert counts.dropped == 1 and counts.imputed == 0


def test_refuse_names_person_and_record() -> None:
    with pytest.raises(RegmigError, match="person 1, record b: two consecutive arrivals"):
        repair(BROKEN, "refuse", source="core.crossings")
    history, counts = repair(BROKEN.filter(pl.col("person_id") == 2), "refuse")
    assert counts.broken_pairs == 0 and history.height == 2


def test_initial_residence_sources() -> None:
    start = date(2022, 1, 1)
    register = pl.DataFrame({
        "person_id": [1, 2, 3],
        "registered_from": [date(1990, 1, 1), date(1990, 1, 1), date(2023, 5, 1)],
        "deregistered_on": [None, date(2021, 6, 1), None],
    })
    history = pl.DataFrame({
        "person_id": [2, 3, 4],
        "seq": [1, 1, 1],
        "crossing_date": [date(2022, 3, 1), date(2023, 4, 1), date(2022, 2, 1)],
        "direction": ["arrival", "arrival", "departure"],
    })
    persons = pl.DataFrame({"person_id": [1, 2, 3, 4, 5]})
    known = initial_residence.from_register(register, start)
    result = initial_residence.complete(persons, history, known)
    rows = {r["person_id"]: (r["res_status_initial"], r["status_source"])
            for r in result.iter_rows(named=True)}
    assert rows == {
        1: (1, "register"),  # registered at the start
        2: (0, "first_crossing"),  # deregistered before the start; first crossing in
        3: (0, "first_crossing"),  # registered only later
        4: (1, "first_crossing"),  # not registered; first crossing out
        5: (None, "unknown"),
    }


def test_evidence_repairs_missing_first_and_last_crossings() -> None:
    """Unrecorded crossings at the ends of a history, shown by the other records."""
    from regmig.config import ResidenceRule
    from regmig.estimators.repair_evidence import NO_REGISTER_RECORD, record_evidence
    from regmig.estimators.rule_on_histories import classify_histories

    start, end = date(2022, 1, 1), date(2024, 12, 31)
    crossings = _crossings([
        # 1: a permit holder whose arrival on the permit's first day went unrecorded
        (1, "a", date(2023, 8, 1), None, "departure"),
        (1, "a2", date(2023, 8, 20), None, "arrival"),
        # 2: a visitor on no record, whose arrival went unrecorded
        (2, "b", date(2022, 6, 1), None, "departure"),
        # 3: a resident deregistered for emigration, whose departure went unrecorded
        (3, "c", date(2022, 2, 1), None, "departure"),
        (3, "d", date(2022, 2, 20), None, "arrival"),
        # 4: registered at the start: the register's status stands, nothing imputed
        (4, "e", date(2022, 5, 1), None, "departure"),
    ])
    register = pl.DataFrame({
        "person_id": [1, 3, 4],
        "registered_from": [date(2022, 4, 1), date(1990, 1, 1), date(1990, 1, 1)],
        "deregistered_on": [None, date(2023, 6, 10), None],
        "deregistration_reason": [None, "emigration", None],
    })
    permits = pl.DataFrame({
        "person_id": [1], "decision": ["granted"],
        "valid_from": [date(2022, 3, 15)], "valid_to": [date(2025, 3, 14)],
    })
    known = initial_residence.from_register(register, start)
    result = classify_histories(
        crossings, known, ResidenceRule(), end, "evidence",
        evidence=record_evidence(register, permits, start))
    history = result.crossings.sort("person_id", "seq")

    one = history.filter(pl.col("person_id") == 1)
    assert one["direction"].to_list() == ["arrival", "departure", "arrival"]
    assert one["crossing_date"][0] == date(2022, 3, 15) and one["imputed"][0]
    assert one["is_long_term_migration"].to_list() == [True, False, False]  # 504 days in
    two = history.filter(pl.col("person_id") == 2)
    assert two["res_status_before"].to_list() == [0]  # not a resident's emigration
    assert not two["is_long_term_migration"][0]
    three = history.filter(pl.col("person_id") == 3)
    assert three["direction"].to_list() == ["departure", "arrival", "departure"]
    assert three["crossing_date"][2] == date(2023, 6, 10)
    assert three["is_long_term_migration"].to_list() == [False, False, True]
    four = history.filter(pl.col("person_id") == 4)
    assert four.height == 1 and four["res_status_before"][0] == 1
    sources = dict(result.initial.select("person_id", "status_source").iter_rows())
    assert sources[2] == NO_REGISTER_RECORD and sources[4] == "register"
    counts = result.repairs
    assert (counts.arrivals_from_permits, counts.departures_from_deregistrations,
            counts.initial_from_register_absence) == (1, 1, 1)
    # The midpoint policy ignores the evidence: person 2 emigrates from a guessed residence.
    blind = classify_histories(crossings, known, ResidenceRule(), end, "midpoint",
                               evidence=record_evidence(register, permits, start))
    assert blind.crossings.filter(pl.col("person_id") == 2)["res_status_before"][0] == 1
