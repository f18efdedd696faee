"""Plausibility of delivered dates: when a date can be true, and intervals that run forward.

Plausible range. An event date (a crossing, registration, deregistration, application or
decision) lies between `IngestConfig.earliest_plausible_date` and the day the delivery is
loaded plus `event_date_horizon_days`: an event cannot be reported before it happened. A
date of birth lies between the earliest date and the load day. A permit's validity may lie
in the future, but not before the earliest date.
- A *required* date out of range (crossed_at, registered_from) quarantines its row (check
  `implausible_date`): the row means nothing without it, and 1700-01-01 or 2999-12-31
  would otherwise enter the residence rule as a real crossing or registration.
- An *optional* date out of range is set empty and flagged `impossible`, the row kept
  (cleaning.date_flag), as the delivery contract says of optional dates.

Intervals that end before they start:
- register: `deregistered_on` before `registered_from` quarantines the row (check
  `interval_order`). A registration spell is the record itself; setting the end empty
  would make the person registered, and so resident, from then on, and keeping both dates
  would keep a spell that contains no day.
- permits: `valid_to` before `valid_from` empties both validity dates, flagged `inverted`
  in date_flags. The record is first an application and a decision, which stay true;
  only its validity is unusable, and an empty validity is what estimate already reads as
  "not known".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from regmig.config import IngestConfig
from regmig.ingest.readers import ROW_NUMBER
from regmig.schemas.deliveries import iso_date

#: Required dates of each source (checked for their range here; the model checks that
#: they are dates at all).
REQUIRED_DATES: dict[str, tuple[str, ...]] = {
    "border_crossings": ("crossed_at",),
    "population_register": ("registered_from",),
    "permits": (),
}

#: Optional dates that may lie in the future (up to no limit).
FUTURE_DATES = ("valid_from", "valid_to")

#: (start, end) of intervals whose end must not come before their start, per source.
INTERVALS: dict[str, tuple[tuple[str, str], ...]] = {
    "border_crossings": (),
    "population_register": (("registered_from", "deregistered_on"),),
    "permits": (("valid_from", "valid_to"),),
}
#: Intervals whose inversion quarantines the row (the others are emptied and flagged).
QUARANTINED_INTERVALS = {("registered_from", "deregistered_on")}


@dataclass(frozen=True)
class PlausibleRange:
    """The days a delivered date may fall on, for one load."""

    earliest: date
    latest_event: date
    latest_birth: date

    @classmethod
    def for_load(cls, config: IngestConfig, load_day: date) -> PlausibleRange:
        return cls(
            earliest=date.fromisoformat(config.earliest_plausible_date),
            latest_event=load_day + timedelta(days=config.event_date_horizon_days),
            latest_birth=load_day,
        )

    def latest(self, column: str) -> date | None:
        """The latest plausible day of `column` (None: no limit)."""
        if column == "date_of_birth":
            return self.latest_birth
        if column in FUTURE_DATES:
            return None
        return self.latest_event


def date_failures(frame: pl.DataFrame, source: str, plausible: PlausibleRange) -> pl.DataFrame:
    """Failures of required dates out of range and of inverted quarantined intervals."""
    parts = []
    for name in REQUIRED_DATES[source]:
        day = iso_date(pl.col(name))
        latest = plausible.latest(name)
        parts.append(frame.filter(
            (day < plausible.earliest) | (day > latest)
        ).select(
            pl.col(ROW_NUMBER),
            pl.lit(name).alias("column_name"),
            pl.lit("implausible_date").alias("check_name"),
            pl.col(name).alias("value"),
            pl.format("'{}' is outside the plausible dates {} to {}", pl.col(name),
                      pl.lit(str(plausible.earliest)), pl.lit(str(latest))).alias("detail"),
        ))
    for start, end in INTERVALS[source]:
        if (start, end) not in QUARANTINED_INTERVALS:
            continue
        # An end outside the plausible dates is the optional date's fault, flagged
        # impossible and set empty like any other (cleaning.date_flag), not an interval's.
        end_day = iso_date(pl.col(end))
        plausible_end = (end_day >= plausible.earliest) & (end_day <= plausible.latest(end))
        parts.append(frame.filter(inverted(start, end) & plausible_end).select(
            pl.col(ROW_NUMBER),
            pl.lit(end).alias("column_name"),
            pl.lit("interval_order").alias("check_name"),
            pl.col(end).alias("value"),
            pl.format("{} '{}' is before {} '{}'", pl.lit(end), pl.col(end), pl.lit(start),
                      pl.col(start)).alias("detail"),
        ))
    if not parts:
        return pl.DataFrame(schema={ROW_NUMBER: pl.Int64, "column_name": pl.String,
                                    "check_name": pl.String, "value": pl.String,
                                    "detail": pl.String})
    return pl.concat(parts)


def inverted(start: str, end: str) -> pl.Expr:
    """Whether an interval's end (text) is a date before its start (text)."""
    return (iso_date(pl.col(end)) < iso_date(pl.col(start))).fill_null(False)
