"""Separation of a validated batch into its two destinations.

- raw.<source> (warehouse.duckdb, for analysts): typed values, document numbers and
  personal ids replaced by keyed pseudonyms (document_key, person_key), the date of birth
  cut to birth_year and birth_month, partial or impossible optional dates set empty and
  listed in date_flags.
- ident.records (identifiers.duckdb, restricted): names as delivered and cleaned for
  linkage, and the exact date of birth.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from regmig.ingest import cleaning
from regmig.ingest.pseudonyms import Pseudonymiser, document_message, person_pin_message
from regmig.schemas.deliveries import OPTIONAL_DATE_COLUMNS, iso_date, iso_timestamp
from regmig.schemas.tables.identifiers import RECORDS
from regmig.schemas.tables.raw import SOURCE_TABLES


def separate(
    valid: pl.DataFrame,
    source: str,
    load_id: int,
    pseudonymiser: Pseudonymiser,
    earliest: date,
    load_day: date,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The batch's valid rows as (rows of raw.<source>, rows of ident.records)."""
    cleaned = _cleaned(valid, source, load_id, pseudonymiser, earliest, load_day)
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
    return warehouse, identifiers


def _cleaned(
    valid: pl.DataFrame,
    source: str,
    load_id: int,
    pseudonymiser: Pseudonymiser,
    earliest: date,
    load_day: date,
) -> pl.DataFrame:
    """Every derived column of both destinations, beside the delivered text."""
    frame = valid.with_columns(pl.lit(load_id, dtype=pl.Int64).alias("load_id"))
    for name in ("given_name", "surname"):
        frame = cleaning.per_distinct(frame, name, {
            f"{name}_clean": cleaning.clean_name(pl.col(name)),
        })
    flags = {}
    for name in OPTIONAL_DATE_COLUMNS[source]:
        # A birth cannot be after the load day; permit validity may lie in the future.
        flag = cleaning.date_flag(pl.col(name), earliest,
                                  load_day if name == "date_of_birth" else None)
        parsed = cleaning.optional_date(pl.col(name), flag)
        outputs = {f"{name}_flag": flag, f"{name}_parsed": parsed}
        if name == "date_of_birth":
            year, month = cleaning.birth_year_month(pl.col(name), flag)
            outputs |= {"birth_year": year, "birth_month": month}
        frame = cleaning.per_distinct(frame, name, outputs)
        flags[name] = pl.col(f"{name}_flag")
    frame = cleaning.per_distinct(frame, "document_number", {
        "document_text": cleaning.identifier_text(pl.col("document_number")),
    })
    frame = frame.with_columns(
        pl.col("date_of_birth_flag"),
        pl.col("date_of_birth_parsed").alias("birth_date"),
        cleaning.date_flags_list(flags).alias("date_flags"),
        *[pl.col(f"{name}_parsed").alias(name)
          for name in OPTIONAL_DATE_COLUMNS[source] if name != "date_of_birth"],
    )
    if source == "border_crossings":
        frame = frame.with_columns(
            iso_timestamp(pl.col("crossed_at")).alias("crossed_at"),
        ).with_columns(pl.col("crossed_at").dt.date().alias("crossing_date"))
    elif source == "population_register":
        frame = frame.with_columns(iso_date(pl.col("registered_from")).alias("registered_from"))

    documents = frame.select(
        document_message(pl.col("document_text"), pl.col("document_country"))
    ).to_series()
    frame = frame.with_columns(pseudonymiser.digest(documents).alias("document_key"))
    if source == "population_register":
        pins = frame.select(person_pin_message(cleaning.identifier_text(pl.col("person_pin"))))
        frame = frame.with_columns(pseudonymiser.digest(pins.to_series()).alias("person_key"))
    return frame
