"""Crossing histories (ordering, repair policies) and initial residence (docs/design.md §5)."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from regmig.errors import RegmigError
from regmig.estimators.step1_histories.sequences import repair
from regmig.estimators.step2_rule import initial_residence


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
    from regmig.estimators.step1_histories.ends import NO_REGISTER_RECORD, record_evidence
    from regmig.estimators.step2_rule.classify import classify_histories

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
        # 5: a foreign visitor on no record who stays ten days; the last departure went
        # unrecorded, so the last visit would otherwise run on to the data end
        (5, "f", date(2022, 3, 1), None, "arrival"),
        (5, "f2", date(2022, 3, 11), None, "departure"),
        (5, "f3", date(2023, 2, 1), None, "arrival"),
        # 6: the same with no complete stay to go by: left as recorded
        (6, "g", date(2023, 2, 1), None, "arrival"),
        # 7: a citizen on no record (a returning citizen): left as recorded
        (7, "h", date(2022, 3, 1), None, "arrival"),
        (7, "h2", date(2022, 3, 11), None, "departure"),
        (7, "h3", date(2023, 2, 1), None, "arrival"),
    ])
    persons = pl.DataFrame({"person_id": list(range(1, 8)),
                            "citizenship": ["IND", "RUS", "ARM", "ARM", "RUS", "RUS", "ARM"]})
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
        evidence=record_evidence(register, permits, start, persons, "ARM"))
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
    five = history.filter(pl.col("person_id") == 5)
    assert five["crossing_date"].to_list()[-1] == date(2023, 2, 11) and five["imputed"][-1]
    assert not five["is_long_term_migration"].any()
    for stays in (6, 7):  # a year and more in, with nothing to say otherwise
        last = history.filter(pl.col("person_id") == stays).sort("seq")[-1]
        assert last["direction"].item() == "arrival" and last["is_long_term_migration"].item()
    sources = dict(result.initial.select("person_id", "status_source").iter_rows())
    assert sources[2] == NO_REGISTER_RECORD and sources[4] == "register"
    counts = result.repairs
    assert (counts.arrivals_from_permits, counts.departures_from_deregistrations,
            counts.initial_from_register_absence, counts.visitor_departures) == (1, 1, 1, 1)
    # The midpoint policy ignores the evidence: person 2 emigrates from a guessed residence.
    blind = classify_histories(crossings, known, ResidenceRule(), end, "midpoint",
                               evidence=record_evidence(register, permits, start))
    assert blind.crossings.filter(pl.col("person_id") == 2)["res_status_before"][0] == 1


def test_evidence_places_the_missing_crossing_by_the_persons_usual_legs() -> None:
    """A resident's trips last days, stays months: after two departures the missing
    return closes a trip of the usual length. A visitor's stays last days: after two
    arrivals the missing departure closes a stay of the usual length."""
    day = date.fromordinal
    start = date(2020, 1, 1).toordinal()
    resident = [  # trips of 5 and 7 days (median 6), stays of 100 and 200 days
        (1, "r1", day(start), None, "departure"),
        (1, "r2", day(start + 5), None, "arrival"),
        (1, "r3", day(start + 105), None, "departure"),
        (1, "r4", day(start + 112), None, "arrival"),
        (1, "r5", day(start + 312), None, "departure"),
        (1, "r6", day(start + 700), None, "departure"),  # the return went unrecorded
    ]
    visitor = [  # stays of 10 days, trips of 300 days
        (2, "v1", day(start), None, "arrival"),
        (2, "v2", day(start + 10), None, "departure"),
        (2, "v3", day(start + 310), None, "arrival"),
        (2, "v4", day(start + 700), None, "arrival"),  # the departure went unrecorded
    ]
    history, counts = repair(_crossings(resident + visitor), "evidence")
    imputed = history.filter("imputed").sort("person_id")
    assert imputed["direction"].to_list() == ["arrival", "departure"]
    assert imputed["crossing_date"].to_list() == [day(start + 312 + 6), day(start + 320)]
    assert counts.imputed == 2
    # The records say where home is when they can: person 3 lives here by the register
    # although his legs (he emigrates later) make stays look shorter than trips.
    day3 = [(3, f"e{i}", day(start + offset), None, direction) for i, (offset, direction)
            in enumerate([(0, "departure"), (600, "departure"), (615, "arrival"),
                          (655, "departure"), (1080, "arrival"), (1086, "departure")])]
    registered = pl.DataFrame({"person_id": [3], "home_from": [day(start - 1000)],
                               "home_to": [None]}, schema_overrides={"home_to": pl.Date})
    by_legs, _ = repair(_crossings(day3), "evidence")
    by_records, _ = repair(_crossings(day3), "evidence", home_periods=registered)
    # Trips of 15 and 425 days (median 220), stays of 40 and 6: by the legs the 600-day
    # gap hides a long trip and a short stay; by the register, a trip of the usual length.
    assert by_legs.filter("imputed")["crossing_date"].to_list() == [day(start + 600 - 23)]
    assert by_records.filter("imputed")["crossing_date"].to_list() == [day(start + 220)]
    # Without any complete stay or trip of the person to go by: halfway, as "midpoint".
    lone = BROKEN.filter(pl.col("person_id") == 1).head(2)
    history, _ = repair(lone, "evidence")
    assert history.filter("imputed")["crossing_date"].to_list() == [date(2020, 1, 6)]
