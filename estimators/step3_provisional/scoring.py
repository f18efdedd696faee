"""Provisional probabilities of the crossings at a cut day: 0/1 where the data up to it
settle the long-term flag, the model's probability where the crossing is open, else its
provisional 0/1 (its own outcome known, its status before not yet)."""

from __future__ import annotations

import numpy as np
import polars as pl

from regmig.estimators.step3_provisional.training import CutView


def probabilities(history: pl.DataFrame, view: CutView, p_open: np.ndarray) -> pl.Series:
    """probability_ltm of every crossing of `history` (classified, as of the view's cut:
    the data end for the stage) in its row order."""
    modelled = view.open_rows.select("person_id", "seq").with_columns(p=pl.Series(p_open))
    flags = view.states.select("person_id", "seq", "flag")
    return history.select("person_id", "seq", "resolved", "is_long_term_migration").join(
        modelled, on=["person_id", "seq"], how="left", maintain_order="left"
    ).join(flags, on=["person_id", "seq"], how="left", maintain_order="left").select(
        pl.when("resolved").then(pl.col("is_long_term_migration").cast(pl.Float64))
        .when(pl.col("p").is_not_null()).then("p")
        .otherwise(pl.col("flag").fill_null(0.0))
    ).to_series().alias("probability_ltm")
