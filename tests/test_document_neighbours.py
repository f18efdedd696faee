"""Document neighbourhoods (ingest/document_neighbours.py): two numbers one keystroke
apart share a pseudonym of their neighbourhood, two further apart do not, and a crossing
keyed with a slip reaches its person through them."""

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
