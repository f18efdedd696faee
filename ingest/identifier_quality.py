"""Identifier quality: document numbers, personal ids and permit ids that identify nobody.

An identifier is compared as its reduced text (upper-case letters and digits only,
cleaning.identifier_text). Two kinds of value identify nobody:
- empty: the value reduces to nothing (`--/--`, spaces, punctuation);
- placeholder: the reduced value is one of `IngestConfig.identifier_placeholders` (NULL,
  N/A, UNKNOWN, ...) or, with `repeated_character_is_placeholder`, one character repeated
  (0, 000000, XXXX).

Either kind gets no pseudonym. A pseudonym of "NULL" would be one key shared by every
record that carries it, and linkage would take those strangers for one document. So:
- a required identifier (a crossing's document number, a register record's personal id,
  a permit's id) of either kind quarantines its row (checks `identifier_empty`,
  `identifier_placeholder`), as if it were missing;
- an optional document number (register, permits) of either kind leaves the record
  loaded with an empty `document_key` and says why in `document_number_flag`
  (ok | missing | empty | placeholder).
"""

from __future__ import annotations

import polars as pl

from regmig.config import IngestConfig
from regmig.ingest.cleaning import identifier_text
from regmig.ingest.readers import ROW_NUMBER

#: Identifiers whose value is required: an unusable one quarantines the row.
REQUIRED_IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "border_crossings": ("document_number",),
    "population_register": ("person_pin",),
    "permits": ("permit_id",),
}

#: Values of raw.<source>.document_number_flag.
IDENTIFIER_FLAGS = ("ok", "missing", "empty", "placeholder")


def identifier_flag(value: pl.Expr, config: IngestConfig) -> pl.Expr:
    """ok | missing | empty | placeholder for a delivered identifier (normalised text)."""
    reduced = value.str.to_uppercase().str.replace_all(r"[^\p{L}\p{N}]+", "")
    placeholder = reduced.is_in(list(config.identifier_placeholders))
    if config.repeated_character_is_placeholder:
        placeholder = placeholder | (reduced.str.split("").list.n_unique() == 1)
    return (
        pl.when(value.is_null()).then(pl.lit("missing"))
        .when(reduced.str.len_bytes() == 0).then(pl.lit("empty"))
        .when(placeholder).then(pl.lit("placeholder"))
        .otherwise(pl.lit("ok"))
    )


def usable_identifier(value: pl.Expr, config: IngestConfig) -> pl.Expr:
    """The reduced identifier, or null when it identifies nobody."""
    return pl.when(identifier_flag(value, config) == "ok").then(identifier_text(value))


def identifier_failures(frame: pl.DataFrame, source: str, config: IngestConfig) -> pl.DataFrame:
    """Failures of the required identifiers of `source` that are empty or placeholders
    (a missing one is the model's not_nullable failure)."""
    parts = []
    for name in REQUIRED_IDENTIFIERS[source]:
        flagged = frame.select(
            ROW_NUMBER, pl.col(name).alias("value"),
            identifier_flag(pl.col(name), config).alias("flag"),
        ).filter(pl.col("flag").is_in(["empty", "placeholder"]))
        parts.append(flagged.select(
            pl.col(ROW_NUMBER),
            pl.lit(name).alias("column_name"),
            pl.format("identifier_{}", pl.col("flag")).alias("check_name"),
            pl.col("value"),
            pl.when(pl.col("flag") == "empty")
            .then(pl.lit("required identifier has no letter or digit, so it identifies "
                         "nobody"))
            .otherwise(pl.lit("required identifier is a placeholder (such as NULL, N/A or "
                              "000000), not an identifier"))
            .alias("detail"),
        ))
    return pl.concat(parts)
