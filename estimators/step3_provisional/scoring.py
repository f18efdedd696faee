"""Provisional probabilities of the crossings open at the data end, from the trained
model."""

from __future__ import annotations

import numpy as np
import polars as pl

from regmig.config import EstimateConfig
from regmig.estimators.inputs import EstimateInputs
from regmig.estimators.step3_provisional.features import (
    design_matrix,
    model_frame,
    open_crossings,
    without_guessed_departures,
)
from regmig.estimators.step3_provisional.training import ProvisionalModel


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
        frame = model_frame(seen, open_rows, inputs, country)
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
