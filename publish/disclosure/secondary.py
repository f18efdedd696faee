"""Secondary (complementary) suppression: a sound pattern fast, then an optimised one.

Choose which further cells to suppress so that no primary cell can be narrowed by an
attacker to an interval narrower than the threshold, losing as little as possible
(cost of a cell: its value + 1, i.e. persons hidden plus one for the cell).

1. Repair (repair.py): attack the pattern (attacker.py), open the cheapest path for
   every exposed primary cell, repeat. Monotone, so it always ends with a protecting
   pattern, in seconds.
2. Optimise: the integer program of Fischetti & Salazar-Gonzalez ("Models and
   algorithms for optimizing cell suppression in tabular data with linear
   constraints", JASA 2000) in Benders form, solved with HiGHS: binary x_i per
   releasable cell (primary and hidden cells fixed at 1), minimise cost'x subject to
   per-relation capacity rows and the cuts the attacker returns for exposed cells;
   solve, attack, add cuts, repeat, within `solver_time_limit`. The repaired pattern
   satisfies every cut, so it is the first incumbent; the cheapest pattern the attacker
   cannot break is kept.

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
from regmig.publish.disclosure.attacker import TOLERANCE, attack
from regmig.publish.disclosure.family import CellFamily
from regmig.publish.disclosure.lp import RowwiseMatrix, new_highs, pass_model
from regmig.publish.disclosure.repair import PathFinder


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
    """Primary cells plus the cheapest complementary cells found that protect them."""
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
    threshold = float(config.threshold)
    cuts: list[np.ndarray] = []
    best, rounds = _repair(incidence, values, fixed.astype(np.float64), primary, big_m,
                           threshold, cuts)
    optimal = False
    deadline = started + config.solver_time_limit
    if config.solver_time_limit > 0:
        improved, more_rounds, optimal = _optimise(
            incidence, values, fixed, released, primary, big_m, threshold, cuts, best,
            deadline, config.max_suppression_rounds)
        rounds += more_rounds
        if improved is not None and _cost(values, improved) < _cost(values, best):
            best = improved
    suppressed = (best > 0.5) & released
    return SuppressionResult(primary, suppressed, rounds, len(cuts),
                             time.perf_counter() - started, optimal)


def _cost(values: np.ndarray, x: np.ndarray) -> float:
    return float(((values + 1.0) * (x > 0.5)).sum())


def _repair(
    incidence: RowwiseMatrix, values: np.ndarray, x: np.ndarray, primary: np.ndarray,
    big_m: float, threshold: float, cuts: list[np.ndarray],
) -> tuple[np.ndarray, int]:
    """Grow x until the attacker exposes nothing; collect the attacker's cuts."""
    finder = PathFinder(incidence, values, big_m)
    rounds = 0
    while True:
        rounds += 1
        exposed = attack(incidence, values, x, primary, big_m, threshold)
        if not exposed:
            return x, rounds
        cuts.extend(e.cut for e in exposed)
        cells = np.array([e.cell for e in exposed], dtype=np.int64)
        grown = np.maximum(x, finder.open_paths(cells, x, threshold))
        if np.array_equal(grown, x):
            # Cannot happen with exact arithmetic; never loop: the audit will decide.
            return x, rounds
        x = grown


def _optimise(
    incidence: RowwiseMatrix, values: np.ndarray, fixed: np.ndarray, released: np.ndarray,
    primary: np.ndarray, big_m: float, threshold: float, cuts: list[np.ndarray],
    incumbent: np.ndarray, deadline: float, max_rounds: int,
) -> tuple[np.ndarray | None, int, bool]:
    """Benders loop; returns the best pattern the attacker could not break (or None)."""
    model = _MasterProblem(values, fixed, released)
    model.add_relation_rows(incidence, primary, values, big_m, threshold)
    for cut in cuts:
        model.add_cut(cut, threshold)
    for rounds in range(1, max_rounds + 1):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return None, rounds - 1, False
        x, optimal = model.solve(remaining, incumbent)
        exposed = attack(incidence, values, x, primary, big_m, threshold)
        if not exposed:
            return x, rounds, optimal
        for exposure in exposed:
            cuts.append(exposure.cut)
            model.add_cut(exposure.cut, threshold)
    return None, max_rounds, False


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
        if rhs <= TOLERANCE:
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

    def solve(self, time_limit: float, incumbent: np.ndarray) -> tuple[np.ndarray, bool]:
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
        # The repaired pattern satisfies every valid cut: a feasible start.
        start = highspy.HighsSolution()
        start.col_value = list(incumbent[self.free])
        start.value_valid = True
        highs.setSolution(start)
        highs.run()
        status = highs.getModelStatus()
        solution = np.asarray(highs.getSolution().col_value)
        if solution.size != self.free.size or status == highspy.HighsModelStatus.kInfeasible:
            x[self.free] = 1.0  # no incumbent: suppress every candidate (always protective)
            return x, False
        x[self.free] = np.round(solution)
        return x, status == highspy.HighsModelStatus.kOptimal
