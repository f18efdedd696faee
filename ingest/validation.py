"""Validation: the delivery's pandera model applied to each batch, failures turned into
quarantine rows.

A row that fails any check is rejected whole; each failed check gives one row of
raw.rejected (row number, column, check, a reason naming file, row and column, and the
row's non-identifying values as JSON). The row's identifying values go to
ident.quarantine in identifiers.duckdb, never to the warehouse.

Checks besides the model (schemas/deliveries.py):
- "unique": a record_id already seen earlier in the file (the first row keeps it); one
  loaded by an earlier delivery is not a failure but a new version (ingest/loads.py);
- "csv_structure": a CSV line with more or fewer fields than the header, or whose quotes
  do not balance (readers.py);
- "nul_byte": a value holding a NUL byte;
- identifier_quality.py: required identifiers that are empty or placeholders;
- plausibility.py: required dates out of the plausible range, intervals ending before
  they start.
"""

from __future__ import annotations

import numpy as np
import pandera.errors
import pandera.polars as pa
import polars as pl

from regmig.ingest.readers import ROW_NUMBER
from regmig.schemas.deliveries import IDENTIFYING_COLUMNS, MODELS, columns

#: Failures: one row per failed check of a row.
FAILURE_SCHEMA = {
    ROW_NUMBER: pl.Int64,
    "column_name": pl.String,
    "check_name": pl.String,
    "value": pl.String,
    "detail": pl.String,
}
#: Longest delivered value quoted in a reason.
QUOTED_VALUE_CHARS = 60

#: Seen record ids: the first row of this file holding each, or the load holding it.
SEEN_SCHEMA = {"record_id": pl.String, "first_row": pl.Int64, "load_id": pl.Int64}


def empty_failures() -> pl.DataFrame:
    return pl.DataFrame(schema=FAILURE_SCHEMA)


def model_failures(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """Every failed check of the pandera model on `frame` (normalised text)."""
    model: type[pa.DataFrameModel] = MODELS[source]
    try:
        model.validate(frame.drop(ROW_NUMBER), lazy=True)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return empty_failures()
    whole_frame = cases.filter(pl.col("index").is_null())
    if whole_frame.height:
        # Columns and types are fixed by the reader (all text, every contract column), so
        # a failure without a row is a bug of ingest, not a fault of the delivery.
        raise RuntimeError(f"{source}: schema-level validation failure "
                           f"{whole_frame.select('column', 'check').rows()}")
    row_numbers = frame[ROW_NUMBER]
    return pl.DataFrame({
        ROW_NUMBER: row_numbers.gather(cases["index"].cast(pl.Int64)),
        "column_name": cases["column"],
        # "isin(['arrival', 'departure'])" -> "isin": the domain goes into the reason.
        "check_name": cases["check"].str.replace(r"\(.*$", ""),
        "value": cases["failure_case"].cast(pl.String),
        "detail": pl.Series([None] * cases.height, dtype=pl.String),
    })


class SeenRecords:
    """Record ids already taken: by loads in force, or by earlier rows of this file.

    Membership is first tested on sorted 64-bit hashes (numpy binary search, no hash table
    rebuilt per batch); the few hits are then confirmed on the ids themselves, so a hash
    collision never rejects a row."""

    def __init__(self, in_force: pl.DataFrame) -> None:
        self._chunks = [in_force.select(SEEN_SCHEMA.keys()).cast(SEEN_SCHEMA)]
        self._hashes = np.sort(_hashes(in_force["record_id"]))

    def failures(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Failures of the check "unique" for this batch; remembers its first ids."""
        batch = frame.select("record_id", ROW_NUMBER).filter(pl.col("record_id").is_not_null())
        hashes = _hashes(batch["record_id"])
        position = np.searchsorted(self._hashes, hashes).clip(max=max(len(self._hashes) - 1, 0))
        maybe_seen = (self._hashes[position] == hashes) if len(self._hashes) else \
            np.zeros(len(hashes), dtype=bool)
        candidates = batch.filter(pl.Series(maybe_seen))
        taken = pl.concat(self._chunks) if candidates.height else self._chunks[0].clear()
        earlier = candidates.join(taken, on="record_id", how="inner")
        first_here = batch.filter(pl.col("record_id").is_first_distinct())
        later_here = batch.filter(~pl.col("record_id").is_first_distinct()).join(
            first_here.rename({ROW_NUMBER: "first_row"}), on="record_id"
        ).with_columns(pl.lit(None, dtype=pl.Int64).alias("load_id"))
        duplicates = pl.concat([
            earlier.select("record_id", ROW_NUMBER, "first_row", "load_id"),
            later_here.select("record_id", ROW_NUMBER, "first_row", "load_id"),
        ]).unique(subset=[ROW_NUMBER], keep="first")

        new = first_here.join(earlier, on="record_id", how="anti")
        self._chunks.append(new.select(
            "record_id", pl.col(ROW_NUMBER).alias("first_row"),
            pl.lit(None, dtype=pl.Int64).alias("load_id"),
        ))
        # Merging two sorted runs: numpy's stable sort (timsort) does it in linear time.
        self._hashes = np.sort(np.concatenate([self._hashes, _hashes(new["record_id"])]),
                               kind="stable")
        return duplicates.select(
            pl.col(ROW_NUMBER),
            pl.lit("record_id").alias("column_name"),
            pl.lit("unique").alias("check_name"),
            pl.col("record_id").alias("value"),
            pl.when(pl.col("load_id").is_not_null())
            .then(pl.format("already loaded by load {}", pl.col("load_id")))
            .otherwise(pl.format("already in row {} of this file", pl.col("first_row")))
            .alias("detail"),
        )


def _hashes(ids: pl.Series) -> np.ndarray:
    return ids.hash(seed=0).to_numpy()


def nul_failures(delivered: pl.DataFrame) -> pl.DataFrame:
    """A NUL byte in a value: check `nul_byte` on that row and column, wherever in the
    file it is (a NUL in the header refuses the file, readers.py)."""
    names = [c for c in delivered.columns if c != ROW_NUMBER]
    long = delivered.select(
        ROW_NUMBER,
        pl.concat_list([
            pl.when(pl.col(c).str.contains("\x00", literal=True)).then(pl.lit(c))
            for c in names
        ]).list.drop_nulls().alias("column_name"),
    ).explode("column_name").drop_nulls("column_name")
    return long.select(
        pl.col(ROW_NUMBER),
        pl.col("column_name"),
        pl.lit("nul_byte").alias("check_name"),
        pl.lit(None, dtype=pl.String).alias("value"),
        pl.lit("value holds a NUL byte (binary content), which no delivered value may "
               "hold").alias("detail"),
    )


def structure_failures(malformed: pl.DataFrame) -> pl.DataFrame:
    """Malformed CSV lines as failures of the check csv_structure."""
    return malformed.select(
        pl.col(ROW_NUMBER),
        pl.lit(None, dtype=pl.String).alias("column_name"),
        pl.lit("csv_structure").alias("check_name"),
        pl.lit(None, dtype=pl.String).alias("value"),
        pl.when(pl.col("found_fields").is_null())
        .then(pl.lit("malformed CSV line: a quote opens on this line and does not close on "
                     "it; the line is kept whole in the restricted quarantine"))
        .otherwise(pl.format("malformed CSV line: {} fields where the header has {}; the "
                             "line is kept whole in the restricted quarantine",
                             pl.col("found_fields"), pl.col("expected_fields")))
        .alias("detail"),
    )


def rejected_rows(
    failures: pl.DataFrame,
    delivered: pl.DataFrame,
    source: str,
    load_id: int,
    file_name: str,
) -> pl.DataFrame:
    """Rows of raw.rejected: one per failure, with the row's non-identifying values."""
    identifying = set(IDENTIFYING_COLUMNS[source])
    kept = [c for c in columns(source) if c not in identifying]
    values = delivered.select(
        ROW_NUMBER, pl.struct(kept).struct.json_encode().alias("row_values")
    )
    domains = _domains(source)
    quoted = pl.col("value").str.slice(0, QUOTED_VALUE_CHARS)
    shown = pl.when(pl.col("column_name").is_in(sorted(identifying))).then(pl.lit("value")) \
        .otherwise(pl.format("'{}'", quoted))
    explanation = (
        pl.when(pl.col("detail").is_not_null()).then(pl.col("detail"))
        .when(pl.col("check_name") == "not_nullable").then(pl.lit("required value is missing"))
        .when(pl.col("check_name") == "isin")
        .then(pl.format("{} is not one of {}", shown, pl.col("domain")))
        .when(pl.col("check_name") == "iso3166_alpha3")
        .then(pl.format("{} is not an ISO 3166-1 alpha-3 country code", shown))
        .when(pl.col("check_name") == "iso_datetime")
        .then(pl.format("{} is not an ISO 8601 date or date-time (YYYY-MM-DD[ HH:MM[:SS]]) "
                        "that exists", shown))
        .when(pl.col("check_name") == "iso_date")
        .then(pl.format("{} is not an ISO 8601 date (YYYY-MM-DD) that exists", shown))
        .otherwise(pl.format("{} failed the check {}", shown, pl.col("check_name")))
    )
    where = pl.format("{}: row {}", pl.lit(file_name), pl.col(ROW_NUMBER))
    where = pl.when(pl.col("column_name").is_not_null()) \
        .then(pl.format("{}, column {}", where, pl.col("column_name"))).otherwise(where)
    return (
        failures.join(domains, on="column_name", how="left")
        .join(values, on=ROW_NUMBER, how="left")
        .select(
            pl.lit(source).alias("source"),
            pl.lit(load_id, dtype=pl.Int64).alias("load_id"),
            pl.col(ROW_NUMBER),
            pl.col("column_name"),
            pl.col("check_name"),
            pl.format("{}: {}", where, explanation).alias("reason"),
            pl.col("row_values"),
        )
    )


def quarantined_identifiers(
    rejected_numbers: pl.Series,
    delivered: pl.DataFrame,
    malformed: pl.DataFrame,
    source: str,
    load_id: int,
) -> pl.DataFrame:
    """Rows of ident.quarantine: the identifying values of each rejected row (for a
    malformed CSV line, the whole line, whose fields cannot be told apart)."""
    identifying = list(IDENTIFYING_COLUMNS[source])
    from_rows = delivered.filter(pl.col(ROW_NUMBER).is_in(rejected_numbers.implode())).select(
        ROW_NUMBER, pl.struct(identifying).struct.json_encode().alias("identifying_values")
    )
    from_lines = malformed.select(
        ROW_NUMBER,
        pl.struct(pl.col("line_text").alias("csv_line")).struct.json_encode()
        .alias("identifying_values"),
    )
    return pl.concat([from_rows, from_lines]).select(
        pl.lit(source).alias("source"),
        pl.lit(load_id, dtype=pl.Int64).alias("load_id"),
        pl.col(ROW_NUMBER),
        pl.col("identifying_values"),
    )


def _domains(source: str) -> pl.DataFrame:
    """column -> its allowed values as text, for the reasons of failed isin checks."""
    schema = MODELS[source].to_schema()
    rows = []
    for name, column in schema.columns.items():
        for check in column.checks:
            allowed = (check.statistics or {}).get("allowed_values")
            if allowed is not None:
                rows.append((name, " | ".join(sorted(map(str, allowed)))))
    return pl.DataFrame(rows, schema={"column_name": pl.String, "domain": pl.String},
                        orient="row")
