"""Features of the provisional model: the state of a crossing as seen on a day.

For a crossing made L days before the day it is seen on, the days observed so far on its
own side and on the other, which side the person is on now and for how long, citizenship
group, country of birth, sex, age, the permit held (whether it runs a year or more, the
years it has left, whether one was held on the crossing day or ran out since), the
register (registered, or deregistered, for emigration or otherwise, by then) and the
travel history (crossings in the year before, and since), all as known on that day (a
permit decided later, or a crossing imputed from later records, not yet).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from regmig.config import ResidenceRule
from regmig.estimators.ages import age_in_years
from regmig.estimators.inputs import EstimateInputs
from regmig.estimators.step2_rule.as_of import last_crossing

_EPOCH = date(1970, 1, 1)
#: Validity left (days) of a permit without an end date: beyond any window.
PERMIT_OPEN_ENDED_DAYS = 3 * 365

FEATURES = (
    "intercept",
    "on_own_side",
    "own_progress",
    "other_progress",
    "own_progress_on_own_side",
    "other_progress_on_own_side",
    "lag_share",
    "lag_share_on_own_side",
    "first_month_on_own_side",
    "first_quarter_on_own_side",
    "spell_share",
    "spell_share_on_own_side",
    "citizen",
    "foreign_born",
    "permit",
    "permit_year_or_more",
    "registered",
    "deregistered",
    "female",
    "age_under_18",
    "age_18_34",
    "age_55_plus",
    "trips_year_before",
    "trips_since",
    "migrated_in_before",
    "migrated_out_before",
    "own_days_log_on_own_side",
    "own_days_over_30_on_own_side",
    "own_days_over_90_on_own_side",
    "own_days_over_180_on_own_side",
    "trips_year_before_on_own_side",
    "citizen_on_own_side",
    "permit_on_own_side",
    "permit_at_crossing",
    "permit_ended_since",
    "permit_ended_since_on_own_side",
    "permit_years_left",
    "deregistered_emigration",
    "deregistered_emigration_on_own_side",
    "own_days_over_7_on_own_side",
    "own_days_over_14_on_own_side",
    "own_days_over_21_on_own_side",
    "own_days_over_45_on_own_side",
    "own_days_over_60_on_own_side",
    "no_usual_leg",
    "beyond_usual_leg_on_own_side",
    "usual_leg",
)


def days(day: date) -> int:
    return (day - _EPOCH).days


def with_travel_history(history: pl.DataFrame) -> pl.DataFrame:
    """Add to a history from `step2_rule.as_of.with_known_days` what the person's travel
    before each crossing says: trips_year_before (crossings in the 365 days before it),
    usual_leg_log and legs_before (mean log1p length of, and number of, the person's
    complete legs of the same kind before it: trips for a departure, stays for an
    arrival; all over by the crossing's day, so known whenever it is)."""
    year_before = last_crossing(
        history.select("person_id", "seq", at=pl.col("t") - 366), history,
        strategy="forward")
    # The leg a crossing opens lasts until the next one; legs of one kind are every other
    # row of a person, so their running sums per (person, direction), less the leg just
    # before (the one the crossing closes the other kind of), give the earlier ones.
    leg = (pl.col("t").shift(-1).over("person_id") - pl.col("t"))
    same_kind = ["person_id", "arrival"]
    legs = history.select(
        "person_id", "seq", "arrival",
        leg_log=leg.log1p(), has_leg=leg.is_not_null().cast(pl.Int32)).with_columns(
        sum_before=pl.col("leg_log").fill_null(0).cum_sum().over(same_kind)
        - pl.col("leg_log").fill_null(0),
        count_before=pl.col("has_leg").cum_sum().over(same_kind) - pl.col("has_leg"))
    return history.join(
        year_before.select("person_id", "seq", trips_year_before=pl.col("seq")
                           - pl.col("k_seq").fill_null(pl.col("seq"))),
        on=["person_id", "seq"], how="left").join(
        legs.select("person_id", "seq", legs_before="count_before",
                    usual_leg_log=pl.when(pl.col("count_before") > 0).then(
                        pl.col("sum_before") / pl.col("count_before"))),
        on=["person_id", "seq"], how="left")


def attributes(states: pl.DataFrame, inputs: EstimateInputs, country: str) -> pl.DataFrame:
    """What is known about each state row's person on day `at`: citizen, foreign born,
    female, age, permit held (and for a year or more), registered, deregistered."""
    at_date = pl.col("at").cast(pl.Int32).cast(pl.Date)
    keys = ["person_id", "seq", "at"]
    with_person = states.join(
        inputs.persons.select("person_id", "sex", "birth_year", "birth_month", "citizenship",
                              "country_of_birth"),
        on="person_id",
        how="left",
    ).with_columns(
        citizen=(pl.col("citizenship") == country).fill_null(False),
        foreign_born=(pl.col("country_of_birth") != country).fill_null(False),
        female=(pl.col("sex") == "F").fill_null(False),
        age=age_in_years(at_date, pl.col("birth_year"), pl.col("birth_month")),
    )
    granted = inputs.permits.filter(pl.col("decision") == "granted").select(
        "person_id", "valid_from", "valid_to", "decision_date")
    crossed_date = pl.col("t").cast(pl.Int32).cast(pl.Date)

    def valid_on(day: pl.Expr) -> pl.Expr:
        return (pl.col("valid_from") <= day) & (
            pl.col("valid_to").is_null() | (pl.col("valid_to") >= day))

    # An open-ended permit counts as running the longest the model looks ahead.
    days_left = (pl.col("valid_to") - at_date).dt.total_days().fill_null(
        PERMIT_OPEN_ENDED_DAYS)
    held = (
        with_person.select(*keys, "t")
        .join(granted, on="person_id")
        # As known on the day: a permit decided later is not held yet, whether the row
        # is a training row seen in the past or an open crossing seen at the data end.
        .filter(pl.col("decision_date").is_null() | (pl.col("decision_date") <= at_date))
        .group_by(keys)
        .agg(
            permit=valid_on(at_date).any(),
            permit_year_or_more=(
                valid_on(at_date)
                & (pl.col("valid_to").is_null()
                   | ((pl.col("valid_to") - pl.col("valid_from")).dt.total_days() >= 365))
            ).any(),
            permit_at_crossing=valid_on(crossed_date).any(),
            # A permit that ran out between the crossing and now: a foreigner whose
            # right to stay ended while abroad (or since arriving).
            permit_ended_since=((pl.col("valid_to") >= crossed_date)
                                & (pl.col("valid_to") < at_date)).any(),
            permit_days_left=days_left.filter(valid_on(at_date)).max(),
        )
    )
    register = inputs.register.select("person_id", "registered_from", "deregistered_on",
                                      "deregistration_reason")
    on_register = (
        with_person.select(keys)
        .join(register, on="person_id")
        .group_by(keys)
        .agg(
            registered=(
                (pl.col("registered_from") <= at_date)
                & (pl.col("deregistered_on").is_null() | (pl.col("deregistered_on") > at_date))
            ).any(),
            deregistered=(
                (pl.col("deregistered_on") <= at_date)
                & (pl.col("deregistration_reason") != "death").fill_null(True)
            ).any(),
            deregistered_emigration=(
                (pl.col("deregistered_on") <= at_date)
                & (pl.col("deregistration_reason") == "emigration")
            ).any(),
        )
    )
    flags = ("permit", "permit_year_or_more", "registered", "deregistered",
             "permit_at_crossing", "permit_ended_since", "deregistered_emigration")
    return (
        with_person.join(held, on=keys, how="left")
        .join(on_register, on=keys, how="left")
        .with_columns(pl.col(flag).fill_null(False) for flag in flags)
        .with_columns(pl.col("permit_days_left").fill_null(0))
    )


def design_matrix(frame: pl.DataFrame, rule: ResidenceRule) -> np.ndarray:
    v, w = rule.threshold_days, rule.window_days
    own_side = pl.col("on_own_side").cast(pl.Float64)
    age = pl.col("age").fill_null(40)
    own_progress = pl.col("own_days") / v
    # max: a W/W rule (12/12) leaves no slack; any day on the other side then decides.
    other_progress = pl.col("other_days") / max(w - v, 1)
    lag_share = pl.col("lag") / w
    spell_share = pl.col("spell") / w

    def flag(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Float64)

    columns = {
        "intercept": pl.lit(1.0),
        "on_own_side": own_side,
        "own_progress": own_progress,
        "other_progress": other_progress,
        "own_progress_on_own_side": own_progress * own_side,
        "other_progress_on_own_side": other_progress * own_side,
        "lag_share": lag_share,
        "lag_share_on_own_side": lag_share * own_side,
        # Early on, who stays cannot yet be told from the days: separate levels.
        "first_month_on_own_side": (pl.col("lag") < 31).cast(pl.Float64) * own_side,
        "first_quarter_on_own_side": (pl.col("lag") < 92).cast(pl.Float64) * own_side,
        "spell_share": spell_share,
        "spell_share_on_own_side": spell_share * own_side,
        "citizen": flag("citizen"),
        "foreign_born": flag("foreign_born"),
        "permit": flag("permit"),
        "permit_year_or_more": flag("permit_year_or_more"),
        "registered": flag("registered"),
        "deregistered": flag("deregistered"),
        "female": flag("female"),
        "age_under_18": (age < 18).cast(pl.Float64),
        "age_18_34": ((age >= 18) & (age < 35)).cast(pl.Float64),
        "age_55_plus": (age >= 55).cast(pl.Float64),
        "trips_year_before": pl.col("trips_year_before").fill_null(0).log1p(),
        "trips_since": pl.col("trips_since").log1p(),
        "migrated_in_before": flag("migrated_in_before"),
        "migrated_out_before": flag("migrated_out_before"),
        # Who is still away (or still here) after so many days says most; let the
        # effect bend with the days, and differ with the person's habits and papers.
        "own_days_log_on_own_side": pl.col("own_days").log1p() * own_side,
        "own_days_over_30_on_own_side": (pl.col("own_days") > 30).cast(pl.Float64) * own_side,
        "own_days_over_90_on_own_side": (pl.col("own_days") > 90).cast(pl.Float64) * own_side,
        "own_days_over_180_on_own_side": (pl.col("own_days") > 180).cast(pl.Float64)
        * own_side,
        "trips_year_before_on_own_side": pl.col("trips_year_before").fill_null(0).log1p()
        * own_side,
        "citizen_on_own_side": flag("citizen") * own_side,
        "permit_on_own_side": flag("permit") * own_side,
        "permit_at_crossing": flag("permit_at_crossing"),
        "permit_ended_since": flag("permit_ended_since"),
        "permit_ended_since_on_own_side": flag("permit_ended_since") * own_side,
        "permit_years_left": pl.col("permit_days_left").clip(0, PERMIT_OPEN_ENDED_DAYS)
        / 365,
        "deregistered_emigration": flag("deregistered_emigration"),
        "deregistered_emigration_on_own_side": flag("deregistered_emigration") * own_side,
        # How long the person has now been away (or here) against how long their legs of
        # this kind usually last: a resident three weeks abroad who usually travels for
        # a week is not on one of their trips.
        **{f"own_days_over_{k}_on_own_side": (pl.col("own_days") > k).cast(pl.Float64)
           * own_side for k in (7, 14, 21, 45, 60)},
        "no_usual_leg": pl.col("usual_leg_log").is_null().cast(pl.Float64),
        "beyond_usual_leg_on_own_side": (pl.col("own_days").log1p()
                                         - pl.col("usual_leg_log").fill_null(0)).clip(-3, 6)
        * pl.col("usual_leg_log").is_not_null().cast(pl.Float64) * own_side,
        "usual_leg": pl.col("usual_leg_log").fill_null(0) / 6,
    }
    return (
        frame.select(**{name: columns[name].cast(pl.Float64) for name in FEATURES})
        .to_numpy()
        .astype(np.float64, copy=False)
    )


def settled_moves_before(history: pl.DataFrame, states: pl.DataFrame) -> pl.DataFrame:
    """migrated_in_before / migrated_out_before of each state row (person_id, seq, at):
    an earlier long-term immigration / emigration of the person, settled by `at`. They
    tell an immigrant leaving from a resident on a trip, and a returning emigrant from a
    visitor."""
    moves = history.filter(pl.col("is_long_term_migration").fill_null(False)).select(
        "person_id", m_seq="seq", m_arrival="arrival",
        m_known=pl.col("ltm_known_on").cast(pl.Int32).cast(pl.Int64))
    found = states.select("person_id", "seq", "at").join(moves, on="person_id").filter(
        (pl.col("m_seq") < pl.col("seq")) & (pl.col("m_known") <= pl.col("at"))
    ).group_by("person_id", "seq", "at").agg(
        migrated_in_before=pl.col("m_arrival").any(),
        migrated_out_before=(~pl.col("m_arrival")).any())
    return states.join(found, on=["person_id", "seq", "at"], how="left").with_columns(
        pl.col("migrated_in_before", "migrated_out_before").fill_null(False))


def model_frame(history: pl.DataFrame, states: pl.DataFrame, inputs: EstimateInputs,
                country: str) -> pl.DataFrame:
    """Model inputs of crossings as seen on a day: `states` (person_id, seq, at and the
    `step2_rule.as_of.days_as_of` columns), in their order, with the travel history, the
    settled earlier moves and what the records say of the person then."""
    ordered = states.with_row_index("_row")
    trips = history.select("person_id", "seq", "trips_year_before", "usual_leg_log")
    return (
        attributes(settled_moves_before(history, ordered), inputs, country)
        .join(trips, on=["person_id", "seq"], how="left")
        .sort("_row")
        .drop("_row")
    )


