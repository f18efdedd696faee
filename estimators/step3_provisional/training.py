"""Training of the provisional model: one logistic model per lag band and direction, fitted
on crossings as the data showed them on earlier days.

Training rows are (crossing, day) pairs: a crossing seen on a day within a lag band after
it, when on that day it was open, exactly as the rule would have said with the data
ending then (`step2_rule.as_of`: migrating as known then, its own outcome undecided, the
long-term flag unsettled). The rows do not depend on the day the model is fitted at, so
one pool serves the estimate at the data end and every backtest cut (`fit_at`).

Fitted at a cut, from the last band back to the first: a row seen in band j is labelled
with what the data up to the cut say of its crossing: its long-term flag when settled by
then, else the probability the later bands give it as it stands at the cut, else its
provisional flag. So the first bands learn from crossings made weeks before the cut, not
only from those whose window has closed, and a changing population reaches the estimates
at once. The model error on totals (beyond the Bernoulli noise of the outcomes) comes
from time-blocked validation on the training rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from regmig.config import EstimateConfig, ResidenceRule
from regmig.estimators.inputs import EstimateInputs
from regmig.estimators.step2_rule.as_of import rule_as_of
from regmig.estimators.step3_provisional.features import (
    FEATURES,
    days,
    design_matrix,
    model_frame,
)
from regmig.estimators.step3_provisional.logistic import blas_threads, fit_logistic, logistic


def _day(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Int32).cast(pl.Int64)


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
                out[rows] = logistic(design[rows] @ beta)
        return out


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


@dataclass(frozen=True)
class TrainingPool:
    """The training rows of every cut: person_id, seq, band, arrival, t, at (the day the
    crossing is seen), keep_share (of the sampling), is_ltm, ltm_known and revealed_from
    (days), with their design matrix."""

    rows: pl.DataFrame
    design: np.ndarray

    def cleared(self) -> TrainingPool:
        """The same pool without rows (its memory freed)."""
        return TrainingPool(self.rows.clear(), self.design[:0].copy())


def training_pool(
    history: pl.DataFrame, inputs: EstimateInputs, config: EstimateConfig, country: str
) -> TrainingPool:
    """Every (crossing, day) a cut before the data end could train on: for each lag band,
    each crossing seen at a lag inside it (spread over the crossings by a hash, so that
    every lag at which a crossing may be open is seen) when it was open on that day.

    `history`: `step2_rule.as_of.with_known_days` of a classified history, guessed
    departures unseen. Crossings that look like failing (by all the data) are sampled
    down to provisional_max_training_rows per band and direction within the data end's
    training window, the kept ones weighted up; those that qualify are all kept."""
    rule = config.rule
    end = days(inputs.data_end)
    starts = lag_bands(rule, config)
    ends = np.r_[starts[1:], rule.window_days]
    spread = (pl.col("person_id").cast(pl.UInt64) * 7919 + pl.col("seq").cast(pl.UInt64)
              * 104_729 + config.provisional_seed)
    crossings = history.select(
        "person_id", "seq", "arrival", "t", "qualifies", "migrating", "revealed_from",
        "seen_from", is_ltm=pl.col("is_long_term_migration").fill_null(False),
        outcome_known=_day("outcome_known_on"), before_known=_day("status_before_known_on"),
        ltm_known=_day("ltm_known_on"))
    # Open on a day as far as all the data tell: its outcome not known yet (or known only
    # through a crossing imputed later), migrating or its status before not known yet,
    # and already known itself. The last day that can hold bounds the bands tried.
    crossings = crossings.with_columns(
        open_until=pl.max_horizontal(pl.col("outcome_known").fill_null(1 << 40),
                                     "revealed_from"),
        before_until=pl.when("migrating").then(1 << 40).otherwise(
            pl.col("before_known").fill_null(1 << 40)),
    ).filter((pl.col("open_until") > pl.col("t")) & (pl.col("before_until") > pl.col("t")))
    failing = ~pl.col("qualifies")
    uniform = (pl.struct("person_id", "seq", "band").hash(config.provisional_seed)
               % 1_000_003) / 1_000_003
    # One band at a time, from its candidate rows to its design matrix: before sampling
    # the bands hold several rows per crossing (most of the stage's memory at a million
    # persons), and the rule's view and the model inputs of the kept ones are wide. The
    # rows of each band, in person and crossing order, follow those of the band before.
    rows_parts, design_parts = [], []
    for band, (lo, hi) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        part = crossings.lazy().filter(
            (pl.col("t") <= end - hi) & (pl.col("open_until") > pl.col("t") + lo)
        ).with_columns(
            band=pl.lit(band, pl.Int32),
            at=pl.col("t") + lo + (spread % (hi - lo)).cast(pl.Int64),
            window_end=pl.lit(end - hi, pl.Int64),
        ).filter(
            (pl.col("open_until") > pl.col("at")) & (pl.col("before_until") > pl.col("at"))
            & (pl.col("seen_from") <= pl.col("at")))
        recent = pl.col("t") > pl.col("window_end") - config.provisional_training_days
        n_failing = (failing & recent).sum().over("arrival")
        keep_share = pl.when(failing).then(
            pl.min_horizontal(pl.lit(1.0), config.provisional_max_training_rows
                              / n_failing.clip(1))
        ).otherwise(1.0)
        rows = (part.with_columns(keep_share=keep_share)
                .filter(uniform < pl.col("keep_share")).sort("person_id", "seq").collect())
        # The rule's view of a crossing reads its own person's history only: the band's
        # persons' rows, a fraction of the history, keep its joins small.
        persons = history.join(rows.select("person_id").unique(), on="person_id",
                               how="semi", maintain_order="left")
        states = rule_as_of(persons, rows.select("person_id", "seq", "at"), rule)
        rows = rows.join(states.select("person_id", "seq", "at", "open_at"),
                         on=["person_id", "seq", "at"], how="left", maintain_order="left"
                         ).filter(pl.col("open_at").fill_null(False))
        states = rows.select("person_id", "seq", "at").join(
            states, on=["person_id", "seq", "at"], how="left", maintain_order="left")
        design_parts.append(design_matrix(model_frame(persons, states, inputs, country),
                                          rule))
        rows_parts.append(rows.select("person_id", "seq", "band", "arrival", "t", "at",
                                      "keep_share", "is_ltm", "ltm_known", "revealed_from"))
    return TrainingPool(pl.concat(rows_parts), np.vstack(design_parts))


@dataclass(frozen=True)
class CutView:
    """The crossings made by a cut day and unresolved then, as the data up to it show
    them: `states` (person_id, seq, arrival, lag, open_at, flag: the provisional 0/1 of
    the ones not open), and the open ones (`open_rows`, with their `design`)."""

    cut: int
    states: pl.DataFrame
    open_rows: pl.DataFrame
    design: np.ndarray


def view_at(history: pl.DataFrame, inputs: EstimateInputs, config: EstimateConfig,
            country: str, cut: int) -> CutView:
    """The view on day `cut` (days since 1970) of `history` (as for `training_pool`)."""
    rule = config.rule
    made = history.filter((pl.col("t") <= cut) & (pl.col("seen_from") <= cut))
    unresolved = made.filter(~((_day("ltm_known_on") <= cut)
                               & (pl.col("revealed_from") <= cut)).fill_null(False))
    states = rule_as_of(history, unresolved.select("person_id", "seq",
                                                    at=pl.lit(cut, pl.Int64)), rule)
    states = states.filter(~pl.col("resolved_at")).with_columns(
        flag=(pl.col("migrating_at") & pl.col("qualifies_at")).cast(pl.Float64))
    open_states = states.filter("open_at").sort("person_id", "seq")
    starts = lag_bands(rule, config)
    open_rows = open_states.select(
        "person_id", "seq", "arrival", "lag",
        band=pl.Series(band_of(open_states["lag"].to_numpy(), starts), dtype=pl.Int32))
    design = design_matrix(model_frame(history, open_states, inputs, country), rule)
    return CutView(cut, states.select("person_id", "seq", "arrival", "lag", "open_at",
                                      "flag"), open_rows, design)


def fit_at(pool: TrainingPool, view: CutView, config: EstimateConfig
           ) -> tuple[ProvisionalModel | None, np.ndarray]:
    """The model fitted on the pool's rows as the data up to `view.cut` label them, and
    the probabilities it gives the crossings open then (in `view.open_rows` order); None
    and 0.5 each (the widest interval) when too few windows have closed by the cut."""
    with blas_threads(config.blas_threads):
        return _fit_at(pool, view, config)


def _fit_at(pool: TrainingPool, view: CutView, config: EstimateConfig
            ) -> tuple[ProvisionalModel | None, np.ndarray]:
    rule = config.rule
    cut = view.cut
    starts = lag_bands(rule, config)
    ends = np.r_[starts[1:], rule.window_days]
    hi = (pl.Series("hi", ends)[pool.rows["band"]] if pool.rows.height
          else pl.Series("hi", [], dtype=pl.Int64))
    rows = pool.rows.with_columns(hi=hi, _index=pl.int_range(pl.len()))
    window_end = cut - pl.col("hi")
    rows = rows.filter((pl.col("t") <= window_end)
                       & (pl.col("t") > window_end - config.provisional_training_days))
    p_open = np.full(view.open_rows.height, 0.5)
    closed = rows.filter(pl.col("t") + rule.window_days <= cut).select(
        "person_id", "seq").n_unique()
    if closed < config.provisional_min_training or rows.is_empty():
        return None, p_open
    half_life = config.provisional_half_life_days
    age = window_end - pl.col("t")
    recency = (pl.lit(0.5) ** (age / half_life)) if half_life > 0 else pl.lit(1.0)
    settled = (pl.col("ltm_known") <= cut) & (pl.col("revealed_from") <= cut)
    labelled = rows.with_columns(
        weight=recency / pl.col("keep_share"), sampling_weight=1 / pl.col("keep_share"),
        settled=settled.fill_null(False),
    ).join(view.open_rows.select("person_id", "seq").with_row_index("open_row"),
           on=["person_id", "seq"], how="left", maintain_order="left"
    ).join(view.states.select("person_id", "seq", "flag"), on=["person_id", "seq"],
           how="left", maintain_order="left")
    # What the cut says of each row's crossing: settled, open (scored below), or its
    # provisional 0/1.
    known = labelled.select(pl.when("settled").then(pl.col("is_ltm").cast(pl.Float64))
                            .otherwise(pl.col("flag").fill_null(0.0))).to_series().to_numpy()
    open_row = labelled.select(pl.when("settled").then(None).otherwise("open_row")
                               ).to_series().fill_null(-1).to_numpy().astype(np.int64)
    x_rows = pool.design[labelled["_index"].to_numpy()]
    band = labelled["band"].to_numpy()
    arrival = labelled["arrival"].to_numpy()
    weight, sampling_weight = (labelled["weight"].to_numpy(),
                               labelled["sampling_weight"].to_numpy())
    t = labelled["t"].to_numpy()
    open_band = view.open_rows["band"].to_numpy()
    open_arrival = view.open_rows["arrival"].to_numpy()
    coefficients: dict[bool, list[np.ndarray]] = {True: [], False: []}
    error_cells: list[tuple[float, float]] = []
    for direction in (True, False):
        betas: list[np.ndarray] = [np.zeros(len(FEATURES))] * len(starts)
        later: np.ndarray | None = None
        for j in reversed(range(len(starts))):
            sel = (band == j) & (arrival == direction)
            # Crossings still open at the cut lie in later bands, scored already.
            y = np.where(open_row[sel] >= 0, p_open[np.maximum(open_row[sel], 0)],
                         known[sel])
            if len(y):
                betas[j] = fit_logistic(x_rows[sel], y, config.provisional_ridge,
                                        weight[sel], start=later, prior=later)
                error_cells += _validation_cells(x_rows[sel], y, weight[sel],
                                                 sampling_weight[sel], t[sel], later,
                                                 config)
            elif later is not None:
                betas[j] = later
            later = betas[j]
            now = (open_band == j) & (open_arrival == direction)
            p_open[now] = logistic(view.design[now] @ later)
        coefficients[direction] = betas
    excess = sum(e for e, _ in error_cells)
    scale = sum(s for _, s in error_cells)
    error = float(np.sqrt(max(excess, 0.0) / scale)) if scale > 0 else 0.0
    model = ProvisionalModel(tuple(starts.tolist()), coefficients, error, labelled.height,
                             labelled.select("person_id", "seq").n_unique())
    return model, p_open


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
                            start=start, prior=start)
        p = logistic(x[test] @ beta)
        w = sampling_weight[test]
        predicted, actual = float((w * p).sum()), float((w * y[test]).sum())
        noise = float((w**2 * p * (1 - p)).sum())
        cells.append(((actual - predicted) ** 2 - noise, predicted**2))
    return cells
