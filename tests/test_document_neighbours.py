"""Document neighbourhoods (ingest/document_neighbours.py): two numbers one keystroke
apart share a pseudonym of their neighbourhood, two further apart do not, and a crossing
keyed with a slip reaches its person through them."""

import random

import polars as pl
import pytest

from regmig.ingest.document_neighbours import DocumentNeighbours
from regmig.ingest.pseudonyms import Pseudonymiser

NUMBER = "AB2345678"
SLIPS = {
    "substituted": "AB2345778",
    "transposed": "AB2345687",
    "dropped": "AB234578",
    "added": "AB23456078",
}
STRANGERS = {
    "two substituted": "AB2395671",
    "two transposed apart": "AB3245687",
    "another series": "KG2345678",
}


def _neighbourhoods(numbers: dict[str, str], country: str = "ARM") -> dict[str, set[int]]:
    pseudonymiser = Pseudonymiser(b"test-document-neighbours")
    try:
        documents = pl.DataFrame({"document_key": list(numbers),
                                  "document_text": list(numbers.values()),
                                  "document_country": [country] * len(numbers)})
        rows = DocumentNeighbours(pseudonymiser, min_length=6).rows(documents)
    finally:
        pseudonymiser.close()
    return {key: set(keys) for key, keys in rows.iter_rows()}


@pytest.mark.parametrize("slip", sorted(SLIPS))
def test_numbers_one_keystroke_apart_share_a_neighbour(slip: str) -> None:
    hoods = _neighbourhoods({"number": NUMBER, "slip": SLIPS[slip]})
    assert hoods["number"] & hoods["slip"]


@pytest.mark.parametrize("stranger", sorted(STRANGERS))
def test_numbers_further_apart_share_none(stranger: str) -> None:
    hoods = _neighbourhoods({"number": NUMBER, "stranger": STRANGERS[stranger]})
    assert not hoods["number"] & hoods["stranger"]


def test_the_issuing_country_and_the_key_are_part_of_each_pseudonym() -> None:
    armenian = _neighbourhoods({"number": NUMBER})["number"]
    georgian = _neighbourhoods({"number": NUMBER}, country="GEO")["number"]
    assert len(armenian) == len(NUMBER) + 1  # the number, and one per deletion
    assert not armenian & georgian


def test_short_numbers_and_documents_seen_before_get_none() -> None:
    pseudonymiser = Pseudonymiser(b"test-document-neighbours")
    try:
        neighbours = DocumentNeighbours(pseudonymiser, min_length=6)
        frame = pl.DataFrame({"document_key": ["k1", "k2"], "document_text": [NUMBER, "A123"],
                              "document_country": ["ARM", "ARM"]})
        first = neighbours.rows(frame)
        again = neighbours.rows(frame)
    finally:
        pseudonymiser.close()
    assert first["document_key"].to_list() == ["k1"]
    assert again.height == 0


def test_blocking_pairs_documents_one_slip_apart_and_nothing_else() -> None:
    """Profiles that share nothing but a document number one slip apart (other names, no
    date of birth) are paired by the document_neighbour pass alone: blocking recall 1
    with it, 0 without it."""
    import duckdb

    from regmig.config import LinkageConfig
    from regmig.linkage.blocking import choose_blocking_rules
    from regmig.linkage.coverage import measure_coverage
    from regmig.linkage.evaluation import blocking_recall
    from regmig.linkage.profiles import NAME_KEY_MACROS, profile_columns_sql

    persons = 40
    # numbers drawn at random (a dense series would put strangers one slip apart)
    rng = random.Random(7)
    numbers = {f"P{i}a": f"AB{rng.randrange(10**7):07d}" for i in range(persons)}
    # the second profile of each person: its number with the fifth digit mistyped
    numbers |= {f"P{i}b": n[:6] + str((int(n[6]) + 1) % 10) + n[7:]
                for i, n in ((k[1:-1], v) for k, v in list(numbers.items()))}
    hoods = _neighbourhoods(numbers)
    frame = pl.DataFrame({"unique_id": list(numbers), "document_key": list(numbers),
                          "document_neighbours": [sorted(hoods[k]) for k in numbers]})
    con = duckdb.connect()
    con.execute(NAME_KEY_MACROS)
    con.register("_documents", frame.to_arrow())
    con.execute(f"""
        CREATE TABLE profiles AS
        WITH base AS (
            SELECT unique_id, 'x' AS source, 1 AS n_records,
                   'given' || unique_id AS given_name, 'surname' || unique_id AS surname,
                   NULL::VARCHAR AS dob, NULL::VARCHAR AS sex, NULL::VARCHAR AS citizenship,
                   NULL::VARCHAR[] AS citizenships, NULL::VARCHAR AS country_of_birth,
                   document_key, document_neighbours, NULL::VARCHAR AS person_key,
                   NULL::DATE AS first_date, NULL::DATE AS last_date
            FROM _documents
        )
        SELECT * FROM ({profile_columns_sql("base")})
    """)
    con.execute("CREATE TABLE truth AS SELECT unique_id, "
                "regexp_extract(unique_id, 'P[0-9]+') AS person_id FROM profiles")
    choices = choose_blocking_rules(con, measure_coverage(con), LinkageConfig())
    neighbour = next(c for c in choices if c.name == "document_neighbour")
    assert neighbour.kept and neighbour.comparisons == persons
    kept = [c.condition for c in choices if c.kept]
    others = [c.condition for c in choices if c.kept and c.name != "document_neighbour"]
    truth = "SELECT * FROM truth"
    assert blocking_recall(con, truth, kept, clusters=None).recall == 1.0
    assert blocking_recall(con, truth, others, clusters=None).recall == 0.0
