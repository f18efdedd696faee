"""Scoring the blocked pairs, in chunks so memory stays bounded at national scale."""

from __future__ import annotations

import math

from splink import Linker
from splink.internals.splink_dataframe import SplinkDataFrame

from regmig.config import LinkageConfig
from regmig.linkage.engines import LinkageEngine


def predict_pairs(
    engine: LinkageEngine,
    linker: Linker,
    expected_comparisons: int,
    config: LinkageConfig,
) -> tuple[SplinkDataFrame, int]:
    """Score every blocked pair; keep those above `predict_threshold` in `pairs`.

    Returns Splink's prediction table (kept for the charts and the review sample) and
    the number of chunks the left side was cut into.
    """
    chunks = max(1, math.ceil(expected_comparisons / config.predict_pairs_per_chunk))
    predictions = linker.inference.predict(
        threshold_match_probability=config.predict_threshold,
        num_chunks_left=chunks,
        num_chunks_right=1,
        warning_mode="never",
    )
    columns = {c.unquote().name.lower() for c in predictions.columns}
    # the date-of-birth level of each pair (0: they disagree outright), when compared
    dob_level = "gamma_dob" if "gamma_dob" in columns else "CAST(NULL AS INTEGER)"
    engine.to_work(predictions, "pairs",
                   "unique_id_l, unique_id_r, match_probability, match_weight, "
                   f"{dob_level} AS dob_level")
    return predictions, chunks
