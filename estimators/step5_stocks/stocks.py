"""Resident population on each reference date, residence spells, and the register
coverage indicators.

Status on a date D: for a person who crossed, the status after their last crossing dated
on or before D (the initial status if none); for a person who never crossed, the register
(registered on D and not deregistered by then). Nobody is resident after a deregistration
for death or before their birth year.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from regmig.estimators.ages import age_in_years
from regmig.estimators.chain import RuleRun
from regmig.estimators.step4_events.migration_events import citizenship_at_crossings

STOCK_COLUMNS = (
    "ref_date", "person_id", "citizenship", "country_of_birth", "sex", "age",
    "status_source", "rule",
)


def reference_dates(first: date, last: date, month_day: tuple[int, int]) -> list[date]:
    """Each (month, day) from the start of the data to the first one after its end."""
    month, day = month_day
    dates = [date(y, month, day) for y in range(first.year, last.year + 2)]
    inside = [d for d in dates if first <= d <= last]
    after = [d for d in dates if d > last][:1]
    return inside + after


def resident_stock(
    run: RuleRun,
    register: pl.DataFrame,
    persons: pl.DataFrame,
    ref_dates: list[date],
) -> pl.DataFrame:
    refs = pl.DataFrame({"ref_date": ref_dates}, schema={"ref_date": pl.Date})
    people = persons.select(
        "person_id", "sex", "birth_year", "birth_month", "country_of_birth",
        person_citizenship=pl.coalesce("citizenship", "first_citizenship"),
        first_citizenship=pl.coalesce("first_citizenship", "citizenship"),
    )
    history = run.history.join(people, on="person_id", how="left").with_columns(
        citizenship=citizenship_at_crossings()
    )
    crossed = _status_from_crossings(history, run.initial, refs)
    never_crossed = _status_from_register(
        register, people.join(history.select("person_id").unique(), on="person_id",
                              how="anti"), refs
    )
    dead = register.filter(pl.col("deregistration_reason") == "death").group_by(
        "person_id").agg(died_on=pl.col("deregistered_on").min())
    return (
        pl.concat([crossed, never_crossed], how="diagonal_relaxed")
        .filter(pl.col("res_status") == 1)
        .join(dead, on="person_id", how="left")
        .join(people, on="person_id", how="left")
        .filter(
            (pl.col("died_on").is_null() | (pl.col("died_on") > pl.col("ref_date")))
            & (pl.col("birth_year").is_null()
               | (pl.col("birth_year") < pl.col("ref_date").dt.year()))
        )
        .with_columns(
            citizenship=pl.coalesce("citizenship", "first_citizenship"),
            age=age_in_years(pl.col("ref_date"), pl.col("birth_year"), pl.col("birth_month")),
            rule=pl.lit(run.rule.label),
        )
        .select(*STOCK_COLUMNS)
        .sort("ref_date", "person_id")
    )


def _status_from_crossings(
    history: pl.DataFrame, initial: pl.DataFrame, refs: pl.DataFrame
) -> pl.DataFrame:
    """Persons who crossed: status after the last crossing on or before each date."""
    crossers = history.select("person_id").unique()
    grid = crossers.join(refs, how="cross").join(
        initial.select("person_id", "res_status_initial", "status_source"),
        on="person_id", how="left",
    )
    last = (
        history.select(
            "person_id", "seq", "crossing_date", "res_status_after", "citizenship",
            settled=pl.col("date_finalised_res_after").is_not_null(),
        )
        .sort("crossing_date", "seq")
    )
    found = grid.sort("ref_date").join_asof(
        last, left_on="ref_date", right_on="crossing_date", by="person_id",
        strategy="backward", check_sortedness=False,
    )
    first_citizenship = history.filter(pl.col("seq") == 1).select(
        "person_id", first_doc_citizenship="citizenship")
    return found.join(first_citizenship, on="person_id", how="left").select(
        "person_id",
        "ref_date",
        res_status=pl.coalesce("res_status_after", "res_status_initial"),
        citizenship=pl.coalesce("citizenship", "first_doc_citizenship"),
        status_source=pl.when(pl.col("seq").is_null())
        .then("status_source")
        .when("settled")
        .then(pl.lit("crossings"))
        .otherwise(pl.lit("provisional")),
    )


def _status_from_register(
    register: pl.DataFrame, people: pl.DataFrame, refs: pl.DataFrame
) -> pl.DataFrame:
    """Persons who never crossed: resident where the register has them on the date."""
    return (
        register.join(people.select("person_id"), on="person_id", how="semi")
        .join(refs, how="cross")
        .filter(
            (pl.col("registered_from") <= pl.col("ref_date"))
            & (pl.col("deregistered_on").is_null()
               | (pl.col("deregistered_on") > pl.col("ref_date")))
        )
        .group_by("person_id", "ref_date")
        .agg(citizenship=pl.col("citizenship").first())
        .with_columns(res_status=pl.lit(1, pl.Int8), status_source=pl.lit("register"))
    )


def residence_spells(run: RuleRun) -> pl.DataFrame:
    """Spells of one status per person: from the initial status, a new spell at every
    crossing that changes it (final or provisional)."""
    initial = run.initial.filter(pl.col("res_status_initial").is_not_null()).select(
        "person_id",
        spell_start=pl.col("date_initial"),
        res_status=pl.col("res_status_initial").cast(pl.Int8),
        status_source=pl.col("status_source"),
    )
    changes = run.history.filter(
        pl.col("res_status_after") != pl.col("res_status_before")
    ).select(
        "person_id",
        spell_start=pl.col("crossing_date"),
        res_status=pl.col("res_status_after"),
        status_source=pl.when(pl.col("date_finalised_res_after").is_not_null())
        .then(pl.lit("crossings"))
        .otherwise(pl.lit("provisional")),
    )
    spells = pl.concat([initial, changes], how="diagonal_relaxed").sort(
        "person_id", "spell_start")
    return spells.with_columns(
        spell_end=(pl.col("spell_start").shift(-1).over("person_id") - pl.duration(days=1)),
        rule=pl.lit(run.rule.label),
    ).select("person_id", "spell_start", "spell_end", "res_status", "status_source", "rule")


def coverage_indicators(
    run: RuleRun, register: pl.DataFrame
) -> list[tuple[str, float, str, str | None]]:
    """Register coverage: deregistrations with no departure crossing, and emigrants who
    never deregistered (unit: persons)."""
    departed = run.history.filter(pl.col("direction") == "departure").select(
        "person_id").unique()
    deregistered = register.filter(
        pl.col("deregistered_on").is_not_null() & (pl.col("deregistration_reason") != "death")
    ).select("person_id").unique()
    no_departure = deregistered.join(departed, on="person_id", how="anti").height
    emigrants = run.history.filter(
        pl.col("resolved") & pl.col("is_long_term_migration")
        & (pl.col("direction") == "departure")
        & (pl.col("res_status_after") == 0)
    )
    # Only those still non-resident at the end, so a return does not count against them.
    last_status = run.history.group_by("person_id").agg(
        pl.col("res_status_after").sort_by("seq").last().alias("final_status"))
    still_registered = register.filter(pl.col("deregistered_on").is_null()).select(
        "person_id").unique()
    never_deregistered = (
        emigrants.select("person_id").unique()
        .join(last_status.filter(pl.col("final_status") == 0), on="person_id", how="semi")
        .join(still_registered, on="person_id", how="semi")
        .height
    )
    return [
        ("deregistered_without_departure_crossing", no_departure, "persons",
         "register deregistrations (other than deaths) of persons with no recorded "
         "departure"),
        ("emigrants_never_deregistered", never_deregistered, "persons",
         "persons whose final long-term departure left them non-resident but who are "
         "still registered"),
    ]
