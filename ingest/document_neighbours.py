"""Document neighbourhoods: keyed pseudonyms of a document number with one character
deleted, so that linkage can find two documents one keystroke apart.

A crossing recorded on a mistyped document number gets a document pseudonym of its own
and, alone, becomes a person of one crossing: a false immigration or emigration. The
pseudonym hides the number, so linkage cannot see that AB1234567 and AB1234667 are one
slip apart. The *deletion neighbourhood* of a number (the number itself and every
string made by deleting one of its characters) can: two numbers share a member when one
is the other with one character substituted (delete it from both), inserted or dropped
(the shorter is a member of the longer's), or two neighbours transposed (delete either);
so do a few numbers two edits apart, a character dropped in one place and another added
nearby (AB2345678 and AB2346778 share AB234678).

Each member is pseudonymised like the number (HMAC-SHA256 under the same key, prefixed
with the issuing country and its own label, so it never equals a document pseudonym)
and kept as its first 64 bits: the members are compared for equality only, and among the
tens of millions of a national delivery two of 64 bits collide with a chance of about
one in 100,000. The neighbourhood of each document pseudonym goes to identifiers.duckdb
(ident.document_neighbours), never to the warehouse: it tells which documents are one
character apart, which the warehouse must not reveal. Numbers shorter than
`IngestConfig.document_neighbour_min_length` get none (too many strangers' numbers are
one character apart).
"""

from __future__ import annotations

import polars as pl

from regmig.ingest.pseudonyms import Pseudonymiser

#: What each member's pseudonym is made from, before the country and the member.
LABEL = "document_neighbour:"


class DocumentNeighbours:
    """The neighbourhoods of one load's documents, each computed once however many
    batches carry the document."""

    def __init__(self, pseudonymiser: Pseudonymiser, min_length: int) -> None:
        self._pseudonymiser = pseudonymiser
        self._min_length = min_length
        self._done = pl.Series("document_key", [], dtype=pl.String)

    def rows(self, documents: pl.DataFrame) -> pl.DataFrame:
        """`documents` (document_key, document_text, document_country, one row per
        record) -> one row per document not seen earlier in this load: document_key,
        neighbour_keys (BIGINT list, sorted)."""
        new = (documents.filter(pl.col("document_key").is_not_null()
                                & (pl.col("document_text").str.len_chars()
                                   >= self._min_length))
               .unique("document_key")
               .filter(~pl.col("document_key").is_in(self._done.implode())))
        self._done = pl.concat([self._done, new["document_key"]])
        members = new.with_columns(
            position=pl.int_ranges(-1, pl.col("document_text").str.len_chars()),
        ).explode("position").with_columns(
            # position -1: the number itself; else the number without that character
            member=pl.when(pl.col("position") < 0).then(pl.col("document_text"))
            .otherwise(pl.col("document_text").str.slice(0, pl.col("position"))
                       + pl.col("document_text").str.slice(pl.col("position") + 1)),
        ).select(
            "document_key",
            message=pl.concat_str([pl.lit(LABEL), pl.col("document_country").fill_null(""),
                                   pl.lit(":"), pl.col("member")]),
        )
        members = members.with_columns(
            self._pseudonymiser.digest64(members["message"]).alias("neighbour_key"))
        return members.group_by("document_key").agg(
            pl.col("neighbour_key").unique().sort().alias("neighbour_keys"))
