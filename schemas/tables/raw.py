"""raw: validated delivery rows, direct identifiers replaced (unit: cases).

Names, exact dates of birth and document numbers never reach these tables: they go to
identifiers.duckdb (see schemas/tables/identifiers.py). Documents and personal ids are
replaced by keyed HMAC-SHA256 pseudonyms; dates of birth are cut to year and month.
"""

from regmig.schemas.table_spec import C, Column, Table


def _common() -> tuple[Column, ...]:
    return (
        C("load_id", "BIGINT", "Load (meta.loads) the row came from", "NOT NULL"),
        C("row_number", "BIGINT", "Data row number in the delivery file (1 = first data row)"),
        C("record_id", "VARCHAR", "Record identifier, unique within the source", "NOT NULL"),
    )


def _person_attributes() -> tuple[Column, ...]:
    return (
        C("sex", "VARCHAR", "M | F, empty if not recorded"),
        C("birth_year", "INTEGER", "Year of birth (exact date kept in identifiers.duckdb only)"),
        C("birth_month", "INTEGER", "Month of birth, 1-12"),
        C("date_of_birth_flag", "VARCHAR",
          "ok | missing | partial | impossible: quality of the delivered date of birth"),
        C("citizenship", "VARCHAR", "Citizenship, ISO 3166-1 alpha-3"),
        C("country_of_birth", "VARCHAR", "Country of birth, ISO 3166-1 alpha-3"),
    )


def _cleaning() -> tuple[Column, ...]:
    return (
        C("date_flags", "VARCHAR[]",
          "Optional dates set empty at ingest, as column:flag (flag partial, impossible "
          "(not a date, or outside the plausible dates), inverted (an interval ending "
          "before it starts) or birth_date (equal to the record's date of birth)); empty "
          "when every delivered date was usable"),
    )


def _document_flag() -> Column:
    return C("document_number_flag", "VARCHAR",
             "ok | missing | empty | placeholder: the delivered document number; empty (no "
             "letter or digit) and placeholder (NULL, N/A, 000000 ...) get no document_key")


BORDER_CROSSINGS = Table(
    "raw",
    "border_crossings",
    "Validated border crossings (unit: cases, one row per recorded crossing).",
    _common()
    + (
        C("crossed_at", "TIMESTAMP", "Date and time of the crossing (midnight if only a date)"),
        C("crossing_date", "DATE", "Calendar date of the crossing", "NOT NULL"),
        C("direction", "VARCHAR", "arrival | departure", "NOT NULL"),
        C("border_point", "VARCHAR", "Border crossing point"),
        C("transport_mode", "VARCHAR", "air | land | rail | sea | other"),
        C("document_type", "VARCHAR", "Type of travel document"),
        C("document_key", "VARCHAR",
          "HMAC-SHA256 pseudonym of the travel document (number and issuing country)"),
        C("document_country", "VARCHAR", "Country that issued the document, ISO alpha-3"),
    )
    + _person_attributes()
    + (
        C("country_of_residence", "VARCHAR", "Declared country of residence, ISO alpha-3"),
        C("origin_destination", "VARCHAR", "Country travelled from (arrival) or to (departure)"),
        C("travel_purpose", "VARCHAR", "Declared purpose of travel"),
    )
    + _cleaning(),
)

POPULATION_REGISTER = Table(
    "raw",
    "population_register",
    "Validated population-register entries (unit: cases, one row per register record).",
    _common()
    + (
        C("person_key", "VARCHAR", "HMAC-SHA256 pseudonym of the register personal id (PIN)",
          "NOT NULL"),
    )
    + _person_attributes()
    + (
        C("second_citizenship", "VARCHAR", "Second citizenship, ISO alpha-3"),
        C("registered_from", "DATE", "Date the entry starts; to the month where it may be "
          "the date of birth (see registered_from_precision)", "NOT NULL"),
        C("registered_from_precision", "VARCHAR",
          "day | month. month: the registration fell in the year of birth, or the date of "
          "birth is not known to the day, so it may be the date of birth (people registered "
          "at birth); registered_from is then the first day of the month after it"),
        C("deregistered_on", "DATE", "Date the entry ends, empty if still registered"),
        C("deregistration_reason", "VARCHAR", "emigration | death | administrative | other"),
        C("document_key", "VARCHAR", "HMAC-SHA256 pseudonym of the travel document"),
        _document_flag(),
        C("document_country", "VARCHAR", "Country that issued the document, ISO alpha-3"),
        C("region", "VARCHAR", "Region of residence"),
    )
    + _cleaning(),
)

PERMITS = Table(
    "raw",
    "permits",
    "Validated permit records and asylum applications (unit: cases, one row per "
    "application or permit record).",
    _common()
    + (
        C("permit_id", "VARCHAR", "Permit or application identifier", "NOT NULL"),
        C("permit_type", "VARCHAR", "work | study | family | humanitarian | asylum | other",
          "NOT NULL"),
        C("application_kind", "VARCHAR", "first | extension | renewal | appeal"),
        C("application_date", "DATE", "Date of application"),
        C("decision", "VARCHAR", "granted | refused | pending"),
        C("decision_date", "DATE", "Date of decision"),
        C("valid_from", "DATE", "First day of validity"),
        C("valid_to", "DATE", "Last day of validity"),
        C("document_key", "VARCHAR", "HMAC-SHA256 pseudonym of the travel document"),
        _document_flag(),
        C("document_country", "VARCHAR", "Country that issued the document, ISO alpha-3"),
    )
    + _person_attributes()
    + _cleaning(),
)

REJECTED = Table(
    "raw",
    "rejected",
    "Quarantine: one row per failed check of a delivery row (unit: failures; count "
    "distinct (load_id, row_number) for cases). Identifying values of the row are kept "
    "in identifiers.duckdb, never here.",
    (
        C("source", "VARCHAR", "Delivery source"),
        C("load_id", "BIGINT", "Load (meta.loads) the row came from"),
        C("row_number", "BIGINT", "Data row number in the delivery file (1 = first data row)"),
        C("column_name", "VARCHAR", "Column that failed the check (empty for whole-row checks)"),
        C("check_name", "VARCHAR", "Check that failed, e.g. isin, not_nullable, unique, date"),
        C("reason", "VARCHAR", "One-line explanation naming file, row and column"),
        C("row_values", "JSON", "The row's non-identifying values as delivered"),
    ),
)

SOURCE_TABLES = {
    "border_crossings": BORDER_CROSSINGS,
    "population_register": POPULATION_REGISTER,
    "permits": PERMITS,
}


def _superseded(table: Table) -> Table:
    """Earlier versions of the source's records: a later delivery sent the record_id
    again (a correction, a deregistration, a decision), and its row took their place."""
    return Table(
        "raw",
        f"{table.name}_superseded",
        f"Earlier versions of the rows of {table.qualified} (unit: cases, one row per "
        "version): a later delivery holding the same record_id superseded each of them. "
        f"The version in force is in {table.qualified}.",
        table.columns + (
            C("superseded_by_load_id", "BIGINT",
              "Load (meta.loads) whose row with the same record_id replaced this version",
              "NOT NULL"),
        ),
    )


#: Each source's earlier record versions (record-level supersession, ingest/loads.py).
SUPERSEDED_TABLES = {source: _superseded(table) for source, table in SOURCE_TABLES.items()}

TABLES = (BORDER_CROSSINGS, POPULATION_REGISTER, PERMITS, REJECTED,
          *SUPERSEDED_TABLES.values())
