"""core: cases linked to persons."""

from regmig.schemas.table_spec import C, Table

PERSON_MAP = Table(
    "core",
    "person_map",
    "Every loaded record of every source mapped to exactly one person (unit: cases).",
    (
        C("source", "VARCHAR", "border_crossings | population_register | permits", "NOT NULL"),
        C("record_id", "VARCHAR", "Record identifier in raw.<source>", "NOT NULL"),
        C("person_id", "BIGINT", "Person the record belongs to (stable across runs)",
          "NOT NULL"),
        C("match_probability", "DOUBLE",
          "Probability of the weakest link joining the record to its person (1 = alone "
          "or certain)"),
        C("run_id", "VARCHAR", "Link run that wrote the row"),
    ),
    primary_key=("source", "record_id"),
)

PERSONS = Table(
    "core",
    "persons",
    "One row per person (unit: persons), attributes consolidated over the person's records.",
    (
        C("person_id", "BIGINT", "Person identifier, stable across runs", "NOT NULL"),
        C("sex", "VARCHAR", "M | F, the most frequent value over the records"),
        C("birth_year", "INTEGER", "Year of birth, the most frequent value"),
        C("birth_month", "INTEGER", "Month of birth, the most frequent value"),
        C("citizenship", "VARCHAR", "Latest known citizenship, ISO alpha-3"),
        C("first_citizenship", "VARCHAR", "Earliest known citizenship; differs from "
          "citizenship for a naturalisation"),
        C("country_of_birth", "VARCHAR", "Country of birth, the most frequent value"),
        C("n_crossings", "INTEGER", "Border crossings of the person (cases)"),
        C("n_register_records", "INTEGER", "Population-register records of the person (cases)"),
        C("n_permit_records", "INTEGER", "Permit records of the person (cases)"),
        C("conflicts", "VARCHAR[]", "Attributes whose records disagree (sex, birth, ...)"),
        C("run_id", "VARCHAR", "Link run that wrote the row"),
    ),
    primary_key=("person_id",),
)

CROSSINGS = Table(
    "core",
    "crossings",
    "Border crossings with the person who made them (unit: cases).",
    (
        C("record_id", "VARCHAR", "Crossing record id, joins raw.border_crossings", "NOT NULL"),
        C("person_id", "BIGINT", "Person who crossed", "NOT NULL"),
        C("crossing_date", "DATE", "Calendar date of the crossing", "NOT NULL"),
        C("crossed_at", "TIMESTAMP", "Date and time of the crossing"),
        C("direction", "VARCHAR", "arrival | departure", "NOT NULL"),
        C("citizenship", "VARCHAR", "Citizenship on the document used, ISO alpha-3"),
        C("country_of_residence", "VARCHAR", "Declared country of residence, ISO alpha-3"),
        C("origin_destination", "VARCHAR", "Country travelled from (arrival) or to (departure)"),
        C("travel_purpose", "VARCHAR", "Declared purpose of travel"),
        C("run_id", "VARCHAR", "Link run that wrote the row"),
    ),
    primary_key=("record_id",),
)

PERSON_ID_HISTORY = Table(
    "core",
    "person_id_history",
    "Every creation, merge and split of a person id across link runs (unit: events), so "
    "queries across months keep meaning the same people.",
    (
        C("run_id", "VARCHAR", "Link run in which the change happened"),
        C("event", "VARCHAR", "created | merged | split | retired"),
        C("person_id", "BIGINT", "Person id affected"),
        C("related_person_id", "BIGINT",
          "For merged: the id absorbed; for split: the id the records came from"),
        C("n_records", "INTEGER", "Records moved (cases)"),
        C("recorded_at", "TIMESTAMP", "When the change was recorded (UTC)"),
    ),
)

LINKAGE_MODELS = Table(
    "core",
    "linkage_models",
    "Trained Splink models (unit: models); scheduled runs reuse the latest until a "
    "retrain is asked for.",
    (
        C("model_id", "VARCHAR", "Identifier of the trained model", "NOT NULL"),
        C("settings_json", "JSON", "Splink settings with trained m and u probabilities"),
        C("training_input_hash", "VARCHAR", "Hash of the profiles the model was trained on"),
        C("trained_at", "TIMESTAMP", "When training finished (UTC)"),
        C("run_id", "VARCHAR", "Link run that trained the model"),
    ),
)

TABLES = (PERSON_MAP, PERSONS, CROSSINGS, PERSON_ID_HISTORY, LINKAGE_MODELS)
