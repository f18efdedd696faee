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
from regmig.estimators.step1_histories.ends import AFTER_USUAL_STAY
from regmig.estimators.step2_rule.residence_rule import cumulative_days

_EPOCH = date(1970, 1, 1)
#: Stride between crossings of one day in the as-of search key (seq < stride).
_SEQ_STRIDE = 1 << 20
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
)



def days(day: date) -> int:
    return (day - _EPOCH).days


def with_travel_days(classified: pl.DataFrame) -> pl.DataFrame:
    """Add t (days), arrival, in_start/out_start (days in/out before the crossing) and
    trips_year_before (crossings in the 365 days before) to a classified history."""
    frame = classified.sort("person_id", "seq").with_columns(
        t=pl.col("crossing_date").cast(pl.Int32).cast(pl.Int64),
        arrival=pl.col("direction") == "arrival",
    )
    frame = cumulative_days(frame).drop("in_end", "out_end", "gap")
    # A crossing imputed to repair a history is known only once the record that showed
    # it missing is: the next crossing (two in a row in one direction), or its own date
    # when it is the last (dated by a deregistration or a usual stay).
    imputed = pl.col("imputed").fill_null(False) if "imputed" in frame.columns else False
    next_t = pl.col("t").shift(-1).over("person_id")
    frame = frame.with_columns(
        seen_from=pl.when(imputed & next_t.is_not_null()).then(next_t).otherwise("t")
    )
    year_before = _as_of(
        frame.select("person_id", "seq", at=pl.col("t") - 366), frame, strategy="forward"
    )
    return frame.join(
        year_before.select("person_id", "seq", trips_year_before=pl.col("seq")
                           - pl.col("k_seq").fill_null(pl.col("seq"))),
        on=["person_id", "seq"],
        how="left",
    )


#: seen_from of a crossing never taken as known (see `without_guessed_departures`).
_NEVER_SEEN = 1 << 40


def without_guessed_departures(history: pl.DataFrame) -> pl.DataFrame:
    """Mark as never seen a visitor's last departure imputed after their usual stay
    (`step1_histories.ends.AFTER_USUAL_STAY`).

    That guess is made only at the data end, and for crossings made long before it only
    when no later crossing came: a visitor who stayed on and left on record never carries
    it in the training rows, while the same visitor open at the data end would. Both are
    therefore seen from their recorded crossings alone; the model learns from the past
    how such stays turned out (the guessed departures of the past in its labels).
    """
    if AFTER_USUAL_STAY not in history.columns:
        return history
    return history.with_columns(
        seen_from=pl.when(pl.col(AFTER_USUAL_STAY).fill_null(False))
        .then(pl.lit(_NEVER_SEEN, pl.Int64))
        .otherwise("seen_from")
    )


def _as_of(queries: pl.DataFrame, history: pl.DataFrame, strategy: str) -> pl.DataFrame:
    """For each query (person_id, at), the person's last crossing dated on or before `at`
    (strategy="backward") or first dated after it ("forward"), as k_* columns, with the
    crossing before that one as p_* columns and the day it became known, k_seen_from."""
    names = ("seq", "t", "arrival", "in_start", "out_start")
    right = history.select(
        "person_id",
        *[pl.col(name).alias(f"k_{name}") for name in names],
        *[pl.col(name).shift(1).over("person_id").alias(f"p_{name}") for name in names],
        key=pl.col("t") * _SEQ_STRIDE + pl.col("seq"),
        k_seen_from=pl.col("seen_from") if "seen_from" in history.columns else pl.col("t"),
    ).sort("key")
    offset = _SEQ_STRIDE - 1 if strategy == "backward" else _SEQ_STRIDE
    left = queries.with_columns(key=pl.col("at") * _SEQ_STRIDE + offset).sort("key")
    return left.join_asof(
        right, on="key", by="person_id", strategy=strategy, check_sortedness=False
    ).drop("key")


def lag_states(history: pl.DataFrame, queries: pl.DataFrame) -> pl.DataFrame:
    """State of crossings (person_id, seq) as seen on day `at` (inclusive).

    `history` comes from `with_travel_days`. Adds lag, own/other days observed (days t ..
    at), on_own_side (the person is on the crossing's side now), spell (days since the
    last crossing) and trips_since (crossings made after it).

    A crossing imputed from records made after `at` was not known on `at`: the state is
    the one the crossings known then give. (Such a crossing is the last one dated by
    `at`, its revealing record coming later; so the one before it stands instead.) Past
    crossings are thus seen as the open ones are at the data end, before later records
    repair their histories.
    """
    base = queries.join(
        history.select("person_id", "seq", "t", "arrival", "in_start", "out_start"),
        on=["person_id", "seq"],
        how="left",
    )
    found = _as_of(base, history, strategy="backward")
    unseen = ((pl.col("k_seen_from") > pl.col("at")) & (pl.col("k_seq") != pl.col("seq"))
              ).fill_null(False)
    found = found.with_columns(
        pl.when(unseen).then(f"p_{name}").otherwise(f"k_{name}").alias(f"k_{name}")
        for name in ("seq", "t", "arrival", "in_start", "out_start")
    ).drop("k_seen_from", *[f"p_{name}" for name in
                             ("seq", "t", "arrival", "in_start", "out_start")])
    through = pl.col("at") + 1 - pl.col("k_t")
    in_through = pl.col("k_in_start") + pl.col("k_arrival").cast(pl.Int64) * through
    out_through = pl.col("k_out_start") + (~pl.col("k_arrival")).cast(pl.Int64) * through
    return found.with_columns(
        lag=pl.col("at") - pl.col("t"),
        own_days=pl.when("arrival")
        .then(in_through - pl.col("in_start"))
        .otherwise(out_through - pl.col("out_start")),
        on_own_side=pl.col("k_arrival") == pl.col("arrival"),
        spell=pl.col("at") - pl.col("k_t"),
        trips_since=pl.col("k_seq") - pl.col("seq"),
    ).with_columns(other_days=pl.col("lag") + 1 - pl.col("own_days")).drop(
        "k_seq", "k_t", "k_arrival", "k_in_start", "k_out_start", "in_start", "out_start"
    )


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
    }
    return (
        frame.select(**{name: columns[name].cast(pl.Float64) for name in FEATURES})
        .to_numpy()
        .astype(np.float64)
    )



def model_frame(history: pl.DataFrame, rows: pl.DataFrame, inputs: EstimateInputs,
                 country: str) -> pl.DataFrame:
    """Model inputs of (crossing, day) rows, in the order of `rows`. The person's earlier
    long-term moves (as classified with the data at hand) tell an immigrant leaving from a
    resident on a trip, and a returning emigrant from a visitor."""
    moves = history.select(
        "person_id", "seq", "trips_year_before",
        migrated_in_before=(
            (pl.col("arrival") & pl.col("migrating") & pl.col("qualifies")).cast(pl.Int32)
            .cum_sum().over("person_id").shift(1).over("person_id").fill_null(0) > 0
        ),
        migrated_out_before=(
            (~pl.col("arrival") & pl.col("migrating") & pl.col("qualifies")).cast(pl.Int32)
            .cum_sum().over("person_id").shift(1).over("person_id").fill_null(0) > 0
        ),
    )
    queries = rows.select("person_id", "seq", "at").with_row_index("_row")
    return (
        attributes(lag_states(history, queries), inputs, country)
        .join(moves, on=["person_id", "seq"], how="left")
        .sort("_row")
        .drop("_row")
    )


def open_crossings(history: pl.DataFrame, data_end: date) -> pl.DataFrame:
    """Migrating crossings whose own outcome the data do not settle yet (person_id, seq,
    at = the data end): the ones the model gives a probability."""
    decision = pl.col("decision_date").cast(pl.Int32).cast(pl.Int64)
    end = days(data_end)
    return history.filter(
        ~pl.col("resolved") & pl.col("migrating") & (decision > end)
    ).select("person_id", "seq", at=pl.lit(end, pl.Int64))
