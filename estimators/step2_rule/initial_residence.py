"""Residence status at the start of observation (docs/design.md §5), with its source.

1. register: the person is in the population register, registered on or before the
   start of observation and not deregistered by then -> resident (1);
2. first_crossing: otherwise the first crossing tells: a departure means the person was
   living here before it (1), an arrival that they were not (0);
3. unknown: neither (a person never registered at the start who never crossed).
"""

from __future__ import annotations

from datetime import date

import polars as pl

INITIAL_COLUMNS = ("person_id", "res_status_initial", "date_initial", "status_source")


def from_register(register: pl.DataFrame, observation_start: date) -> pl.DataFrame:
    """Persons the register shows as living here on `observation_start`.

    `register`: person_id, registered_from, deregistered_on (one row per register record).
    """
    return (
        register.filter(
            (pl.col("registered_from") <= observation_start)
            & (
                pl.col("deregistered_on").is_null()
                | (pl.col("deregistered_on") > observation_start)
            )
        )
        .select("person_id")
        .unique()
        .with_columns(
            res_status_initial=pl.lit(1, pl.Int8),
            date_initial=pl.lit(observation_start),
            status_source=pl.lit("register"),
        )
    )


def complete(
    persons: pl.DataFrame, history: pl.DataFrame, known: pl.DataFrame | None
) -> pl.DataFrame:
    """The initial status of every person in `persons` (column person_id).

    `known`: statuses already established (from the register, or given by the user), with
    INITIAL_COLUMNS or at least person_id, res_status_initial, date_initial; a person
    missing there or with an empty status falls back to the first crossing in `history`
    (person_id, seq, crossing_date, direction), then to unknown.
    """
    first = history.filter(pl.col("seq") == 1).select(
        "person_id",
        first_status=(pl.col("direction") == "departure").cast(pl.Int8),
        first_date=pl.col("crossing_date"),
    )
    if known is None:
        known = pl.DataFrame(
            schema={"person_id": persons["person_id"].dtype, "res_status_initial": pl.Int8,
                    "date_initial": pl.Date}
        )
    if "status_source" not in known.columns:
        known = known.with_columns(status_source=pl.lit("given"))
    known = known.filter(pl.col("res_status_initial").is_not_null()).select(
        "person_id",
        known_status=pl.col("res_status_initial").cast(pl.Int8),
        known_date=pl.col("date_initial").cast(pl.Date),
        known_source=pl.col("status_source"),
    )
    return (
        persons.select("person_id")
        .unique()
        .join(known, on="person_id", how="left")
        .join(first, on="person_id", how="left")
        .select(
            "person_id",
            res_status_initial=pl.coalesce("known_status", "first_status"),
            date_initial=pl.when(pl.col("known_status").is_not_null())
            .then("known_date")
            .otherwise("first_date"),
            status_source=pl.when(pl.col("known_status").is_not_null())
            .then("known_source")
            .when(pl.col("first_status").is_not_null())
            .then(pl.lit("first_crossing"))
            .otherwise(pl.lit("unknown")),
        )
        .sort("person_id")
    )
