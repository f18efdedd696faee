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

LINK_PROFILE_VALUES = Table(
    "ident",
    "link_profile_values",
    "Linkage state (linkage/incremental.py): per profile of the last link run and per "
    "attribute core.persons is made of, each value with its records (unit: values of "
    "profiles; linkage/persons.py value_counts_sql). Counts add up over a person's "
    "profiles, so a monthly run writes the core.persons row of a person that gained "
    "records without reading its earlier ones.",
    (
        C("unique_id", "VARCHAR", "Profile id (ident.link_profiles)", "NOT NULL"),
        C("attribute", "VARCHAR", "source | sex | birth (year * 100 + month of the exact "
          "date of birth) | citizenship | country_of_birth", "NOT NULL"),
        C("value", "VARCHAR", "The attribute's value (never empty)", "NOT NULL"),
        C("n", "BIGINT", "Records of the profile with this value"),
        C("first_date", "DATE", "Earliest record date among them (empty when none is dated)"),
        C("last_date", "DATE", "Latest record date among them (empty when none is dated)"),
    ),
)

LINK_PAIRS = Table(
    "ident",
    "link_pairs",
    "Linkage state (linkage/incremental.py): every pair of profiles the last link run "
    "holds scored at or above the predict threshold (unit: pairs of profiles), so a "
    "monthly run scores only pairs with new or changed profiles.",
    (
        C("unique_id_l", "VARCHAR", "Profile id of one side (ident.link_profiles)", "NOT NULL"),
        C("unique_id_r", "VARCHAR", "Profile id of the other side (greater than unique_id_l)",
          "NOT NULL"),
        C("match_probability", "DOUBLE", "Probability that the two profiles are one person"),
        C("match_weight", "DOUBLE", "Match weight (log2 Bayes factor) of the pair"),
        C("dob_level", "INTEGER", "Comparison level of the dates of birth (0: they "
          "disagree outright; NULL when not compared), for attaching lone profiles"),
        C("run_id", "VARCHAR", "Link run that scored the pair"),
    ),
)

LINK_RECORDS = Table(
    "ident",
    "link_records",
    "Linkage state (linkage/incremental.py): the profile of every record the last link run "
    "linked (unit: cases), so a monthly run names today's profiles from the records loaded "
    "or removed since, rather than from every record in raw.*.",
    (
        C("source", "VARCHAR", "Delivery source", "NOT NULL"),
        C("record_id", "VARCHAR", "Record identifier, joins raw.<source>.record_id", "NOT NULL"),
        C("load_id", "BIGINT", "Load of the version linked (meta.loads)", "NOT NULL"),
        C("profile_group", "VARCHAR", "Key the record's profile is grouped by: '|' and the "
          "document or register personal id pseudonym, or '#' and the record or permit id "
          "(linkage/profiles.py)", "NOT NULL"),
        C("profile_id", "VARCHAR", "Profile of the record (ident.link_profiles.unique_id): "
          "its source's prefix and the group's smallest record id", "NOT NULL"),
    ),
)

LINK_STATE = Table(
    "ident",
    "link_state",
    "Linkage state (linkage/incremental.py): what the last link run saw and wrote "
    "(unit: runs; one row). A monthly run links incrementally only from a state that "
    "matches the warehouse.",
    (
        C("run_id", "VARCHAR", "Link run that left the state", "NOT NULL"),
        C("mode", "VARCHAR", "full | incremental: how that run linked"),
        C("last_load_id", "BIGINT", "Highest meta.loads load_id the run had linked"),
        C("person_map_hash", "VARCHAR", "Content hash of the core.person_map it wrote "
          "(without run ids)"),
        C("full_link_run_id", "VARCHAR", "The last full link run of the chain"),
        C("full_link_data_end", "DATE", "Last crossing date when that full link ran"),
        C("recorded_at", "TIMESTAMP", "When the state was written (UTC)"),
    ),
)

DOCUMENT_NEIGHBOURS = Table(
    "ident",
    "document_neighbours",
    "Per document pseudonym of a load, the pseudonyms of its number with one character "
    "deleted and of the number itself (unit: documents; ingest/document_neighbours.py): "
    "two documents sharing one are one keystroke apart. Restricted: read by the link "
    "stage alone.",
    (
        C("load_id", "BIGINT", "Load the document came from", "NOT NULL"),
        C("document_key", "VARCHAR", "Document pseudonym, joins raw.<source>.document_key",
          "NOT NULL"),
        C("neighbour_keys", "BIGINT[]",
          "First 64 bits of the HMAC-SHA256 of each member of the number's deletion "
          "neighbourhood (with its issuing country), sorted"),
    ),
)

TABLES = (RECORDS, QUARANTINE, LINK_RECORDS, LINK_PROFILE_VALUES, LINK_PAIRS, LINK_STATE,
          DOCUMENT_NEIGHBOURS)
