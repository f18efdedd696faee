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
and since). Optionally (provisional_calibration_days) the intercepts are then set so the
most recent closed cohort is predicted in total.
Arrivals and departures have a model each. The training crossings are those whose window
had closed by the data end, each seen at a grid of lags at which it was still undecided,
labelled with its final outcome.

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
    #: Coefficients of FEATURES for arrivals and for departures.
    coefficients: dict[bool, np.ndarray]
    #: Relative standard deviation of modelled totals beyond Bernoulli noise.
    model_error: float
    n_training_rows: int
    n_training_crossings: int

    def predict(self, design: np.ndarray, arrival: np.ndarray) -> np.ndarray:
        out = np.empty(len(design))
        for direction in (True, False):
            rows = arrival == direction
            out[rows] = _logistic(design[rows] @ self.coefficients[direction])
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
    year_before = _as_of(
        frame.select("person_id", "seq", at=pl.col("t") - 366), frame, strategy="forward"
    )
    return frame.join(
        year_before.select("person_id", "seq", trips_year_before=pl.col("seq")
                           - pl.col("k_seq").fill_null(pl.col("seq"))),
        on=["person_id", "seq"],
        how="left",
    )


def _as_of(queries: pl.DataFrame, history: pl.DataFrame, strategy: str) -> pl.DataFrame:
    """For each query (person_id, at), the person's last crossing dated on or before `at`
    (strategy="backward") or first dated after it ("forward"), as k_* columns."""
    right = history.select(
        "person_id",
        key=pl.col("t") * _SEQ_STRIDE + pl.col("seq"),
        k_seq="seq",
        k_t="t",
        k_arrival="arrival",
        k_in_start="in_start",
        k_out_start="out_start",
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
    """
    base = queries.join(
        history.select("person_id", "seq", "t", "arrival", "in_start", "out_start"),
        on=["person_id", "seq"],
        how="left",
    )
    found = _as_of(base, history, strategy="backward")
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
    granted = inputs.permits.filter(
        (pl.col("decision") == "granted")
        & (pl.col("decision_date").is_null() | (pl.col("decision_date") <= inputs.data_end))
    ).select("person_id", "valid_from", "valid_to")
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
    other_progress = pl.col("other_days") / (w - v)
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
    iterations: int = 15,
) -> np.ndarray:
    """Ridge-penalised (case-weighted) logistic regression by iteratively reweighted least
    squares."""
    case_weight = np.ones(len(y)) if case_weight is None else case_weight
    beta = np.zeros(x.shape[1])
    penalty = ridge * np.eye(x.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    for _ in range(iterations):
        p = _logistic(x @ beta)
        weight = case_weight * p * (1 - p)
        # einsum, not BLAS: a multithreaded BLAS crawls on a shared, busy machine.
        hessian = np.einsum("ij,ik->jk", x * weight[:, None], x) + penalty
        gradient = x.T @ (case_weight * (y - p)) - penalty @ beta
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-5:
            break
    return beta


def training_rows(
    history: pl.DataFrame, data_end: date, config: EstimateConfig
) -> pl.DataFrame:
    """Migrating crossings whose window had closed by the data end, each seen at every
    lag of the grid at which it was still undecided."""
    rule = config.rule
    closed = history.filter(
        pl.col("migrating") & (pl.col("t") + rule.window_days <= days(data_end))
    )
    lags = pl.DataFrame(
        {"lag": list(range(0, rule.window_days, config.provisional_lag_step_days))},
        schema={"lag": pl.Int64},
    )
    decision = pl.col("decision_date").cast(pl.Int32).cast(pl.Int64)
    rows = (
        closed.select("person_id", "seq", "t", "qualifies", decision=decision)
        .join(lags, how="cross")
        .with_columns(at=pl.col("t") + pl.col("lag"))
        .filter(pl.col("decision") > pl.col("at"))
        .select("person_id", "seq", "at", "qualifies")
        .sort("person_id", "seq", "at")
    )
    if rows.height > config.provisional_max_training_rows:
        rows = rows.sample(config.provisional_max_training_rows, seed=config.provisional_seed)
    return rows


def _model_frame(history: pl.DataFrame, rows: pl.DataFrame, inputs: EstimateInputs,
                 country: str) -> pl.DataFrame:
    """Model inputs of (crossing, day) rows. The person's earlier long-term moves (as
    classified with the data at hand) tell an immigrant leaving from a resident on a trip,
    and a returning emigrant from a visitor."""
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
    return attributes(lag_states(history, rows), inputs, country).join(
        moves, on=["person_id", "seq"], how="left"
    )


def fit(
    history: pl.DataFrame, inputs: EstimateInputs, config: EstimateConfig, country: str
) -> ProvisionalModel | None:
    """Train on the crossings of `history` (from `with_travel_days` on a classified
    frame) whose outcome was known by the data end; None when there are too few."""
    rows = training_rows(history, inputs.data_end, config)
    n_crossings = rows.select("person_id", "seq").n_unique()
    if n_crossings < config.provisional_min_training:
        return None
    frame = _model_frame(history, rows, inputs, country)
    x = design_matrix(frame, config.rule)
    y = frame["qualifies"].cast(pl.Float64).to_numpy()
    arrival = frame["arrival"].to_numpy()
    if any(len(np.unique(y[arrival == d])) < 2 for d in (True, False)):
        return None
    weight = recency_weights(frame, config)
    coefficients = {
        d: fit_logistic(x[arrival == d], y[arrival == d], config.provisional_ridge,
                        weight[arrival == d])
        for d in (True, False)
    }
    recent = recent_cohort(frame, config)
    for d in (True, False):
        rows = recent & (arrival == d)
        coefficients[d] = recalibrated(coefficients[d], x[rows], y[rows])
    error = _model_error(frame, x, y, arrival, weight, config)
    return ProvisionalModel(coefficients, error, len(y), n_crossings)


def recent_cohort(frame: pl.DataFrame, config: EstimateConfig) -> np.ndarray:
    """Training rows of the crossings made in the last provisional_calibration_days
    before the newest training crossing (all False when 0)."""
    crossed = frame["at"].to_numpy() - frame["lag"].to_numpy()
    if config.provisional_calibration_days <= 0:
        return np.zeros(len(crossed), dtype=bool)
    return crossed > crossed.max() - config.provisional_calibration_days


def recalibrated(beta: np.ndarray, x: np.ndarray, y: np.ndarray,
                 iterations: int = 20) -> np.ndarray:
    """Shift the intercept so the model's expected count over the most recent closed
    cohort equals its observed count: the level follows a changing population while the
    other coefficients keep what the whole history teaches."""
    if len(y) == 0 or y.sum() in (0, len(y)):
        return beta
    shift = 0.0
    for _ in range(iterations):
        p = _logistic(x @ beta + shift)
        slope = (p * (1 - p)).sum()
        if slope <= 0:
            break
        step = (y.sum() - p.sum()) / slope
        shift += step
        if abs(step) < 1e-6:
            break
    out = beta.copy()
    out[0] += shift
    return out


def recency_weights(frame: pl.DataFrame, config: EstimateConfig) -> np.ndarray:
    """Training crossings count less the older they are (halving every
    provisional_half_life_days), so that a changing population is followed."""
    crossed = frame["at"].to_numpy() - frame["lag"].to_numpy()
    if config.provisional_half_life_days <= 0:
        return np.ones(len(crossed))
    return 0.5 ** ((crossed.max() - crossed) / config.provisional_half_life_days)


def _model_error(
    frame: pl.DataFrame, x: np.ndarray, y: np.ndarray, arrival: np.ndarray,
    weight: np.ndarray, config: EstimateConfig,
) -> float:
    """Relative s.d. of totals beyond Bernoulli noise, by forward-chaining validation:
    each block of crossing dates is predicted by models fitted on the blocks BEFORE it
    (as the real estimate predicts crossings later than its training ones), and the
    squared errors of block totals (by direction and lag band) beyond their Bernoulli
    variance are pooled relative to the squared totals."""
    t = frame["at"].to_numpy() - frame["lag"].to_numpy()
    folds = config.provisional_cv_folds
    edges = np.quantile(t, np.linspace(0, 1, folds + 1)[1:-1])
    block = np.searchsorted(edges, t, side="right")
    band = np.minimum(frame["lag"].to_numpy() // 91, 5)
    excess, scale = 0.0, 0.0
    for k in range(1, folds):
        for direction in (True, False):
            train = (block < k) & (arrival == direction)
            test = (block == k) & (arrival == direction)
            if not test.any() or not train.any() or len(np.unique(y[train])) < 2:
                continue
            beta = fit_logistic(x[train], y[train], config.provisional_ridge, weight[train])
            p = _logistic(x[test] @ beta)
            for b in np.unique(band[test]):
                cell = band[test] == b
                predicted, actual = p[cell].sum(), y[test][cell].sum()
                excess += (actual - predicted) ** 2 - (p[cell] * (1 - p[cell])).sum()
                scale += predicted**2
    return float(np.sqrt(max(excess, 0.0) / scale)) if scale > 0 else 0.0


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
    end = days(inputs.data_end)
    decision = pl.col("decision_date").cast(pl.Int32).cast(pl.Int64)
    open_rows = history.filter(
        ~pl.col("resolved") & pl.col("migrating") & (decision > end)
    ).select("person_id", "seq", at=pl.lit(end, pl.Int64))
    modelled = pl.DataFrame(schema={"person_id": history["person_id"].dtype,
                                    "seq": history["seq"].dtype, "p": pl.Float64})
    if open_rows.height:
        frame = _model_frame(history, open_rows, inputs, country)
        if model is None:
            # Nothing to learn from yet: the open ones count half (the widest interval).
            p = np.full(frame.height, 0.5)
        else:
            p = model.predict(design_matrix(frame, config.rule), frame["arrival"].to_numpy())
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


def total(
    final: int, probabilities_open: np.ndarray, model_error: float, level: float
) -> Total:
    """Final count plus the sum of the open probabilities, with its interval."""
    expected = float(probabilities_open.sum())
    variance = float((probabilities_open * (1 - probabilities_open)).sum())
    variance += (model_error * expected) ** 2
    z = NormalDist().inv_cdf(0.5 + level / 2)
    half = z * variance**0.5
    estimate = final + expected
    return Total(final, expected, estimate, max(final, estimate - half), estimate + half)
