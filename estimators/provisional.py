"""Provisional probabilities for crossings whose outcome is still open at the data end.

A crossing near the end of the data may not be decided yet: its window has not closed and
the days observed so far neither reach V on its own side nor exceed W - V on the other.
Its probability of qualifying comes from a logistic model trained on EARLIER crossings
as they looked at the same lag: for a crossing made L days before the data end, the
model sees the days observed so far on its own side and on the other, which side the
person is on now and for how long, citizenship group, country of birth, sex, age, the
permit held (whether it runs a year or more, the years it has left, whether one was held
on the crossing day or ran out since), the register (registered, or deregistered, for
emigration or otherwise, by then) and the travel history (crossings in the year before,
and since), all as known on that day (a permit decided later, or a crossing imputed
from later records, not yet).

Arrivals and departures have a model each per lag band (provisional_lag_step_days wide),
fitted from the last band to the first: a crossing seen undecided at a lag in band j is
labelled with what the data end says of it, its outcome when settled, else the
probability the later bands give it as it stands at the data end. So the first bands
learn from crossings made weeks before the data end, not only from those whose window
has closed, and a changing population reaches the estimates at once (a single model on
closed windows lagged by more than W, and on synthetic data under-estimated a rising
emigration by 5-20%).

Totals add the probabilities. Their variance is the Bernoulli variance plus a model error
term (a relative standard deviation of totals estimated by time-blocked cross-validation
on the training crossings), which gives the interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from statistics import NormalDist

import numpy as np
import polars as pl

from regmig.config import EstimateConfig, ResidenceRule
from regmig.estimators.inputs import EstimateInputs
from regmig.estimators.repair_evidence import AFTER_USUAL_STAY

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


@dataclass(frozen=True)
class ProvisionalModel:
    #: First lag (days) of each lag band.
    band_starts: tuple[int, ...]
    #: Coefficients of FEATURES for arrivals and for departures, one set per lag band.
    coefficients: dict[bool, list[np.ndarray]]
    #: Relative standard deviation of modelled totals beyond Bernoulli noise.
    model_error: float
    n_training_rows: int
    n_training_crossings: int

    def predict(self, design: np.ndarray, arrival: np.ndarray, lag: np.ndarray) -> np.ndarray:
        out = np.empty(len(design))
        band = band_of(lag, np.asarray(self.band_starts))
        for direction in (True, False):
            for j, beta in enumerate(self.coefficients[direction]):
                rows = (arrival == direction) & (band == j)
                out[rows] = _logistic(design[rows] @ beta)
        return out


def _logistic(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def days(day: date) -> int:
    return (day - _EPOCH).days


def with_travel_days(classified: pl.DataFrame) -> pl.DataFrame:
    """Add t (days), arrival, in_start/out_start (days in/out before the crossing) and
    trips_year_before (crossings in the 365 days before) to a classified history."""
    from regmig.estimators.residence_rule import cumulative_days

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
    (`repair_evidence.AFTER_USUAL_STAY`).

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


def age_in_years(on: pl.Expr, birth_year: pl.Expr, birth_month: pl.Expr) -> pl.Expr:
    """Completed years on a date, from year and month of birth (birthday taken as the 1st
    of the month, the finest the warehouse holds)."""
    before_birthday = (on.dt.month() < birth_month.fill_null(7)).cast(pl.Int32)
    return on.dt.year().cast(pl.Int32) - birth_year.cast(pl.Int32) - before_birthday


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


def fit_logistic(
    x: np.ndarray, y: np.ndarray, ridge: float, case_weight: np.ndarray | None = None,
    iterations: int = 25, start: np.ndarray | None = None,
) -> np.ndarray:
    """Ridge-penalised (case-weighted) logistic regression by iteratively reweighted least
    squares. `y` may be fractional (a probability): the same score equations then fit
    its expectation."""
    case_weight = np.ones(len(y)) if case_weight is None else case_weight
    beta = np.zeros(x.shape[1]) if start is None else start.copy()
    if len(y) == 0:
        return beta
    penalty = ridge * np.eye(x.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk

    def objective(b: np.ndarray) -> float:
        # Clipped as the probabilities are: a separable band saturates, not overflows.
        z = np.clip(x @ b, -30, 30)
        return float((case_weight * (y * z - np.logaddexp(0.0, z))).sum()
                     - 0.5 * b @ penalty @ b)

    current = objective(beta)
    for _ in range(iterations):
        p = _logistic(x @ beta)
        weight = case_weight * p * (1 - p)
        # einsum, not BLAS: a multithreaded BLAS crawls on a shared, busy machine.
        hessian = np.einsum("ij,ik->jk", x * weight[:, None], x) + penalty
        gradient = x.T @ (case_weight * (y - p)) - penalty @ beta
        step = np.linalg.solve(hessian, gradient)
        # Halve the Newton step until the penalised likelihood rises: with rare events
        # and a start far off, a full step can overshoot into saturation.
        for _ in range(30):
            trial = objective(beta + step)
            if trial >= current - 1e-9 * abs(current):
                break
            step = step / 2
        beta = beta + step
        current = trial
        if np.max(np.abs(step)) < 1e-5:
            break
    return beta


def lag_bands(rule: ResidenceRule, config: EstimateConfig) -> np.ndarray:
    """First lag of each band: 0, step, 2 step, ... below W (a last band shorter than
    half a step joins the one before). Band j runs to the next start, the last to W."""
    step = config.provisional_lag_step_days
    starts = np.arange(0, rule.window_days, step, dtype=np.int64)
    if len(starts) > 1 and rule.window_days - starts[-1] < step / 2:
        starts = starts[:-1]
    return starts


def band_of(lag: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(starts, lag, side="right") - 1, 0, len(starts) - 1)


def training_rows(
    history: pl.DataFrame, data_end: date, config: EstimateConfig
) -> pl.DataFrame:
    """One row per migrating crossing and lag band it was still undecided in, seen at a
    lag inside the band, for crossings made at least the band's end before the data end.

    Columns: person_id, seq, band, arrival, t, at (the day it is seen), weight and
    sampling_weight. The lag inside the band is spread over the crossings (a hash), so
    every lag at which a crossing may be open is seen. Crossings count less the older
    they are (provisional_half_life_days) and those older than provisional_training_days
    are left out. Crossings that look like failing (by the data at hand) are sampled down
    to provisional_max_training_rows per band and direction, the kept ones weighted up
    (sampling_weight): the few that look like migrations are all kept.
    """
    rule = config.rule
    end = days(data_end)
    starts = lag_bands(rule, config)
    ends = np.r_[starts[1:], rule.window_days]
    decision = pl.col("decision_date").cast(pl.Int32).cast(pl.Int64)
    migrating = history.filter("migrating").select(
        "person_id", "seq", "arrival", "t", "qualifies", "seen_from", decision=decision
    )
    spread = (pl.col("person_id").cast(pl.UInt64) * 7919 + pl.col("seq").cast(pl.UInt64)
              * 104_729 + config.provisional_seed)
    parts = []
    for band, (lo, hi) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        newest = end - hi
        parts.append(migrating.filter(
            (pl.col("t") <= newest) & (pl.col("t") > newest - config.provisional_training_days)
        ).with_columns(
            band=pl.lit(band, pl.Int32),
            at=pl.col("t") + lo + (spread % (hi - lo)).cast(pl.Int64),
            age=newest - pl.col("t"),
        # Undecided on the day, and already known then (not imputed from later records).
        ).filter((pl.col("decision") > pl.col("at")) & (pl.col("seen_from") <= pl.col("at"))))
    rows = pl.concat(parts)
    half_life = config.provisional_half_life_days
    recency = (pl.lit(0.5) ** (pl.col("age") / half_life)) if half_life > 0 else pl.lit(1.0)
    failing = ~pl.col("qualifies")
    n_failing = failing.sum().over("band", "arrival")
    keep_share = pl.when(failing).then(
        pl.min_horizontal(pl.lit(1.0), config.provisional_max_training_rows / n_failing)
    ).otherwise(1.0)
    uniform = (pl.struct("person_id", "seq", "band").hash(config.provisional_seed)
               % 1_000_003) / 1_000_003
    return (
        rows.with_columns(keep_share=keep_share)
        .filter(uniform < pl.col("keep_share"))
        .with_columns(weight=recency / pl.col("keep_share"),
                      sampling_weight=1 / pl.col("keep_share"))
        .select("person_id", "seq", "band", "arrival", "t", "at", "weight",
                "sampling_weight")
        .sort("band", "person_id", "seq")
    )


def _model_frame(history: pl.DataFrame, rows: pl.DataFrame, inputs: EstimateInputs,
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


def _known_outcome() -> pl.Expr:
    """What the data at hand say of a crossing that is not open: its long-term flag when
    resolved, else (own outcome settled, status before not yet) the provisional one."""
    return (pl.when("resolved").then(pl.col("is_long_term_migration"))
            .otherwise(pl.col("migrating") & pl.col("qualifies")).cast(pl.Float64))


def fit(
    history: pl.DataFrame, inputs: EstimateInputs, config: EstimateConfig, country: str
) -> ProvisionalModel | None:
    """Train on the crossings of `history` (from `with_travel_days` on a classified
    frame); None when too few windows have closed by the data end.

    One model per lag band, fitted from the last band to the first. A crossing seen
    undecided at a lag in band j is labelled with what the data end says of it: its
    outcome when settled, else the probability the later bands' models (already fitted)
    give it as it stands at the data end. So each band learns from every crossing made at
    least its end before the data end, the first bands from crossings made weeks before,
    and a change in the population reaches the estimates without waiting for windows to
    close; and training crossings are seen, and labelled, as the open ones are scored."""
    rule = config.rule
    history = without_guessed_departures(history)
    closed = history.filter(
        pl.col("migrating") & (pl.col("t") + rule.window_days <= days(inputs.data_end))
    ).height
    if closed < config.provisional_min_training:
        return None
    rows = training_rows(history, inputs.data_end, config)
    if rows.is_empty():
        return None
    starts = lag_bands(rule, config)
    open_now = open_crossings(history, inputs.data_end).with_row_index("open_row")
    frame = _model_frame(history, pl.concat([
        rows.select("person_id", "seq", "at"), open_now.select("person_id", "seq", "at"),
    ]), inputs, country)
    design = design_matrix(frame, rule)
    x_rows, x_open = design[: rows.height], design[rows.height:]
    open_band = band_of(frame["lag"].to_numpy()[rows.height:], starts)
    open_arrival = frame["arrival"].to_numpy()[rows.height:]
    p_open = np.full(open_now.height, np.nan)
    labelled = rows.join(
        history.select("person_id", "seq", known=_known_outcome()),
        on=["person_id", "seq"], how="left",
    ).join(open_now.select("person_id", "seq", "open_row"), on=["person_id", "seq"],
           how="left")
    known = labelled["known"].to_numpy()
    open_row = labelled["open_row"].fill_null(-1).to_numpy()
    band = rows["band"].to_numpy()
    arrival = rows["arrival"].to_numpy()
    weight, sampling_weight = rows["weight"].to_numpy(), rows["sampling_weight"].to_numpy()
    t = rows["t"].to_numpy()
    coefficients: dict[bool, list[np.ndarray]] = {True: [], False: []}
    error_cells: list[tuple[float, float]] = []
    for direction in (True, False):
        betas: list[np.ndarray | None] = [None] * len(starts)
        later: np.ndarray | None = None
        for j in reversed(range(len(starts))):
            sel = (band == j) & (arrival == direction)
            # Crossings still open at the data end lie in later bands, scored already.
            y = np.where(open_row[sel] >= 0, p_open[np.maximum(open_row[sel], 0)],
                         known[sel])
            if len(y):
                betas[j] = fit_logistic(x_rows[sel], y, config.provisional_ridge,
                                        weight[sel], start=later)
                error_cells += _validation_cells(x_rows[sel], y, weight[sel],
                                                 sampling_weight[sel], t[sel], later,
                                                 config)
            else:
                betas[j] = later if later is not None else np.zeros(len(FEATURES))
            later = betas[j]
            now = (open_band == j) & (open_arrival == direction)
            p_open[now] = _logistic(x_open[now] @ later)
        coefficients[direction] = [b for b in betas if b is not None]
    excess = sum(e for e, _ in error_cells)
    scale = sum(s for _, s in error_cells)
    error = float(np.sqrt(max(excess, 0.0) / scale)) if scale > 0 else 0.0
    n_crossings = rows.select("person_id", "seq").n_unique()
    return ProvisionalModel(tuple(starts.tolist()), coefficients, error, rows.height,
                            n_crossings)


def _validation_cells(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, sampling_weight: np.ndarray,
    t: np.ndarray, start: np.ndarray | None, config: EstimateConfig,
) -> list[tuple[float, float]]:
    """(excess squared error, squared prediction) of a band's totals by forward chaining:
    each block of crossing dates predicted by a model fitted on the blocks BEFORE it, as
    the real estimate predicts crossings later than its training ones. The excess is the
    squared error beyond the Bernoulli variance of the (sampled, weighted) rows."""
    folds = config.provisional_cv_folds
    if folds < 2 or len(y) < folds:
        return []
    edges = np.quantile(t, np.linspace(0, 1, folds + 1)[1:-1])
    block = np.searchsorted(edges, t, side="right")
    cells = []
    for k in range(1, folds):
        train, test = block < k, block == k
        if not train.any() or not test.any():
            continue
        beta = fit_logistic(x[train], y[train], config.provisional_ridge, weight[train],
                            start=start)
        p = _logistic(x[test] @ beta)
        w = sampling_weight[test]
        predicted, actual = float((w * p).sum()), float((w * y[test]).sum())
        noise = float((w**2 * p * (1 - p)).sum())
        cells.append(((actual - predicted) ** 2 - noise, predicted**2))
    return cells


def probabilities(
    history: pl.DataFrame,
    model: ProvisionalModel | None,
    inputs: EstimateInputs,
    config: EstimateConfig,
    country: str,
) -> pl.DataFrame:
    """probability_ltm for every crossing of a classified `history` (with_travel_days):
    0/1 when resolved; when unresolved, the modelled probability of qualifying for a
    migrating crossing still undecided, else its provisional 0/1 outcome."""
    open_rows = open_crossings(history, inputs.data_end)
    seen = without_guessed_departures(history)
    modelled = pl.DataFrame(schema={"person_id": history["person_id"].dtype,
                                    "seq": history["seq"].dtype, "p": pl.Float64})
    if open_rows.height:
        frame = _model_frame(seen, open_rows, inputs, country)
        if model is None:
            # Nothing to learn from yet: the open ones count half (the widest interval).
            p = np.full(frame.height, 0.5)
        else:
            p = model.predict(design_matrix(frame, config.rule), frame["arrival"].to_numpy(),
                              frame["lag"].to_numpy())
        modelled = frame.select("person_id", "seq").with_columns(p=pl.Series(p))
    provisional_flag = (pl.col("migrating") & pl.col("qualifies")).cast(pl.Float64)
    return history.join(modelled, on=["person_id", "seq"], how="left").with_columns(
        probability_ltm=pl.when("resolved")
        .then(pl.col("is_long_term_migration").cast(pl.Float64))
        .when(pl.col("p").is_not_null())
        .then("p")
        .otherwise(provisional_flag)
    ).drop("p")


@dataclass(frozen=True)
class Total:
    final: int
    expected_provisional: float
    estimate: float
    lower: float
    upper: float
    #: sum p (1 - p) over the open crossings: the variance from their outcomes alone.
    bernoulli_variance: float = 0.0


def total(
    final: int, probabilities_open: np.ndarray, model_error: float, level: float
) -> Total:
    """Final count plus the sum of the open probabilities, with its interval."""
    expected = float(probabilities_open.sum())
    bernoulli = float((probabilities_open * (1 - probabilities_open)).sum())
    variance = bernoulli + (model_error * expected) ** 2
    z = NormalDist().inv_cdf(0.5 + level / 2)
    half = z * variance**0.5
    estimate = final + expected
    return Total(final, expected, estimate, max(final, estimate - half), estimate + half,
                 bernoulli)
