"""identifiers.duckdb: the restricted database of direct identifiers, read by link only."""

from regmig.schemas.table_spec import C, Table

RECORDS = Table(
    "ident",
    "records",
    "Names and exact dates of birth of every loaded record (unit: cases). Restricted: "
    "read by the link stage alone.",
    (
        C("source", "VARCHAR", "Delivery source", "NOT NULL"),
        C("load_id", "BIGINT", "Load the record came from", "NOT NULL"),
        C("record_id", "VARCHAR", "Record identifier, joins raw.<source>.record_id", "NOT NULL"),
        C("given_name", "VARCHAR", "Given name as delivered"),
        C("surname", "VARCHAR", "Surname as delivered"),
        C("given_name_clean", "VARCHAR",
          "Given name normalised: NFKC, case-folded, no diacritics, Latin script (ICAO 9303 "
          "for Cyrillic, ISO 9985 for Armenian, Georgian national system; ingest/"
          "transliteration.py)"),
        C("surname_clean", "VARCHAR", "Surname normalised like given_name_clean"),
        C("date_of_birth", "DATE", "Exact date of birth, empty if missing or impossible"),
    ),
)

QUARANTINE = Table(
    "ident",
    "quarantine",
    "Identifying values of rows rejected at ingest (unit: cases); the rest of the row is "
    "in warehouse raw.rejected.",
    (
        C("source", "VARCHAR", "Delivery source"),
        C("load_id", "BIGINT", "Load the row came from"),
        C("row_number", "BIGINT", "Data row number in the delivery file"),
        C("identifying_values", "JSON",
          "Names, date of birth, document number and personal id as delivered"),
    ),
)

TABLES = (RECORDS, QUARANTINE)
