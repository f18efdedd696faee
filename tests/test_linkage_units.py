"""Parts of the link stage on small hand-made inputs whose right answer is known."""

import duckdb
import pytest

from regmig.linkage.clustering import (
    attach_by_travel_history,
    attach_lone_profiles,
    split_conflicts,
)
from regmig.linkage.evaluation import evaluate
from regmig.linkage.profiles import NAME_KEY_MACROS
from regmig.linkage.stable_ids import assign_person_ids


def _con_with(tables: dict[str, str]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, sql in tables.items():
        con.execute(f"CREATE TABLE {name} AS {sql}")
    return con


def test_transliterations_share_a_sound_key() -> None:
    con = duckdb.connect()
    con.execute(NAME_KEY_MACROS)
    same = [("khachatryan", "xachatrian"), ("hovhannisyan", "hovhannisian"),
            ("mkrtchyan", "mkrtchian"), ("mnatsakanyan", "mnacakanjan"),
            ("elena", "yelena"), ("solovyov", "solovjov")]
    for left, right in same:
        keys = con.sql("SELECT name_key($a), name_key($b)", params={"a": left, "b": right})
        key_l, key_r = keys.fetchall()[0]
        assert key_l == key_r, (left, right, key_l, key_r)
    different = con.sql("SELECT name_key('petrosyan'), name_key('grigoryan')").fetchall()[0]
    assert different[0] != different[1]


def test_lone_profiles_attach_to_the_one_cluster_they_point_into() -> None:
    # Clusters: {C1, C2}, {K1, K2} and lone profiles A, B, D, E, F, G, H (a lone
    # profile's cluster id is its own id). A and B point only at each other; D points
    # into {C1, C2}; E points only at the lone F, which points at E and into {C1, C2}:
    # two clusters, so F stays and E joins it; G points into {C1, C2} and {K1, K2}; H's
    # one link disagrees outright on the date of birth.
    clusters = ("SELECT * FROM (VALUES ('C1', 'C1'), ('C2', 'C1'), ('A', 'A'), ('B', 'B'), "
                "('D', 'D'), ('E', 'E'), ('F', 'F'), ('G', 'G'), ('H', 'H'), ('K1', 'K1'), "
                "('K2', 'K1')) "
                "AS t(unique_id, cluster_id)")
    con = _con_with({
        "profile_clusters": f"SELECT *, false AS in_conflict FROM ({clusters})",
        "profiles": f"SELECT unique_id, NULL::VARCHAR AS person_key FROM ({clusters})",
        "pairs": "SELECT * FROM (VALUES ('A', 'B', 0.7, 1), ('C1', 'D', 0.8, 1), "
                 "('E', 'F', 0.6, 1), ('C2', 'F', 0.9, 1), ('C1', 'G', 0.6, 1), "
                 "('K2', 'G', 0.6, 1), ('K1', 'K2', 0.99, 1), ('C2', 'H', 0.9, 0)) "
                 "AS t(unique_id_l, unique_id_r, match_probability, dob_level)",
    })
    attached = attach_lone_profiles(con, 0.5)
    cluster = dict(con.sql("SELECT unique_id, cluster_id FROM profile_clusters").fetchall())
    assert cluster["A"] == cluster["B"] != cluster["C1"]
    assert cluster["D"] == cluster["C1"] == cluster["C2"]
    assert cluster["E"] == cluster["F"] != cluster["C1"]
    assert len({cluster["G"], cluster["H"], cluster["A"], cluster["C1"], cluster["E"]}) == 5
    assert attached == 4  # A, B, D, E


def test_a_lone_crossing_joins_the_one_travel_history_it_fills() -> None:
    # Person P (profiles P1 crossings, P2 register) left on 1 March and 1 September with
    # no arrival between: the lone arrival A of 1 June fills that gap and joins, on a link
    # far below the clustering threshold. Q has the same gap but its one link disagrees on
    # the date of birth. The lone arrival B of 1 December follows P's last departure: it
    # fills no gap and stays. The lone departure D of 1 June sits between two departures
    # (it would make three in a row) and stays. The lone arrival E fills gaps in both P
    # and R: two candidates, so it stays.
    clusters = ("SELECT * FROM (VALUES ('P1', 'P1'), ('P2', 'P1'), ('Q1', 'Q1'), "
                "('R1', 'R1'), ('A', 'A'), ('B', 'B'), ('D', 'D'), ('E', 'E')) "
                "AS t(unique_id, cluster_id)")
    crossings = [("P1", "2023-01-10", "arrival"), ("P1", "2023-03-01", "departure"),
                 ("P1", "2023-09-01", "departure"), ("Q1", "2023-03-01", "departure"),
                 ("Q1", "2023-09-01", "departure"), ("R1", "2023-05-01", "departure"),
                 ("R1", "2023-08-01", "departure"), ("A", "2023-06-01", "arrival"),
                 ("B", "2023-12-01", "arrival"), ("D", "2023-06-01", "departure"),
                 ("E", "2023-07-01", "arrival")]
    rows = ", ".join(f"('{p}', 'x{i}', TIMESTAMP '{d}', '{k}')"
                     for i, (p, d, k) in enumerate(crossings))
    con = _con_with({
        "profile_clusters": f"SELECT *, false AS in_conflict FROM ({clusters})",
        "profiles": f"SELECT unique_id, CASE WHEN unique_id = 'P2' THEN 'population_register' "
                    f"ELSE 'border_crossings' END AS source FROM ({clusters})",
        "link_records": f"SELECT 'border_crossings' AS source, record_id, profile_id "
                        f"FROM (VALUES {rows}) AS t(profile_id, record_id, crossed_at, d)",
        "in_border_crossings": f"SELECT record_id, crossed_at, d AS direction "
                               f"FROM (VALUES {rows}) AS t(profile_id, record_id, crossed_at, d)",
        "pairs": "SELECT * FROM (VALUES ('A', 'P2', 0.05, 1), ('A', 'Q1', 0.3, 0), "
                 "('B', 'P1', 0.4, 1), ('D', 'P1', 0.4, 1), ('E', 'P1', 0.2, 1), "
                 "('E', 'R1', 0.2, 1), ('A', 'R1', 0.005, 1)) "
                 "AS t(unique_id_l, unique_id_r, match_probability, dob_level)",
    })
    attached = attach_by_travel_history(con, 0.01)
    cluster = dict(con.sql("SELECT unique_id, cluster_id FROM profile_clusters").fetchall())
    assert cluster["A"] == cluster["P1"] == cluster["P2"]
    others = ("B", "D", "E", "Q1", "R1")
    assert [cluster[p] for p in others] == list(others)  # each still alone
    assert attached == 1


def test_conflicts_are_cut_at_the_weakest_link() -> None:
    # A (register id 1) - B 0.99, B - C 0.97, C - D (register id 2) 0.999:
    # A and D may not share a person; the weakest link on the path is B - C.
    edges = [("C", "D", None, "2", "x"), ("A", "B", "1", None, "x"),
             ("B", "C", None, None, "x")]
    labels, cut = split_conflicts(edges)
    assert cut == 1
    assert labels["A"] == labels["B"]
    assert labels["C"] == labels["D"]
    assert labels["A"] != labels["D"]


def test_same_register_id_is_not_a_conflict() -> None:
    edges = [("A", "B", "1", None, "x"), ("B", "C", None, "1", "x")]
    labels, cut = split_conflicts(edges)
    assert cut == 0 and len(set(labels.values())) == 1


def _records(rows: list[tuple[str, str]]) -> str:
    values = ", ".join(f"('border_crossings', '{r}', '{c}')" for r, c in rows)
    return f"SELECT * FROM (VALUES {values}) AS t(source, record_id, cluster_id)"


def _previous(rows: list[tuple[str, int]]) -> str:
    if not rows:
        return ("SELECT 'x' AS source, 'x' AS record_id, 0::BIGINT AS person_id "
                "WHERE false")
    values = ", ".join(f"('border_crossings', '{r}', {p})" for r, p in rows)
    return f"SELECT * FROM (VALUES {values}) AS t(source, record_id, person_id)"


def _ids(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return dict(con.sql("SELECT cluster_id, person_id FROM cluster_person").fetchall())


def test_first_run_creates_fresh_ids_above_the_highest_issued() -> None:
    con = _con_with({"record_clusters": _records([("r1", "a"), ("r2", "a"), ("r3", "b")]),
                     "prev_map": _previous([])})
    events = assign_person_ids(con, highest_issued_id=100)
    assert sorted(_ids(con).values()) == [101, 102]
    assert events == {"created": 2}


def test_merge_keeps_the_larger_id_and_records_the_other() -> None:
    # Person 7 (r1, r2) and person 9 (r3) are now one cluster: 7 holds more records.
    con = _con_with({
        "record_clusters": _records([("r1", "a"), ("r2", "a"), ("r3", "a"), ("r4", "b")]),
        "prev_map": _previous([("r1", 7), ("r2", 7), ("r3", 9), ("r4", 12)]),
    })
    events = assign_person_ids(con, highest_issued_id=12)
    assert _ids(con) == {"a": 7, "b": 12}
    assert events == {"merged": 1}
    row = con.sql("SELECT person_id, related_person_id, n_records FROM id_events").fetchall()
    assert row == [(7, 9, 1)]


def test_split_gives_the_smaller_part_a_new_id() -> None:
    # Person 7 (r1, r2, r3) splits into {r1, r2} and {r3}.
    con = _con_with({"record_clusters": _records([("r1", "a"), ("r2", "a"), ("r3", "b")]),
                     "prev_map": _previous([("r1", 7), ("r2", 7), ("r3", 7)])})
    events = assign_person_ids(con, highest_issued_id=20)
    assert _ids(con) == {"a": 7, "b": 21}
    assert events == {"split": 1}
    row = con.sql("SELECT person_id, related_person_id, n_records FROM id_events").fetchall()
    assert row == [(21, 7, 1)]


def test_person_whose_records_vanished_is_retired() -> None:
    con = _con_with({"record_clusters": _records([("r1", "a")]),
                     "prev_map": _previous([("r1", 3), ("r9", 4)])})
    events = assign_person_ids(con, highest_issued_id=4)
    assert _ids(con) == {"a": 3}
    assert events == {"retired": 1}


def test_evaluation_counts_pairs_and_bcubed() -> None:
    # Truth: {1,2,3} {4}. Predicted: {1,2} {3,4}.
    con = duckdb.connect()
    truth = ("SELECT 's' AS source, * FROM (VALUES ('1', 1), ('2', 1), ('3', 1), ('4', 2)) "
             "AS t(record_id, person_id)")
    predicted = ("SELECT 's' AS source, * FROM (VALUES ('1', 10), ('2', 10), ('3', 11), "
                 "('4', 11)) AS t(record_id, person_id)")
    accuracy = evaluate(con, predicted, truth)
    # True pairs: 12 13 23; predicted: 12 34; right: 12.
    assert accuracy.pairwise_precision == pytest.approx(1 / 2)
    assert accuracy.pairwise_recall == pytest.approx(1 / 3)
    # B-cubed precision per record: 1, 1, 1/2, 1/2; recall: 2/3, 2/3, 1/3, 1.
    assert accuracy.bcubed_precision == pytest.approx(3 / 4)
    assert accuracy.bcubed_recall == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    assert accuracy.person_count_error == 0


def test_blocking_bounds_large_blocks_instead_of_dropping_passes() -> None:
    """A budget too small for every pass caps block sizes: each pass is still used, its
    pairs in capped blocks are counted as left out, and the total fits the budget."""
    import dataclasses

    import duckdb

    from regmig.config import LinkageConfig
    from regmig.linkage.blocking import choose_blocking_rules
    from regmig.linkage.coverage import measure_coverage
    from regmig.linkage.profiles import NAME_KEY_MACROS, profile_columns_sql

    con = duckdb.connect()
    con.execute(NAME_KEY_MACROS)
    # 300 namesakes (one large block for the name passes), then 200 distinct persons
    con.execute(f"""
        CREATE TABLE profiles AS
        WITH base AS (
            SELECT 'P' || i AS unique_id, 'x' AS source, 1 AS n_records,
                   CASE WHEN i < 300 THEN 'anna' ELSE 'name' || (i % 200) END AS given_name,
                   CASE WHEN i < 300 THEN 'sargsyan' ELSE 'fam' || (i % 200) END AS surname,
                   CAST(DATE '1950-01-01' + INTERVAL (i * 37) DAY AS DATE)::VARCHAR AS dob,
                   'F' AS sex, 'ARM' AS citizenship, ['ARM'] AS citizenships,
                   'ARM' AS country_of_birth, 'D' || (i % 450) AS document_key,
                   NULL::BIGINT[] AS document_neighbours,
                   NULL::VARCHAR AS person_key, NULL::DATE AS first_date,
                   NULL::DATE AS last_date
            FROM range(700) AS t(i)
        )
        SELECT * FROM ({profile_columns_sql("base")})
    """)
    coverage = measure_coverage(con)
    roomy = choose_blocking_rules(con, coverage, LinkageConfig())
    assert all(c.max_block is None for c in roomy)
    tight = dataclasses.replace(LinkageConfig(), comparison_budget=20_000,
                                comparisons_per_profile=0)
    choices = choose_blocking_rules(con, coverage, tight)
    used = [c for c in choices if c.usable]
    assert [c.name for c in used] == [c.name for c in roomy if c.usable]
    assert sum(c.comparisons for c in used) <= 20_000
    capped = [c for c in used if c.max_block is not None]
    assert capped and all(c.comparisons_left_out > 0 for c in capped)
    assert next(c for c in used if c.name == "document").max_block is None
    # the rule SQL carries the cap, on the block-size column added to the profiles
    name_keys = next(c for c in capped if c.name == "name_keys")
    assert f"<= {name_keys.max_block}" in name_keys.rule
    largest = con.sql("SELECT max(block_name_keys) FROM profiles").fetchall()[0][0]
    assert largest > name_keys.max_block
