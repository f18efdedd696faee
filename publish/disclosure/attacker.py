"""The attacker used while choosing a pattern: which primary cells does it expose?

For a suppression pattern x, the attacker's freedom is a deviation y from the true
table that keeps every relation (A y = 0) and moves only suppressed cells within
-value_i <= y_i <= M. A primary cell p is exposed when the integers in
[value_p + min y_p, value_p + max y_p] span less than the threshold (counts are
integers: the attacker rounds the LP bounds inwards).

Published cells are constants, so the problem splits into one LP per connected
component of suppressed cells. Every LP solution is a table the attacker cannot rule
out, so a primary cell already seen at two values `threshold` apart needs no LP of its
own; the rest get their max and min, and for each exposed one a Benders cut:

By LP duality, for ANY multipliers l and m of the relations,
``max y_p - min y_p <= sum_i x_i (M (d_i+ + f_i+) + value_i (d_i- + f_i-))`` with
``d = e_p - A'l`` and ``f = -e_p - A'm``; so ``sum_i c_i x_i >= threshold`` holds for
every pattern protecting p, and with the optimal duals at x it cuts x off.

This module serves secondary.py only; the release is checked by audit.py, which does
not share this code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regmig.publish.disclosure.lp import RowwiseMatrix, new_highs, pass_model

#: Protection is checked with this slack so that solver round-off never passes a cell.
TOLERANCE = 1e-6
#: Joint LPs (all unprotected primary cells pushed up, then down) before single ones.
_BATCH_ROUNDS = 3


@dataclass
class Exposure:
    """A primary cell the pattern leaves exposed, and the cut that excludes the pattern:
    ``cut @ x >= need`` for every pattern protecting the cell (need is the threshold, or
    one more when only the rounding to integers exposes the cell)."""

    cell: int
    width: float
    cut: np.ndarray
    need: float


def integer_width(low: np.ndarray | float, high: np.ndarray | float) -> np.ndarray | float:
    """Width of the integer range within the deviations [low, high] of an integer cell."""
    return np.floor(np.asarray(high) + TOLERANCE) - np.ceil(np.asarray(low) - TOLERANCE)


def components(incidence: RowwiseMatrix, cells: np.ndarray) -> np.ndarray:
    """Label of each cell in `cells`: cells linked through relations share a label.

    Published cells do not link anything (they are constants to the attacker), so the
    attacker's problem splits into one small LP per component.
    """
    n = incidence.n_cols
    member = np.zeros(n, dtype=bool)
    member[cells] = True
    row_of = np.repeat(np.arange(incidence.n_rows), np.diff(incidence.start))
    keep = member[incidence.index]
    rows, cols = row_of[keep], incidence.index[keep]
    label = np.arange(n)
    while True:
        row_label = np.full(incidence.n_rows, n)
        np.minimum.at(row_label, rows, label[cols])
        new = label.copy()
        np.minimum.at(new, cols, row_label[rows])
        if np.array_equal(new, label):
            return label[cells]
        label = new


def attack(
    incidence: RowwiseMatrix,
    values: np.ndarray,
    x: np.ndarray,
    primary: np.ndarray,
    big_m: float,
    threshold: float,
) -> list[Exposure]:
    """Every primary cell left exposed by the pattern x, with its cut."""
    suppressed = np.flatnonzero(x > 0.5)
    labels = components(incidence, suppressed)
    row_of = np.repeat(np.arange(incidence.n_rows), np.diff(incidence.start))
    cuts = []
    for label in np.unique(labels[primary[suppressed]]):
        members = suppressed[labels == label]
        cuts.extend(_attack_component(incidence, row_of, values, x, members,
                                      primary, big_m, threshold))
    return cuts


def _attack_component(
    incidence: RowwiseMatrix,
    row_of: np.ndarray,
    values: np.ndarray,
    x: np.ndarray,
    members: np.ndarray,
    primary: np.ndarray,
    big_m: float,
    threshold: float,
) -> list[Exposure]:
    local = np.full(values.size, -1, dtype=np.int64)
    local[members] = np.arange(members.size)
    # Relations touching the component; published cells sit at deviation 0.
    touching = local[incidence.index] >= 0
    rows_used = np.unique(row_of[touching])
    row_local = np.full(incidence.n_rows, -1, dtype=np.int64)
    row_local[rows_used] = np.arange(rows_used.size)
    matrix = RowwiseMatrix.from_coo(
        row_local[row_of[touching]], local[incidence.index[touching]],
        incidence.value[touching], rows_used.size, members.size,
    )
    highs = new_highs()
    zeros = np.zeros(rows_used.size)
    pass_model(highs, matrix, np.zeros(members.size), -values[members],
               np.full(members.size, big_m), zeros, zeros)
    # Every LP solution is a table the attacker cannot rule out: a primary cell already
    # seen at two values at least `threshold` apart is protected, no LP of its own needed.
    seen_high = np.zeros(members.size)
    seen_low = np.zeros(members.size)
    targets = local[members[primary[members]]]

    def solve(cost: np.ndarray) -> None:
        highs.changeColsCost(members.size, np.arange(members.size), cost)
        highs.run()
        y = np.asarray(highs.getSolution().col_value)
        np.maximum(seen_high, y, out=seen_high)
        np.minimum(seen_low, y, out=seen_low)

    def protected(j: np.ndarray) -> np.ndarray:
        return integer_width(seen_low[j], seen_high[j]) >= threshold

    for _ in range(_BATCH_ROUNDS):
        open_ = targets[~protected(targets)]
        if open_.size <= 1:
            break
        for sense in (1.0, -1.0):  # push all open cells up together, then down
            cost = np.zeros(members.size)
            cost[open_] = -sense
            solve(cost)
    cuts = []
    for j in targets:
        if protected(np.array([j]))[0]:
            continue
        bounds = {}
        duals_by_sense = []
        for sense in (1.0, -1.0):
            cost = np.zeros(members.size)
            cost[j] = -sense  # HiGHS minimises
            solve(cost)
            bounds[sense] = -sense * highs.getInfo().objective_function_value
            duals = np.zeros(incidence.n_rows)
            duals[rows_used] = np.asarray(highs.getSolution().row_dual)
            duals_by_sense.append((sense, duals))
        width = float(integer_width(bounds[-1.0], bounds[1.0]))
        if width < threshold:
            p = members[j]
            lp_width = bounds[1.0] - bounds[-1.0]
            cuts.append(Exposure(int(p), width, sum(
                _bound_coefficients(incidence, row_of, duals, p, sense, values, x, big_m)
                for sense, duals in duals_by_sense
            ), threshold if lp_width < threshold - TOLERANCE else threshold + 1.0))
    return cuts


def _bound_coefficients(
    incidence: RowwiseMatrix,
    row_of: np.ndarray,
    duals: np.ndarray,
    p: int,
    sense: float,
    values: np.ndarray,
    x: np.ndarray,
    big_m: float,
) -> np.ndarray:
    """c with sense*y_p <= sum_i c_i x_i for every pattern x (any duals give a valid c).

    The duals' sign convention is the solver's; both signs give a valid c, the one tight
    at the current pattern (equal to the LP optimum) cuts it off.
    """
    nonzero = duals[row_of] != 0.0
    best: tuple[float, np.ndarray] | None = None
    for sign in (1.0, -1.0):
        at = np.bincount(
            incidence.index[nonzero],
            weights=incidence.value[nonzero] * sign * duals[row_of[nonzero]],
            minlength=values.size,
        )
        d = -at
        d[p] += sense
        c = big_m * np.maximum(d, 0.0) + values * np.maximum(-d, 0.0)
        bound = float(c @ x)
        if best is None or bound < best[0]:
            best = (bound, c)
    assert best is not None
    return best[1]
