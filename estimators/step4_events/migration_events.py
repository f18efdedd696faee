"""derived.migration_events: one row per long-term migration, final or provisional, with
the person's characteristics at the time of the move, and whether the published figures
count it (`counting`)."""

from __future__ import annotations

import dataclasses

import polars as pl

from regmig.estimators.ages import age_in_years
from regmig.estimators.chain import RuleRun
from regmig.estimators.step4_events.counting import counted
from regmig.estimators.step4_events.totals import candidate_events

EVENT_COLUMNS = (
    "person_id", "record_id", "event_date", "kind", "status", "probability", "citizenship",
    "sex", "age", "country_of_birth", "previous_next_country", "reason", "counted", "rule",
)


def citizenship_at_crossings() -> pl.Expr:
    """Citizenship on the document of the crossing; for an imputed crossing or a
    document without it, the nearest recorded one of the person, then the person's."""
    return (
        pl.col("citizenship")
        .forward_fill()
        .backward_fill()
        .over("person_id", order_by="seq")
        .fill_null(pl.col("person_citizenship"))
    )


def migration_events(
    run: RuleRun, persons: pl.DataFrame, permits: pl.DataFrame, country: str
) -> pl.DataFrame:
    people = persons.select(
        "person_id",
        "sex",
        "birth_year",
        "birth_month",
        "country_of_birth",
        person_citizenship=pl.coalesce("first_citizenship", "citizenship"),
    )
    history = run.history.join(people, on="person_id", how="left").with_columns(
        citizenship=citizenship_at_crossings()
    )
    events = candidate_events(dataclasses.replace(run, history=history))
    held = permit_held(events.select("person_id", "seq", "crossing_date"), permits)
    # A declared residence in the reporting country says nothing about where they came from.
    declared_abroad = pl.when(pl.col("country_of_residence") != country).then(
        "country_of_residence"
    )
    out = (
        events.join(held, on=["person_id", "seq"], how="left")
        .with_columns(
            age=age_in_years(pl.col("crossing_date"), pl.col("birth_year"),
                             pl.col("birth_month")),
            previous_next_country=pl.when(pl.col("kind") == "immigration")
            .then(pl.coalesce(declared_abroad, "origin_destination"))
            .otherwise(pl.coalesce("origin_destination", declared_abroad)),
            reason=pl.coalesce(
                "permit_type",
                pl.when(pl.col("citizenship") == country)
                .then(pl.lit("citizen"))
                .otherwise(pl.lit("none")),
            ),
            rule=pl.lit(run.rule.label),
        )
        .select(
            "person_id", "record_id", pl.col("crossing_date").alias("event_date"), "kind",
            "status", "probability", "citizenship", "sex", "age", "country_of_birth",
            "previous_next_country", "reason", "rule",
        )
        .sort("event_date", "person_id")
    )
    return out.with_columns(counted=counted(out)).select(EVENT_COLUMNS)


def permit_held(crossings: pl.DataFrame, permits: pl.DataFrame) -> pl.DataFrame:
    """The type of the granted permit valid on each crossing's date (the most recent one
    when several are), or nothing."""
    granted = permits.filter(pl.col("decision") == "granted").select(
        "person_id", "permit_type", "valid_from", "valid_to"
    )
    return (
        crossings.join(granted, on="person_id")
        .filter(
            (pl.col("valid_from") <= pl.col("crossing_date"))
            & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= pl.col("crossing_date")))
        )
        .sort("valid_from")
        .group_by("person_id", "seq")
        .agg(pl.col("permit_type").last())
    )
