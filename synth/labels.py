"""Turning position arrays into polars columns fast (never via numpy string arrays)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from regmig.synth.timeline import NO_DAY


def labels(values: Sequence[str], idx: np.ndarray) -> pl.Series:
    """values[idx] as a string column; a negative position gives an empty value."""
    idx = np.asarray(idx, dtype=np.int64)
    missing = idx < 0
    out = pl.Series(list(values), dtype=pl.String).gather(np.where(missing, 0, idx))
    return out.scatter(np.flatnonzero(missing), None) if missing.any() else out


def flag_labels(flag: np.ndarray, if_true: str, if_false: str) -> pl.Series:
    return labels((if_false, if_true), np.asarray(flag).astype(np.int64))


def dates(days: np.ndarray) -> pl.Series:
    """Days since 1970-01-01 as a Date column; NO_DAY gives an empty value."""
    missing = days == NO_DAY
    out = pl.Series(np.where(missing, 0, days).astype(np.int32)).cast(pl.Date)
    return out.scatter(np.flatnonzero(missing), None) if missing.any() else out
