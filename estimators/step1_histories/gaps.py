"""Where in a gap to put the crossing that was never recorded.

Two consecutive crossings in the same direction enclose one missing crossing. It splits
the gap into two legs, one on each side of the border: after two departures, a trip
abroad then a stay here; after two arrivals, a stay here then a trip abroad. People's
legs on the side away from where they live are short (residents' trips, visitors'
stays) and those at home long, so halfway is a poor guess for nearly everyone.

Home is where the records have the person living when the gap opens (registered, or
holding a permit), else abroad; without records to go by (`regmig classify` on a plain
crossing file), it is the side of the person's longer usual legs. The missing crossing
closes (or opens) an away leg as long as the person's usual one (the median of their
complete legs of that kind), at most half the gap, and home takes the rest. A person
with no complete leg of the away kind gets the midpoint.
"""

from __future__ import annotations

import polars as pl

#: Length in days of each complete leg kind, by the direction of the crossing opening it.
_LEG_KIND = {"arrival": "stay", "departure": "trip"}


def midpoint(previous: pl.Expr, current: pl.Expr) -> pl.Expr:
    """The day halfway between two dates (rounded down)."""
    return (previous + (current - previous) / 2).dt.truncate("1d").cast(pl.Date)


def complete_legs(ordered: pl.DataFrame) -> pl.DataFrame:
    """person_id, crossing_date (start), leg ("stay" | "trip"), length (days) of every
    pair of consecutive crossings in opposite directions."""
    return (
        ordered.select(
            "person_id",
            "crossing_date",
            "direction",
            next_direction=pl.col("direction").shift(-1).over("person_id"),
            length=(pl.col("crossing_date").shift(-1).over("person_id")
                    - pl.col("crossing_date")).dt.total_days(),
        )
        .filter(pl.col("next_direction") != pl.col("direction"))
        .select("person_id", "crossing_date", "length",
                leg=pl.col("direction").replace_strict(_LEG_KIND))
    )


def usual_leg_lengths(legs: pl.DataFrame) -> pl.DataFrame:
    """person_id, stay, trip: the median length of the person's complete stays and trips
    (null when the person has none of that kind)."""
    return legs.group_by("person_id").agg(
        stay=pl.col("length").filter(pl.col("leg") == "stay").median(),
        trip=pl.col("length").filter(pl.col("leg") == "trip").median(),
    )


def home_here(gaps: pl.DataFrame, home_periods: pl.DataFrame) -> pl.Series:
    """For each gap (person_id, previous_date): whether the person lived here when it
    opened, by the records (a registration or a permit running on that day)."""
    indexed = gaps.select("person_id", "previous_date").with_row_index("gap")
    inside = indexed.join(home_periods, on="person_id").filter(
        (pl.col("home_from") <= pl.col("previous_date"))
        & (pl.col("home_to").is_null() | (pl.col("home_to") >= pl.col("previous_date")))
    ).select("gap").unique()
    return indexed.select(pl.col("gap").is_in(inside["gap"].implode())).to_series()


def imputed_dates(
    gaps: pl.DataFrame, ordered: pl.DataFrame, home_periods: pl.DataFrame | None = None
) -> pl.Series:
    """Imputed dates for `gaps` (person_id, previous_date, crossing_date, direction of the
    second crossing of the pair): an away leg as long as the person's usual one, the
    midpoint when that is unknown; strictly inside the gap, and at most halfway.

    Which side is away: by `home_periods` (person_id, home_from, home_to: the spans in
    which the records have the person living here) when given, else the side of the
    person's shorter usual legs."""
    # Only the persons with a gap need their usual legs.
    theirs = ordered.filter(pl.col("person_id").is_in(gaps["person_id"].unique().implode()))
    lengths = gaps.select("person_id", "previous_date", "crossing_date", "direction").join(
        usual_leg_lengths(complete_legs(theirs)), on="person_id", how="left",
        maintain_order="left")
    if home_periods is not None:
        lengths = lengths.with_columns(trip_is_away=home_here(gaps, home_periods))
    else:
        lengths = lengths.with_columns(trip_is_away=pl.col("trip") <= pl.col("stay"))
    gap_days = (pl.col("crossing_date") - pl.col("previous_date")).dt.total_days()
    # The missing crossing ends (or starts) an away leg of the usual length, and home
    # takes the rest of the gap.
    usual_away = pl.when("trip_is_away").then("trip").otherwise("stay")
    away_days = pl.min_horizontal(usual_away, gap_days // 2)
    # After two departures the gap opens with a trip; after two arrivals, with a stay.
    opens_away = (pl.col("direction") == "departure") == pl.col("trip_is_away")
    offset = (pl.when(opens_away).then(away_days).otherwise(gap_days - away_days)
              .clip(1, gap_days - 1).cast(pl.Int64))
    return lengths.select(
        pl.when(usual_away.is_not_null() & (gap_days >= 2))
        .then(pl.col("previous_date") + pl.duration(days=offset))
        .otherwise(midpoint(pl.col("previous_date"), pl.col("crossing_date")))
        .alias("crossing_date")
    ).to_series()
