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
#: Joint LPs (all unprotected primary cells pushed up, then down) before single ones.
_BATCH_ROUNDS = 3


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
    model.add_relation_rows(incidence, primary, values, big_m, config.threshold)
    rounds = cuts = 0
    optimal = True
    while True:
        rounds += 1
        remaining = config.solver_time_limit - (time.perf_counter() - started)
        t0 = time.perf_counter()
        x, round_optimal = model.solve(remaining)
        t1 = time.perf_counter()
        optimal &= round_optimal
        exposed = _attack(incidence, values, x, primary, big_m, config.threshold)
        import os
        if os.environ.get("REGMIG_DEBUG"):
            print("round", rounds, "mip", round(t1 - t0, 2), round_optimal, "attack",
                  round(time.perf_counter() - t1, 2), "supp", int(x.sum()), "exposed",
                  len(exposed), flush=True)
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
        self.released = released
        self.free = np.flatnonzero(~fixed & released)
        self.position = np.full(values.size, -1, dtype=np.int64)
        self.position[self.free] = np.arange(self.free.size)
        self.cost = values[self.free] + 1.0
        self.rows: list[tuple[np.ndarray, np.ndarray, float]] = []
        self.n_cells = values.size

    def add_relation_rows(self, incidence: RowwiseMatrix, primary: np.ndarray,
                          values: np.ndarray, big_m: float, threshold: float) -> None:
        """Per relation, what the other cells must absorb for each primary cell in it.

        A primary part p can rise only as far as suppressed siblings can fall (their
        values) or the suppressed total can rise (M), and fall at most to 0: so
        ``sum_siblings value_j x_j + M x_total >= threshold - value_p``. A primary total
        needs at least one suppressed part. Both hold for every protecting pattern.
        """
        for r in range(incidence.n_rows):
            span = slice(incidence.start[r], incidence.start[r + 1])
            cols, coefs = incidence.index[span], incidence.value[span]
            for k in np.flatnonzero(primary[cols]):
                p, others = cols[k], np.delete(np.arange(cols.size), k)
                if coefs[k] > 0:  # p is the total: capacities of the parts
                    capacity = np.full(others.size, threshold, dtype=np.float64)
                    need = 1.0 * threshold
                else:
                    capacity = np.where(coefs[others] > 0, big_m, values[cols[others]])
                    need = threshold - values[p]
                self._add_covering(cols[others], capacity, need)
            self._add_partner_rows(cols)

    def _add_partner_rows(self, cols: np.ndarray) -> None:
        """A complementary cell alone among the suppressed cells of a relation is
        derivable, so it protects nothing: an optimal pattern never has one. Saying so
        (``sum_{j != i} x_j >= x_i``) keeps the solver from trading a cut for a useless
        cheap cell (a lone zero)."""
        if (self.fixed[cols] & self.released[cols]).any() or self.hidden_in(cols):
            return  # another cell of the relation is suppressed for good
        free = self.position[cols]
        if (free < 0).any():
            return
        for k in range(free.size):
            coef = np.ones(free.size)
            coef[k] = -1.0
            self.rows.append((free, coef, 0.0))

    def hidden_in(self, cols: np.ndarray) -> bool:
        return bool((~self.released[cols]).any())

    def _add_covering(self, cells: np.ndarray, coef: np.ndarray, rhs: float) -> None:
        """sum coef_i x_i >= rhs over cells, fixed cells moved to the right-hand side."""
        fixed = self.fixed[cells]
        rhs -= float(coef[fixed].sum())
        if rhs <= _TOLERANCE:
            return
        free = self.position[cells[~fixed]]
        keep = free >= 0
        # Coefficient tightening: with binaries, no coefficient need exceed the rhs.
        coef = np.minimum(coef[~fixed][keep], rhs)
        free = free[keep]
        positive = coef > 1e-9
        self.rows.append((free[positive], coef[positive], rhs))

    def add_cut(self, coefficients: np.ndarray, threshold: float) -> None:
        cells = np.flatnonzero(coefficients > 1e-9)
        self._add_covering(cells, coefficients[cells], float(threshold))

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
        import os
        if os.environ.get("REGMIG_DEBUG"):
            xf = x[self.free]
            bad = [(i, float(v @ xf[c]), r) for i, (c, v, r) in enumerate(self.rows)
                   if v @ xf[c] < r - 1e-6]
            print("  violated rows", len(bad), bad[:3], "of", len(self.rows),
                  highs.modelStatusToString(status))
        return x, status == highspy.HighsModelStatus.kOptimal

    def cut_cells(self) -> np.ndarray:
        x = np.zeros(self.n_cells)
        for cols, _, _ in self.rows:
            x[self.free[cols]] = 1.0
        return x


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
) -> list[np.ndarray]:
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

    for _ in range(_BATCH_ROUNDS):
        open_ = targets[seen_high[targets] - seen_low[targets] < threshold - _TOLERANCE]
        if open_.size <= 1:
            break
        for sense in (1.0, -1.0):  # push all open cells up together, then down
            cost = np.zeros(members.size)
            cost[open_] = -sense
            solve(cost)
    cuts = []
    for j in targets:
        if seen_high[j] - seen_low[j] >= threshold - _TOLERANCE:
            continue
        width = 0.0
        duals_by_sense = []
        for sense in (1.0, -1.0):
            cost = np.zeros(members.size)
            cost[j] = -sense  # HiGHS minimises
            solve(cost)
            width -= highs.getInfo().objective_function_value
            duals = np.zeros(incidence.n_rows)
            duals[rows_used] = np.asarray(highs.getSolution().row_dual)
            duals_by_sense.append((sense, duals))
        if width < threshold - _TOLERANCE:
            p = members[j]
            cut = sum(
                _bound_coefficients(incidence, row_of, duals, p, sense, values, x, big_m)
                for sense, duals in duals_by_sense
            )
            import os
            if os.environ.get("REGMIG_DEBUG"):
                print("  exposed", p, values[p], "width", width, "cut@x", float(cut @ x))
            cuts.append(cut)
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
