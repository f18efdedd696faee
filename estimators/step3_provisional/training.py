"""Training of the provisional model: one logistic model per lag band and direction.

Arrivals and departures have a model each per lag band (provisional_lag_step_days wide),
fitted from the last band to the first: a crossing seen undecided at a lag in band j is
labelled with what the data end says of it, its outcome when settled, else the
probability the later bands give it as it stands at the data end. So the first bands
learn from crossings made weeks before the data end, not only from those whose window
has closed, and a changing population reaches the estimates at once (a single model on
closed windows lagged by more than W, and on synthetic data under-estimated a rising
emigration by 5-20%).

The model error on totals (beyond the Bernoulli noise of the outcomes) comes from
time-blocked cross-validation on the training crossings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from regmig.config import EstimateConfig, ResidenceRule
from regmig.estimators.inputs import EstimateInputs
from regmig.estimators.step3_provisional.features import (
    FEATURES,
    days,
    design_matrix,
    model_frame,
    open_crossings,
    without_guessed_departures,
)
from regmig.estimators.step3_provisional.logistic import fit_logistic, logistic


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
    frame = model_frame(history, pl.concat([
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
            p_open[now] = logistic(x_open[now] @ later)
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
        p = logistic(x[test] @ beta)
        w = sampling_weight[test]
        predicted, actual = float((w * p).sum()), float((w * y[test]).sum())
        noise = float((w**2 * p * (1 - p)).sum())
        cells.append(((actual - predicted) ** 2 - noise, predicted**2))
    return cells
