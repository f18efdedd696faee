"""Cleaning that validation and linkage need, as polars expressions (no row loops).

- Text: values trimmed, empty strings are nulls, codes in their canonical case.
- Names: Unicode NFKC, case-folded, every script transliterated to Latin by documented
  schemes (transliteration.py: ICAO 9303 for Cyrillic, ISO 9985 for Armenian, the
  Georgian national system, ...), apostrophes and diacritics removed, anything but a-z
  turned into single spaces: "  Ёлкина-Müller " and "Elkina Muller" both become
  "elkina muller", "Հարությունյան" becomes "harutyunyan". Call it on distinct names
  (`per_distinct`): names in other scripts go through a library call per value.
- Dates: ISO 8601. An optional date that is partial (1980, 1980-05) or impossible
  (1980-02-30, before `IngestConfig.earliest_plausible_date`, a birth after the load day,
  or text that is no ISO date) is set empty and flagged; the row is kept. A partial date
  of birth still gives its year (and month).
- Document numbers and personal ids: upper case, only letters and digits, so "an 123-45"
  and "AN12345" get the same pseudonym.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from regmig.ingest.transliteration import (
    APOSTROPHES,
    NON_LATIN_LETTER,
    TRANSLITERATION,
    other_scripts,
)
from regmig.schemas.deliveries import CODE_CASE, iso_date

PARTIAL_DATE_PATTERN = r"^\d{4}(?:-\d{2})?$"

#: Values of raw.<source>.date_of_birth_flag (and of the flags in date_flags, which may
#: also say `inverted` or `birth_date`: ingest/plausibility.py, ingest/separation.py).
DATE_FLAGS = ("ok", "missing", "partial", "impossible")


def normalise_text(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Trim every delivered value, turn empty strings into nulls, put codes in case."""
    expressions = []
    for name in columns:
        value = pl.col(name).str.strip_chars()
        value = pl.when(value.str.len_bytes() > 0).then(value)
        case = CODE_CASE.get(name)
        if case == "lower":
            value = value.str.to_lowercase()
        elif case == "upper":
            value = value.str.to_uppercase()
        expressions.append(value.alias(name))
    return frame.with_columns(expressions)


def clean_name(name: pl.Expr) -> pl.Expr:
    """The form of a name that linkage compares (see the module docstring)."""
    folded = name.str.normalize("NFKC").str.to_lowercase().str.replace_many(TRANSLITERATION)
    latin = (
        pl.when(folded.str.contains(NON_LATIN_LETTER))
        .then(folded.map_elements(other_scripts, return_dtype=pl.String, skip_nulls=True))
        .otherwise(folded)
    )
    cleaned = (
        latin.str.replace_all(APOSTROPHES, "")
        .str.normalize("NFD")
        .str.replace_all(r"\p{M}+", "")
        .str.replace_all(r"[^a-z]+", " ")
        .str.strip_chars()
    )
    return pl.when(cleaned.str.len_bytes() > 0).then(cleaned)


def identifier_text(value: pl.Expr) -> pl.Expr:
    """A document number or personal id reduced to upper-case letters and digits."""
    cleaned = value.str.to_uppercase().str.replace_all(r"[^\p{L}\p{N}]+", "")
    return pl.when(cleaned.str.len_bytes() > 0).then(cleaned)


def date_flag(text: pl.Expr, earliest: date, latest: date | None = None) -> pl.Expr:
    """ok | missing | partial | impossible for an optional ISO date held as text."""
    parsed = iso_date(text)
    in_range = parsed >= pl.lit(earliest)
    if latest is not None:
        in_range = in_range & (parsed <= pl.lit(latest))
    year = text.str.slice(0, 4).cast(pl.Int32, strict=False)
    month = text.str.slice(5, 2).cast(pl.Int32, strict=False)
    partial = (
        text.str.contains(PARTIAL_DATE_PATTERN)
        & (year >= earliest.year)
        & (pl.lit(latest is None) | (year <= (latest.year if latest else 0)))
        & (month.is_null() | month.is_between(1, 12))
    )
    return (
        pl.when(text.is_null()).then(pl.lit("missing"))
        .when(parsed.is_not_null() & in_range).then(pl.lit("ok"))
        .when(partial).then(pl.lit("partial"))
        .otherwise(pl.lit("impossible"))
    )


def optional_date(text: pl.Expr, flag: pl.Expr) -> pl.Expr:
    """The date when its flag is ok, else null."""
    return pl.when(flag == "ok").then(iso_date(text))


def birth_year_month(text: pl.Expr, flag: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Year and month of birth: from a full date, or as far as a partial date goes."""
    known = flag.is_in(["ok", "partial"])
    year = pl.when(known).then(text.str.slice(0, 4).cast(pl.Int32, strict=False))
    month = pl.when(known).then(text.str.slice(5, 2).cast(pl.Int32, strict=False))
    return year, month


def date_flags_list(flags: dict[str, pl.Expr]) -> pl.Expr:
    """`column:flag` for every optional date that was set empty (any flag but ok or
    missing), null when every date was usable or missing."""
    entries = [
        pl.when(~flag.is_in(["ok", "missing"])).then(pl.lit(f"{name}:") + flag)
        for name, flag in flags.items()
    ]
    listed = pl.concat_list(entries).list.drop_nulls()
    return pl.when(listed.list.len() > 0).then(listed)


def per_distinct(frame: pl.DataFrame, column: str, outputs: dict[str, pl.Expr]) -> pl.DataFrame:
    """Add `outputs` (expressions of `column` alone) computed once per distinct value.

    Names, dates of birth and document numbers repeat across a delivery (a person crosses
    many times), so evaluating string work on distinct values and joining back is several
    times faster than evaluating it on every row."""
    distinct = frame.select(pl.col(column).unique()).with_columns(
        **{name: expression for name, expression in outputs.items()}
    )
    return frame.join(distinct, on=column, how="left", nulls_equal=True,
                      maintain_order="left")
