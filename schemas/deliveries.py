"""Pandera (polars) models of the three deliveries of docs/design.md §3.

A model checks one delivered row's values, not just its columns: required values present,
codes in their domains (schemas/classifications.py), countries ISO 3166-1 alpha-3, required
dates ISO 8601. Models see the delivery as text, after ingest has trimmed the values,
turned empty strings into nulls and put codes in their canonical case (`CODE_CASE`): every
column is `str`, so a wrong type is a failed value check on one row, never a failed cast
of a whole file. Required columns are the non-nullable ones (`required_columns`).

Optional dates (date of birth, permit and register dates) are not checked here: ingest
keeps the row and sets a partial or impossible date empty with a flag (ingest/cleaning.py).
Uniqueness of record_id spans batches and earlier loads, so ingest checks it itself
(check name "unique").

Validation depth: models are applied to eager DataFrames, so values are always checked
(pandera checks a polars LazyFrame for its schema only, not its values).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from regmig.schemas import classifications as cls_

#: ISO 8601 calendar date, optionally followed by a time of day (seconds and fraction
#: optional). Time zones are not accepted: deliveries report local time.
ISO_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
ISO_TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$"


def iso_timestamp(text: pl.Expr) -> pl.Expr:
    """The timestamp a text holds, or null when it is not an ISO date or date-time that
    exists (2024-02-30 and 25:00 are null)."""
    spaced = text.str.replace("T", " ", literal=True)
    length = spaced.str.len_bytes()
    seconds = (
        pl.when(length == 10).then(spaced + " 00:00:00")
        .when(length == 16).then(spaced + ":00")
        .otherwise(spaced.str.slice(0, 19))
    )
    return (
        pl.when(text.str.contains(ISO_TIMESTAMP_PATTERN))
        .then(seconds.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us"))
    )


def iso_date(text: pl.Expr) -> pl.Expr:
    """The calendar date a text holds (an ISO date, or the date of an ISO date-time)."""
    return iso_timestamp(text).dt.date()


def _parses(data: PolarsData, parser) -> pl.LazyFrame:
    column = pl.col(data.key)
    # Nulls are the not-nullable check's business: reported once, by that check.
    return data.lazyframe.select(column.is_null() | parser(column).is_not_null())


class _Delivery(pa.DataFrameModel):
    """Settings shared by the three delivery models."""

    class Config:
        # Extra delivered columns are ignored by ingest (and named in meta.loads).
        strict = False
        coerce = False


class BorderCrossings(_Delivery):
    record_id: str = pa.Field(nullable=False)
    crossed_at: str = pa.Field(nullable=False)
    direction: str = pa.Field(nullable=False, isin=cls_.DIRECTIONS)
    border_point: str = pa.Field(nullable=True)
    transport_mode: str = pa.Field(nullable=True, isin=cls_.TRANSPORT_MODES)
    document_type: str = pa.Field(nullable=True)
    document_number: str = pa.Field(nullable=False)
    document_country: str = pa.Field(nullable=False)
    citizenship: str = pa.Field(nullable=True)
    sex: str = pa.Field(nullable=True, isin=cls_.SEXES)
    date_of_birth: str = pa.Field(nullable=True)
    given_name: str = pa.Field(nullable=True)
    surname: str = pa.Field(nullable=True)
    country_of_birth: str = pa.Field(nullable=True)
    country_of_residence: str = pa.Field(nullable=True)
    origin_destination: str = pa.Field(nullable=True)
    travel_purpose: str = pa.Field(nullable=True)

    @pa.check("crossed_at", name="iso_datetime")
    def _crossed_at_is_iso(cls, data: PolarsData) -> pl.LazyFrame:
        return _parses(data, iso_timestamp)

    @pa.check("document_country", "citizenship", "country_of_birth", "country_of_residence",
              "origin_destination", name="iso3166_alpha3")
    def _countries(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_in(cls_.country_codes()))


class PopulationRegister(_Delivery):
    record_id: str = pa.Field(nullable=False)
    person_pin: str = pa.Field(nullable=False)
    given_name: str = pa.Field(nullable=True)
    surname: str = pa.Field(nullable=True)
    sex: str = pa.Field(nullable=True, isin=cls_.SEXES)
    date_of_birth: str = pa.Field(nullable=True)
    country_of_birth: str = pa.Field(nullable=True)
    citizenship: str = pa.Field(nullable=True)
    second_citizenship: str = pa.Field(nullable=True)
    registered_from: str = pa.Field(nullable=False)
    deregistered_on: str = pa.Field(nullable=True)
    deregistration_reason: str = pa.Field(nullable=True, isin=cls_.DEREGISTRATION_REASONS)
    document_number: str = pa.Field(nullable=True)
    document_country: str = pa.Field(nullable=True)
    region: str = pa.Field(nullable=True)

    @pa.check("registered_from", name="iso_date")
    def _registered_from_is_iso(cls, data: PolarsData) -> pl.LazyFrame:
        return _parses(data, iso_date)

    @pa.check("country_of_birth", "citizenship", "second_citizenship", "document_country",
              name="iso3166_alpha3")
    def _countries(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_in(cls_.country_codes()))


class Permits(_Delivery):
    record_id: str = pa.Field(nullable=False)
    permit_id: str = pa.Field(nullable=False)
    permit_type: str = pa.Field(nullable=False, isin=cls_.PERMIT_TYPES)
    application_kind: str = pa.Field(nullable=True, isin=cls_.APPLICATION_KINDS)
    application_date: str = pa.Field(nullable=True)
    decision: str = pa.Field(nullable=True, isin=cls_.DECISIONS)
    decision_date: str = pa.Field(nullable=True)
    valid_from: str = pa.Field(nullable=True)
    valid_to: str = pa.Field(nullable=True)
    document_number: str = pa.Field(nullable=True)
    document_country: str = pa.Field(nullable=True)
    given_name: str = pa.Field(nullable=True)
    surname: str = pa.Field(nullable=True)
    sex: str = pa.Field(nullable=True, isin=cls_.SEXES)
    date_of_birth: str = pa.Field(nullable=True)
    citizenship: str = pa.Field(nullable=True)
    country_of_birth: str = pa.Field(nullable=True)

    @pa.check("document_country", "citizenship", "country_of_birth", name="iso3166_alpha3")
    def _countries(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_in(cls_.country_codes()))


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "border_crossings": BorderCrossings,
    "population_register": PopulationRegister,
    "permits": Permits,
}

#: Direct identifiers of each delivery: never written to the warehouse (they go to
#: identifiers.duckdb, or are replaced by keyed pseudonyms).
IDENTIFYING_COLUMNS: dict[str, tuple[str, ...]] = {
    "border_crossings": ("document_number", "date_of_birth", "given_name", "surname"),
    "population_register": ("person_pin", "document_number", "date_of_birth", "given_name",
                            "surname"),
    "permits": ("document_number", "date_of_birth", "given_name", "surname"),
}

#: Optional dates: a partial or impossible value is set empty and flagged, the row kept.
OPTIONAL_DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "border_crossings": ("date_of_birth",),
    "population_register": ("date_of_birth", "deregistered_on"),
    "permits": ("date_of_birth", "application_date", "decision_date", "valid_from",
                "valid_to"),
}

#: Canonical case of coded columns, applied before validation ("Arrival" is "arrival",
#: "arm" is "ARM"): a difference of case is not an error in the delivery.
CODE_CASE: dict[str, str] = {
    "direction": "lower", "transport_mode": "lower", "deregistration_reason": "lower",
    "permit_type": "lower", "application_kind": "lower", "decision": "lower",
    "sex": "upper", "document_country": "upper", "citizenship": "upper",
    "second_citizenship": "upper", "country_of_birth": "upper",
    "country_of_residence": "upper", "origin_destination": "upper",
}


def columns(source: str) -> tuple[str, ...]:
    """The delivery's columns, in the order of docs/design.md §3."""
    return tuple(MODELS[source].to_schema().columns)


def required_columns(source: str) -> tuple[str, ...]:
    """Columns marked required (*) in docs/design.md §3: a file without one is refused."""
    schema = MODELS[source].to_schema()
    return tuple(name for name, column in schema.columns.items() if not column.nullable)
