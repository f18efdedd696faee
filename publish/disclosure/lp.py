"""Thin helpers to hand sparse linear programs to HiGHS (highspy)."""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np


@dataclass(frozen=True)
class RowwiseMatrix:
    """A sparse matrix in compressed-row form (what HiGHS takes as kRowwise)."""

    n_rows: int
    n_cols: int
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray

    @classmethod
    def from_coo(
        cls, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, n_cols: int
    ) -> RowwiseMatrix:
        order = np.lexsort((cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        start = np.zeros(n_rows + 1, dtype=np.int64)
        np.add.at(start, rows + 1, 1)
        return cls(n_rows, n_cols, np.cumsum(start), cols.astype(np.int64),
                   vals.astype(np.float64))


def new_highs(time_limit: float | None = None) -> highspy.Highs:
    highs = highspy.Highs()
    highs.silent()
    highs.setOptionValue("threads", 1)
    if time_limit is not None:
        highs.setOptionValue("time_limit", float(max(time_limit, 1.0)))
    return highs


def pass_model(
    highs: highspy.Highs,
    matrix: RowwiseMatrix,
    cost: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    integer: bool = False,
) -> None:
    lp = highspy.HighsLp()
    lp.num_col_ = matrix.n_cols
    lp.num_row_ = matrix.n_rows
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(col_lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(col_upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = matrix.start
    lp.a_matrix_.index_ = matrix.index
    lp.a_matrix_.value_ = matrix.value
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * matrix.n_cols
    highs.passModel(lp)
