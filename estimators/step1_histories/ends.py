"""Repairs at the ends of a crossing history from what the register and the permits say
(repair policy "evidence").

An unrecorded crossing between two recorded ones shows as two consecutive crossings in
the same direction (repaired inside the gap, `gaps`). One before the first or
after the last recorded crossing leaves no trace in the crossings; the other records can
show it:

- first arrival: a person not living here at the start of observation by the register
  whose first recorded crossing is a departure, and whose first permit starts after the
  start of observation and on or before that departure, arrived unrecorded on the day
  the permit starts (an arrival is imputed there);
- initial status: such a person with neither a register record nor a permit was a
  visitor whose arrival went unrecorded, not a resident (initial status 0, source
  "no_register_record") instead of the first-crossing inference;
- last departure: a person whose last recorded crossing is an arrival and whom the
  register later deregisters for emigration (by the data end) left unrecorded; the
  departure is imputed on the deregistration date, the nearest date the records give;
- a visitor's last departure: a foreign citizen on no register or permit record whose
  last recorded crossing is an arrival, and who by the data end has been in longer than
  their usual stay (the median of their complete stays), left unrecorded when their
  usual stay ended. Such people do stay a year with no papers, but more rarely than a
  departure goes unrecorded: on synthetic populations of 30,000 at the default noise
  (seeds 3-9), 38 of the 48 immigrations resting on such an arrival were false. A
  visitor with no complete stay to go by is left as recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from regmig.estimators.step1_histories.gaps import complete_legs

#: initial_residence status_source of a person inferred non-resident by register absence.
NO_REGISTER_RECORD = "no_register_record"
#: Column flagging a visitor's last departure imputed after their usual stay: a guess
#: made only at the data end, which the provisional model must not learn from.
AFTER_USUAL_STAY = "imputed_after_usual_stay"


@dataclass(frozen=True)
class EvidenceRepairs:
    """Counts (cases) of the repairs made from register and permit evidence."""

    arrivals_from_permits: int = 0
    departures_from_deregistrations: int = 0
    initial_from_register_absence: int = 0
    visitor_departures: int = 0


def record_evidence(
    register: pl.DataFrame,
    permits: pl.DataFrame,
    observation_start: date,
    persons: pl.DataFrame | None = None,
    country: str | None = None,
) -> pl.DataFrame:
    """Per person: first_permit_from (start of the earliest granted permit, when on or
    after `observation_start`), emigration_deregistered_on (the latest deregistration for
    emigration), on_record (any register or permit record, an application included: an
asylum seeker's stay rests on one) and, given `persons`
    (person_id, citizenship) and the reporting `country`, foreign_citizen."""
    granted = permits.filter(pl.col("decision") == "granted").group_by("person_id").agg(
        first_permit_from=pl.col("valid_from").min()
    ).with_columns(
        first_permit_from=pl.when(pl.col("first_permit_from") >= observation_start)
        .then("first_permit_from")
    )
    emigrated = register.filter(pl.col("deregistration_reason") == "emigration").group_by(
        "person_id").agg(emigration_deregistered_on=pl.col("deregistered_on").max())
    registered = register.select("person_id").unique()
    on_record = (
        pl.concat([permits.select("person_id"), registered, emigrated.select("person_id")])
        .unique()
        .with_columns(on_record=pl.lit(True))
    )
    if persons is not None and country is not None:
        everyone = persons.select(
            "person_id", foreign_citizen=(pl.col("citizenship") != country).fill_null(False))
        on_record = everyone.join(on_record, on="person_id", how="full", coalesce=True)
    return (
        on_record.with_columns(pl.col("on_record").fill_null(False))
        .join(granted, on="person_id", how="left")
        .join(emigrated, on="person_id", how="left")
    )


def home_periods(register: pl.DataFrame, permits: pl.DataFrame) -> pl.DataFrame:
    """person_id, home_from, home_to (null: open): the spans in which the records have a
    person living here: registrations, and granted permits."""
    registered = register.select(
        "person_id", home_from="registered_from", home_to="deregistered_on")
    permitted = permits.filter(pl.col("decision") == "granted").select(
        "person_id", home_from="valid_from", home_to="valid_to")
    return pl.concat([registered, permitted]).filter(pl.col("home_from").is_not_null())


def repair_ends(
    history: pl.DataFrame,
    evidence: pl.DataFrame,
    known_initial: pl.DataFrame | None,
    data_end: date,
) -> tuple[pl.DataFrame, pl.DataFrame, EvidenceRepairs]:
    """Impute the missing first arrivals and last departures the evidence shows; returns
    the history re-sequenced, the initial statuses the evidence settles (person_id,
    res_status_initial, date_initial, status_source), and the counts.

    `history`: a repaired history (person_id, seq, crossing_date, direction, imputed);
    `evidence`: from `record_evidence`; `known_initial`: persons whose initial status is
    already known (from the register), left alone.
    """
    id_type = history["person_id"].dtype
    known_ids = (known_initial.select("person_id") if known_initial is not None
                 else pl.DataFrame(schema={"person_id": id_type}))
    last_seq = pl.col("seq").max().over("person_id")
    first_departures = (
        history.filter((pl.col("seq") == 1) & (pl.col("direction") == "departure"))
        .select("person_id", "crossing_date")
        .join(known_ids, on="person_id", how="anti")
        .join(evidence, on="person_id", how="left")
    )
    arrivals = first_departures.filter(
        pl.col("first_permit_from") <= pl.col("crossing_date")
    ).select(
        "person_id",
        crossing_date="first_permit_from",
        direction=pl.lit("arrival"),
        seq=pl.lit(0.5),
    )
    absent = first_departures.filter(~pl.col("on_record").fill_null(False)).select(
        "person_id",
        res_status_initial=pl.lit(0, pl.Int8),
        date_initial="crossing_date",
        status_source=pl.lit(NO_REGISTER_RECORD),
    )
    departures = (
        history.filter((pl.col("seq") == last_seq) & (pl.col("direction") == "arrival"))
        .select("person_id", "crossing_date", "seq")
        .join(evidence, on="person_id")
        .filter(
            (pl.col("emigration_deregistered_on") > pl.col("crossing_date"))
            & (pl.col("emigration_deregistered_on") <= data_end)
        )
        .select(
            "person_id",
            crossing_date="emigration_deregistered_on",
            direction=pl.lit("departure"),
            seq=pl.col("seq").cast(pl.Float64) + 0.5,
        )
    )
    visitors = visitor_departures(history, evidence, data_end).with_columns(
        **{AFTER_USUAL_STAY: pl.lit(True)})
    added = pl.concat([arrivals, departures, visitors], how="diagonal").with_columns(
        imputed=pl.lit(True))
    repaired = (
        pl.concat([history.with_columns(pl.col("seq").cast(pl.Float64)), added],
                  how="diagonal_relaxed")
        .sort("person_id", "seq")
        .with_columns(seq=pl.int_range(1, pl.len() + 1).over("person_id").cast(pl.Int32))
    )
    counts = EvidenceRepairs(arrivals.height, departures.height, absent.height,
                             visitors.height)
    return repaired, absent, counts


def visitor_departures(
    history: pl.DataFrame, evidence: pl.DataFrame, data_end: date
) -> pl.DataFrame:
    """Departures (person_id, crossing_date, direction, seq) imputed after the last
    recorded arrival of foreign citizens on no record, once their usual stay is over."""
    none = pl.DataFrame(schema={"person_id": history["person_id"].dtype,
                                "crossing_date": pl.Date, "direction": pl.String,
                                "seq": pl.Float64})
    if "foreign_citizen" not in evidence.columns:
        return none
    visitors = evidence.filter(pl.col("foreign_citizen") & ~pl.col("on_record")).select(
        "person_id")
    stays = complete_legs(history.sort("person_id", "seq")).filter(
        pl.col("leg") == "stay").join(visitors, on="person_id")
    usual = stays.group_by("person_id").agg(usual_stay=pl.col("length").median())
    last_seq = pl.col("seq").max().over("person_id")
    return (
        history.filter((pl.col("seq") == last_seq) & (pl.col("direction") == "arrival"))
        .join(usual, on="person_id")
        .with_columns(left_on=pl.col("crossing_date") + pl.duration(
            days=pl.col("usual_stay").round().cast(pl.Int64)))
        .filter(pl.col("left_on") < data_end)
        .select(
            "person_id",
            crossing_date="left_on",
            direction=pl.lit("departure"),
            seq=pl.col("seq").cast(pl.Float64) + 0.5,
        )
    )
