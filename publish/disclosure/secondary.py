"""Secondary (complementary) suppression: an integer program solved with HiGHS.

Choose which further cells to suppress so that no primary cell can be narrowed by an
attacker to an interval narrower than the threshold, losing as little as possible.

The model (Fischetti & Salazar-González, "Models and algorithms for optimizing cell
suppression in tabular data with linear constraints", JASA 2000, in Benders form):

* one binary x_i per releasable cell (1 = suppress), cost value_i + 1 (persons lost plus
  one for the cell itself); primary and hidden cells are fixed at 1;
* the attacker's freedom is a deviation y from the true table that keeps every relation
  (A y = 0) and moves only suppressed cells: -value_i x_i <= y_i <= M x_i;
* a primary cell p is protected when max y_p - min y_p >= threshold.

By LP duality, for ANY multipliers l and m of the relations,
``max y_p - min y_p <= sum_i x_i (M (d_i+ + f_i+) + value_i (d_i- + f_i-))`` with
``d = e_p - A'l`` and ``f = -e_p - A'm``. So ``sum_i c_i x_i >= threshold`` is valid for
every protecting pattern, and with the optimal duals of the attacker's LP at the current
pattern it cuts that pattern off when p is exposed. We start from the classic necessary
condition (a primary cell never alone among suppressed cells of a relation), solve, attack
every primary cell, add a cut per exposed one, and repeat until none is exposed.

Tables sharing margins are one family (see family.py), so the pattern is protected
across tables, not table by table. The audit (audit.py) re-checks the result
independently, with the attacker's true, unbounded model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
from regmig.config import DisclosureConfig
from regmig.publish.disclosure.family import CellFamily
from regmig.publish.disclosure.lp import RowwiseMatrix, new_highs, pass_model

#: Protection is checked with this slack so that solver round-off never passes a cell.
_TOLERANCE = 1e-6


@dataclass
class SuppressionResult:
    """Per cell of the family: primary, suppressed (primary or complementary)."""

    primary: np.ndarray
    suppressed: np.ndarray
    rounds: int
    cuts: int
    seconds: float
    optimal: bool

    @property
    def complementary(self) -> np.ndarray:
        return self.suppressed & ~self.primary


def suppress(
    family: CellFamily, primary: np.ndarray, config: DisclosureConfig
) -> SuppressionResult:
    """Primary cells plus the cheapest complementary cells that protect them."""
    started = time.perf_counter()
    released = family.released
    values = family.values
    fixed = primary | ~released
    if not primary.any():
        return SuppressionResult(primary, primary & released, 0, 0, 0.0, True)
    incidence = RowwiseMatrix.from_coo(
        family.rel_row, family.rel_col, family.rel_coef, family.n_relations, family.n_cells
    )
    big_m = float(values.max()) + config.threshold
    model = _MasterProblem(values, fixed, released)
    model.add_singleton_rows(incidence, primary)
    rounds = cuts = 0
    optimal = True
    while True:
        rounds += 1
        remaining = config.solver_time_limit - (time.perf_counter() - started)
        x, round_optimal = model.solve(remaining)
        optimal &= round_optimal
        exposed = _attack(incidence, values, x, primary, big_m, config.threshold)
        if not exposed:
            break
        for coefficients in exposed:
            model.add_cut(coefficients, config.threshold)
        cuts += len(exposed)
        if rounds >= config.max_suppression_rounds or remaining <= 0:
            # Out of budget: also suppress every cell a cut points at; the audit decides.
            x = np.maximum(x, model.cut_cells())
            optimal = False
            break
    suppressed = (x > 0.5) & released
    return SuppressionResult(
        primary, suppressed | (primary & released), rounds, cuts,
        time.perf_counter() - started, optimal,
    )


class _MasterProblem:
    """min cost'x over the free cells, subject to the singleton rows and the cuts."""

    def __init__(self, values: np.ndarray, fixed: np.ndarray, released: np.ndarray) -> None:
        self.fixed = fixed
        self.free = np.flatnonzero(~fixed & released)
        self.position = np.full(values.size, -1, dtype=np.int64)
        self.position[self.free] = np.arange(self.free.size)
        self.cost = values[self.free] + 1.0
        self.rows: list[tuple[np.ndarray, np.ndarray, float]] = []
        self.n_cells = values.size

    def add_singleton_rows(self, incidence: RowwiseMatrix, primary: np.ndarray) -> None:
        """Each relation holding a primary cell needs another suppressed cell in it."""
        for r in range(incidence.n_rows):
            cols = incidence.index[incidence.start[r]:incidence.start[r + 1]]
            hit = cols[primary[cols]]
            if hit.size == 0:
                continue
            if hit.size > 1 or (self.fixed[cols] & ~primary[cols]).any():
                continue  # already another suppressed (primary or hidden) cell
            free = self.position[cols]
            free = free[free >= 0]
            if free.size:
                self.rows.append((free, np.ones(free.size), 1.0))

    def add_cut(self, coefficients: np.ndarray, threshold: float) -> None:
        rhs = threshold - float(coefficients[self.fixed].sum())
        free = self.position[self.free]
        coef = coefficients[self.free]
        keep = coef > 1e-9
        self.rows.append((free[keep], coef[keep], rhs))

    def solve(self, time_limit: float) -> tuple[np.ndarray, bool]:
        x = self.fixed.astype(np.float64)
        if self.free.size == 0:
            return x, True
        rows = np.concatenate([np.full(c.size, i) for i, (c, _, _) in enumerate(self.rows)]) \
            if self.rows else np.zeros(0, dtype=np.int64)
        cols = np.concatenate([c for c, _, _ in self.rows]) if self.rows else rows
        vals = np.concatenate([v for _, v, _ in self.rows]) if self.rows else np.zeros(0)
        matrix = RowwiseMatrix.from_coo(rows, cols, vals, len(self.rows), self.free.size)
        highs = new_highs(time_limit)
        pass_model(
            highs, matrix, self.cost, np.zeros(self.free.size), np.ones(self.free.size),
            np.array([rhs for _, _, rhs in self.rows]), np.full(len(self.rows), highspy.kHighsInf),
            integer=True,
        )
        highs.run()
        status = highs.getModelStatus()
        solution = np.asarray(highs.getSolution().col_value)
        if solution.size != self.free.size or status == highspy.HighsModelStatus.kInfeasible:
            x[self.free] = 1.0  # no incumbent: suppress every candidate (always protective)
            return x, False
        x[self.free] = np.round(solution)
        return x, status == highspy.HighsModelStatus.kOptimal

    def cut_cells(self) -> np.ndarray:
        x = np.zeros(self.n_cells)
        for cols, _, _ in self.rows:
            x[self.free[cols]] = 1.0
        return x


def _attack(
    incidence: RowwiseMatrix,
    values: np.ndarray,
    x: np.ndarray,
    primary: np.ndarray,
    big_m: float,
    threshold: float,
) -> list[np.ndarray]:
    """A cut (coefficients over all cells) for every primary cell left exposed by x."""
    suppressed = np.flatnonzero(x > 0.5)
    local = np.full(values.size, -1, dtype=np.int64)
    local[suppressed] = np.arange(suppressed.size)
    # Relations touching suppressed cells; published cells sit at deviation 0.
    row_of = np.repeat(np.arange(incidence.n_rows), np.diff(incidence.start))
    touching = local[incidence.index] >= 0
    rows_used = np.unique(row_of[touching])
    row_local = np.full(incidence.n_rows, -1, dtype=np.int64)
    row_local[rows_used] = np.arange(rows_used.size)
    keep = touching & (row_local[row_of] >= 0)
    matrix = RowwiseMatrix.from_coo(
        row_local[row_of[keep]], local[incidence.index[keep]], incidence.value[keep],
        rows_used.size, suppressed.size,
    )
    highs = new_highs()
    zeros = np.zeros(rows_used.size)
    pass_model(
        highs, matrix, np.zeros(suppressed.size), -values[suppressed],
        np.full(suppressed.size, big_m), zeros, zeros,
    )
    cuts = []
    for p in np.flatnonzero(primary):
        j = local[p]
        width = 0.0
        duals_by_sense = []
        for sense in (1.0, -1.0):
            highs.changeColsCost(1, np.array([j]), np.array([-sense]))  # HiGHS minimises
            highs.run()
            width -= highs.getInfo().objective_function_value
            duals = np.zeros(incidence.n_rows)
            duals[rows_used] = np.asarray(highs.getSolution().row_dual)
            duals_by_sense.append((sense, duals))
            highs.changeColsCost(1, np.array([j]), np.array([0.0]))
        if width < threshold - _TOLERANCE:
            cuts.append(sum(
                _bound_coefficients(incidence, row_of, duals, p, sense, values, x, big_m)
                for sense, duals in duals_by_sense
            ))
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
