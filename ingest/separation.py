"""Separation of a validated batch into its two destinations.

- raw.<source> (warehouse.duckdb, for analysts): typed values, document numbers and
  personal ids replaced by keyed pseudonyms (document_key, person_key; none for an
  identifier that identifies nobody, identifier_quality.py), the date of birth cut to
  birth_year and birth_month, partial, impossible or inverted optional dates set empty and
  listed in date_flags (plausibility.py).

No exact date of birth by the back door. People registered at birth have a
registered_from equal to their date of birth, next to their birth year and month. A
registration that falls in the record's year of birth, or on a record whose date of birth
is not known to the day (it may still be the birth), is therefore given to the month:
registered_from becomes the first day of the month after it (the month after that if the
delivered date of birth is that day), and registered_from_precision says `month`. That
day is never the date of birth, and every comparison with the first
day of a month (stocks on 1 January, the start of observation when it is one) comes out as
with the exact day, except for a registration on that very day. Any other optional date
equal to the record's own date of birth is set empty and flagged `birth_date`; a crossing
on the day of birth keeps its date and loses the month of birth instead.
- ident.records (identifiers.duckdb, restricted): names as delivered and cleaned for
  linkage, and the exact date of birth; ident.document_neighbours: the pseudonyms of each
  document's number one character apart (document_neighbours.py).
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from regmig.config import IngestConfig
from regmig.ingest import cleaning
from regmig.ingest.document_neighbours import DocumentNeighbours
from regmig.ingest.identifier_quality import identifier_flag, usable_identifier
from regmig.ingest.plausibility import INTERVALS, QUARANTINED_INTERVALS, PlausibleRange
from regmig.ingest.pseudonyms import Pseudonymiser, document_message, person_pin_message
from regmig.schemas.deliveries import OPTIONAL_DATE_COLUMNS, iso_date, iso_timestamp
from regmig.schemas.tables.identifiers import RECORDS
from regmig.schemas.tables.raw import SOURCE_TABLES


class Separated(NamedTuple):
    warehouse: pl.DataFrame  # rows of raw.<source>
    identifiers: pl.DataFrame  # rows of ident.records
    neighbours: pl.DataFrame  # rows of ident.document_neighbours


def separate(
    valid: pl.DataFrame,
    source: str,
    load_id: int,
    pseudonymiser: Pseudonymiser,
    plausible: PlausibleRange,
    config: IngestConfig,
    neighbours: DocumentNeighbours,
) -> Separated:
    """The batch's valid rows as rows of raw.<source>, of ident.records and of
    ident.document_neighbours (its documents not seen earlier in the load)."""
    cleaned = _cleaned(valid, source, load_id, pseudonymiser, plausible, config)
    warehouse = cleaned.select([c.name for c in SOURCE_TABLES[source].columns])
    identifiers = cleaned.select(
        pl.lit(source).alias("source"),
        pl.col("load_id"),
        pl.col("record_id"),
        pl.col("given_name"),
        pl.col("surname"),
        pl.col("given_name_clean"),
        pl.col("surname_clean"),
        pl.col("birth_date").alias("date_of_birth"),
    ).select([c.name for c in RECORDS.columns])
    documents = neighbours.rows(cleaned.select("document_key", "document_text",
                                               "document_country"))
    documents = documents.select(pl.lit(load_id, dtype=pl.Int64).alias("load_id"),
                                 *documents.columns)
    return Separated(warehouse, identifiers, documents)


def _cleaned(
    valid: pl.DataFrame,
    source: str,
    load_id: int,
    pseudonymiser: Pseudonymiser,
    plausible: PlausibleRange,
    config: IngestConfig,
) -> pl.DataFrame:
    """Every derived column of both destinations, beside the delivered text."""
    frame = valid.with_columns(pl.lit(load_id, dtype=pl.Int64).alias("load_id"))
    for name in ("given_name", "surname"):
        frame = cleaning.per_distinct(frame, name, {
            f"{name}_clean": cleaning.clean_name(pl.col(name)),
        })
    dates = OPTIONAL_DATE_COLUMNS[source]
    for name in dates:
        flag = cleaning.date_flag(pl.col(name), plausible.earliest, plausible.latest(name))
        parsed = cleaning.optional_date(pl.col(name), flag)
        outputs = {f"{name}_flag": flag, f"{name}_parsed": parsed}
        if name == "date_of_birth":
            year, month = cleaning.birth_year_month(pl.col(name), flag)
            outputs |= {"birth_year": year, "birth_month": month}
        frame = cleaning.per_distinct(frame, name, outputs)
    frame = _inverted_intervals_emptied(frame, source)
    frame = _birth_dates_emptied(frame, dates)
    frame = cleaning.per_distinct(frame, "document_number", {
        "document_text": usable_identifier(pl.col("document_number"), config),
        "document_number_flag": identifier_flag(pl.col("document_number"), config),
    })
    frame = frame.with_columns(
        pl.col("date_of_birth_flag"),
        pl.col("date_of_birth_parsed").alias("birth_date"),
        cleaning.date_flags_list({name: pl.col(f"{name}_flag") for name in dates})
        .alias("date_flags"),
        *[pl.col(f"{name}_parsed").alias(name) for name in dates if name != "date_of_birth"],
    )
    if source == "border_crossings":
        frame = frame.with_columns(
            iso_timestamp(pl.col("crossed_at")).alias("crossed_at"),
        ).with_columns(pl.col("crossed_at").dt.date().alias("crossing_date")).with_columns(
            birth_month=pl.when(pl.col("crossing_date") != pl.col("birth_date").fill_null(
                pl.date(1, 1, 1))).then(pl.col("birth_month")),
        )
    elif source == "population_register":
        frame = _registration_to_the_month_near_birth(frame)

    documents = frame.select(
        document_message(pl.col("document_text"), pl.col("document_country"))
    ).to_series()
    frame = frame.with_columns(pseudonymiser.digest(documents).alias("document_key"))
    if source == "population_register":
        pins = frame.select(person_pin_message(usable_identifier(pl.col("person_pin"), config)))
        frame = frame.with_columns(pseudonymiser.digest(pins.to_series()).alias("person_key"))
    return frame


def _inverted_intervals_emptied(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """Both dates of an interval that ends before it starts set empty, flagged inverted
    (the intervals that do not quarantine their row, plausibility.py)."""
    for start, end in INTERVALS[source]:
        if (start, end) in QUARANTINED_INTERVALS:
            continue
        inverted = (pl.col(f"{end}_parsed") < pl.col(f"{start}_parsed")).fill_null(False)
        frame = frame.with_columns(
            *[pl.when(inverted).then(pl.lit("inverted")).otherwise(pl.col(f"{name}_flag"))
              .alias(f"{name}_flag") for name in (start, end)],
            *[pl.when(~inverted).then(pl.col(f"{name}_parsed")).alias(f"{name}_parsed")
              for name in (start, end)],
        )
    return frame


def _birth_dates_emptied(frame: pl.DataFrame, dates: tuple[str, ...]) -> pl.DataFrame:
    """Optional dates equal to the record's own date of birth set empty, flagged."""
    for name in dates:
        if name == "date_of_birth":
            continue
        same = (pl.col(f"{name}_parsed") == pl.col("date_of_birth_parsed")).fill_null(False)
        frame = frame.with_columns(
            pl.when(same).then(pl.lit("birth_date")).otherwise(pl.col(f"{name}_flag"))
            .alias(f"{name}_flag"),
            pl.when(~same).then(pl.col(f"{name}_parsed")).alias(f"{name}_parsed"),
        )
    return frame


def _registration_to_the_month_near_birth(frame: pl.DataFrame) -> pl.DataFrame:
    """registered_from as a date, to the month where it may be the date of birth (see
    the module docstring)."""
    registered = iso_date(pl.col("registered_from"))
    may_be_birth = (
        pl.col("birth_year").is_null()
        | (pl.col("date_of_birth_flag") != "ok")
        | (registered.dt.year() == pl.col("birth_year"))
    )
    next_month = registered.dt.month_start().dt.offset_by("1mo")
    # A delivered date of birth may itself be that day (a day and month swapped): then
    # the month after.
    month = pl.when(next_month == pl.col("birth_date")).then(next_month.dt.offset_by("1mo")) \
        .otherwise(next_month)
    return frame.with_columns(
        registered_from=pl.when(may_be_birth).then(month).otherwise(registered),
        registered_from_precision=pl.when(may_be_birth).then(pl.lit("month"))
        .otherwise(pl.lit("day")),
    )
