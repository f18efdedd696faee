"""Secondary (complementary) suppression: a sound pattern fast, then an optimised one.

Choose which further cells to suppress so that no primary cell can be narrowed by an
attacker to an interval narrower than the threshold, losing as little as possible
(cost of a cell: its value + 1, i.e. persons hidden plus one for the cell).

1. Repair (repair.py): from the primary cells (or a start: for a family of tables,
   the union of each table's own optimal pattern), attack the pattern (attacker.py),
   open the cheapest path for every exposed primary cell, repeat. Monotone, so it
   always ends with a protecting pattern, in seconds.
2. Optimise: the integer program of Fischetti & Salazar-Gonzalez ("Models and
   algorithms for optimizing cell suppression in tabular data with linear
   constraints", JASA 2000) in Benders form, solved with HiGHS: binary x_i per
   releasable cell (primary and hidden cells fixed at 1), minimise cost'x subject to
   per-relation capacity rows and the cuts the attacker returns for exposed cells;
   solve, attack, add cuts, repeat, within `solver_time_limit`. The repaired pattern
   satisfies every cut, so it is the first incumbent; the cheapest pattern the attacker
   cannot break is kept. One master model lives through the rounds: each round adds
   its cuts and restarts from the incumbent (a warm start).
3. Pattern (pattern.py): a component of suppressed cells without a complement is
   disclosed by the pattern alone; the master gets a cut for it, and the final pattern
   gets the cheapest complement it still lacks.

Tables sharing margins are one family (see family.py), so the pattern is protected
across tables, not table by table. The audit (audit.py) re-checks the result
independently, with the attacker's true, unbounded model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np

from regmig.config import DisclosureConfig
from regmig.publish.disclosure import pattern
from regmig.publish.disclosure.attacker import TOLERANCE, Exposure, attack
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
    #: Tables suppressed whole because no complement fixed their pattern.
    withheld: int = 0

    @property
    def complementary(self) -> np.ndarray:
        return self.suppressed & ~self.primary


def suppress(
    family: CellFamily, primary: np.ndarray, config: DisclosureConfig,
    start: np.ndarray | None = None,
) -> SuppressionResult:
    """Primary cells plus the cheapest complementary cells found that protect them.

    `start` (cells to suppress from the outset, e.g. each table's own optimal pattern)
    is where the repair begins: it grows from there, and the optimiser starts from it.
    """
    started = time.perf_counter()
    released = family.released
    values = family.values
    fixed = primary | ~released
    if not primary.any():
        return SuppressionResult(primary, primary & released, 0, 0, 0.0, True)
    incidence = RowwiseMatrix.from_coo(
        family.rel_row, family.rel_col, family.rel_coef, family.n_relations, family.n_cells
    )
    big_m = float(values.max()) + config.protection_width
    threshold = float(config.protection_width)
    table_of = family.cells["table_id"].to_numpy()
    cuts: list[tuple[np.ndarray, float]] = []
    initial = fixed | (start & released if start is not None else False)
    repaired, rounds = _repair(incidence, values, initial.astype(np.float64), primary, big_m,
                               threshold, cuts)
    cuts.extend(_pattern_cuts(incidence, values, repaired, primary, released, big_m))
    best, withheld = pattern.complete(incidence, values, repaired, primary, released, big_m,
                                      table_of)
    optimal = False
    deadline = started + config.solver_time_limit

    def finish(x: np.ndarray, exposed: list[Exposure]) -> np.ndarray:
        grown, _ = _repair(incidence, values, x, primary, big_m, threshold, cuts, exposed)
        return pattern.complete(incidence, values, grown, primary, released, big_m,
                                table_of)[0]

    if config.solver_time_limit > 0:
        improved, more_rounds, optimal = _optimise(
            incidence, values, fixed, released, primary, big_m, threshold, cuts, best,
            deadline, config.max_suppression_rounds, config.solver_max_nodes, finish)
        rounds += more_rounds
        improved, more_withheld = pattern.complete(
            incidence, values, improved, primary, released, big_m, table_of)
        if _cost(values, improved) < _cost(values, best):
            best, withheld = improved, more_withheld
    suppressed = (best > 0.5) & released
    return SuppressionResult(primary, suppressed, rounds, len(cuts),
                             time.perf_counter() - started, optimal, withheld)


def _pattern_cuts(incidence: RowwiseMatrix, values: np.ndarray, x: np.ndarray,
                  primary: np.ndarray, released: np.ndarray, big_m: float
                  ) -> list[tuple[np.ndarray, float]]:
    """One cut per component of x that the pattern alone discloses (see pattern.cut)."""
    out = []
    for members in pattern.violations(incidence, values, x, primary, released, big_m):
        c = pattern.cut(incidence, members, x, primary, released)
        if c is not None:
            out.append((c, 1.0))
    return out


def _cost(values: np.ndarray, x: np.ndarray) -> float:
    return float(((values + 1.0) * (x > 0.5)).sum())


def _repair(
    incidence: RowwiseMatrix, values: np.ndarray, x: np.ndarray, primary: np.ndarray,
    big_m: float, threshold: float, cuts: list[tuple[np.ndarray, float]],
    exposed: list[Exposure] | None = None,
) -> tuple[np.ndarray, int]:
    """Grow x until the attacker exposes nothing; collect the attacker's cuts.

    `exposed`: the attack on x itself when the caller has made it already (the caller
    keeps its cuts), so that the same pattern is not attacked twice.
    """
    finder = PathFinder(incidence, values, big_m)
    rounds = 0
    while True:
        rounds += 1
        if exposed is None:
            exposed = attack(incidence, values, x, primary, big_m, threshold)
            cuts.extend((e.cut, e.need) for e in exposed)
        if not exposed:
            return x, rounds
        cells = np.array([e.cell for e in exposed], dtype=np.int64)
        grown = np.maximum(x, finder.open_paths(cells, x, threshold))
        if np.array_equal(grown, x):
            # Cannot happen with exact arithmetic; never loop: the audit will decide.
            return x, rounds
        x, exposed = grown, None


def _optimise(
    incidence: RowwiseMatrix, values: np.ndarray, fixed: np.ndarray, released: np.ndarray,
    primary: np.ndarray, big_m: float, threshold: float,
    cuts: list[tuple[np.ndarray, float]], incumbent: np.ndarray, deadline: float,
    max_rounds: int, max_nodes: int,
    finish: Callable[[np.ndarray, list[Exposure]], np.ndarray],
) -> tuple[np.ndarray, int, bool]:
    """Benders loop; returns the cheapest protecting pattern found (at worst the
    incumbent). A master solution the attacker breaks is repaired and completed
    (`finish`) into a protecting one, which may still beat the incumbent."""
    model = _MasterProblem(values, fixed, released, max_nodes)
    model.add_relation_rows(incidence, primary, values, big_m, threshold)
    for cut, need in cuts:
        model.add_cut(cut, need)
    best = incumbent
    for rounds in range(1, max_rounds + 1):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return best, rounds - 1, False
        x, optimal = model.solve(remaining, best)
        exposed = attack(incidence, values, x, primary, big_m, threshold)
        new = [(e.cut, e.need) for e in exposed]
        if not new:
            new = _pattern_cuts(incidence, values, x, primary, released, big_m)
            if not new:
                return (x, rounds, optimal) if _cost(values, x) <= _cost(values, best) \
                    else (best, rounds, False)
        repaired = finish(x, exposed)
        if _cost(values, repaired) < _cost(values, best):
            best = repaired
        for cut, need in new:
            cuts.append((cut, need))
            model.add_cut(cut, need)
    return best, max_rounds, False


class _MasterProblem:
    """min cost'x over the free cells, subject to the singleton rows and the cuts."""

    def __init__(self, values: np.ndarray, fixed: np.ndarray, released: np.ndarray,
                 max_nodes: int) -> None:
        self.max_nodes = max_nodes
        self.fixed = fixed
        self.released = released
        self.free = np.flatnonzero(~fixed & released)
        self.position = np.full(values.size, -1, dtype=np.int64)
        self.position[self.free] = np.arange(self.free.size)
        self.cost = values[self.free] + 1.0
        self.rows: list[tuple[np.ndarray, np.ndarray, float]] = []
        self.n_cells = values.size
        self.highs: highspy.Highs | None = None
        #: Rows already handed to the live model.
        self.passed = 0

    def add_relation_rows(self, incidence: RowwiseMatrix, primary: np.ndarray,
                          values: np.ndarray, big_m: float, threshold: float) -> None:
        """Per relation, what the other cells must absorb for each primary cell in it.

        In ``sum_i a_i t_i = 0``, raising a primary cell p by U = threshold - value_p
        takes cells with a_p's sign falling (at most their values) or cells of the other
        sign rising (at most M); lowering it by value_p the reverse. So
        ``sum_j cap_j x_j >= U`` (and likewise for value_p) over the other cells: both
        hold for every protecting pattern.
        """
        for r in range(incidence.n_rows):
            span = slice(incidence.start[r], incidence.start[r + 1])
            cols, coefs = incidence.index[span], incidence.value[span]
            for k in np.flatnonzero(primary[cols]):
                others = np.delete(np.arange(cols.size), k)
                same = np.sign(coefs[others]) == np.sign(coefs[k])
                falling = values[cols[others]]
                self._add_covering(cols[others], np.where(same, falling, big_m),
                                   threshold - values[cols[k]])
                self._add_covering(cols[others], np.where(same, big_m, falling),
                                   values[cols[k]])
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

    def add_cut(self, coefficients: np.ndarray, need: float) -> None:
        cells = np.flatnonzero(coefficients > 1e-9)
        self._add_covering(cells, coefficients[cells], float(need))

    def solve(self, time_limit: float, incumbent: np.ndarray) -> tuple[np.ndarray, bool]:
        """Solve the master with the rows added so far, from the incumbent."""
        x = self.fixed.astype(np.float64)
        if self.free.size == 0:
            return x, True
        if self.highs is None:
            self.highs = new_highs(time_limit)
            empty = RowwiseMatrix.from_coo(np.zeros(0, dtype=np.int64),
                                           np.zeros(0, dtype=np.int64), np.zeros(0), 0,
                                           self.free.size)
            pass_model(self.highs, empty, self.cost, np.zeros(self.free.size),
                       np.ones(self.free.size), np.zeros(0), np.zeros(0), integer=True)
        self._flush_rows()
        self.highs.setOptionValue("time_limit", float(max(time_limit, 1.0)))
        self.highs.setOptionValue("mip_max_nodes", int(self.max_nodes))
        # The incumbent (repaired pattern, or the best so far) satisfies every valid cut.
        start = highspy.HighsSolution()
        start.col_value = list(incumbent[self.free])
        start.value_valid = True
        self.highs.setSolution(start)
        self.highs.run()
        status = self.highs.getModelStatus()
        solution = np.asarray(self.highs.getSolution().col_value)
        if solution.size != self.free.size or status == highspy.HighsModelStatus.kInfeasible:
            x[self.free] = 1.0  # no incumbent: suppress every candidate (always protective)
            return x, False
        x[self.free] = np.round(solution)
        return x, status == highspy.HighsModelStatus.kOptimal

    def _flush_rows(self) -> None:
        """Hand the rows added since the last solve to the live model."""
        new = self.rows[self.passed:]
        self.passed = len(self.rows)
        if not new:
            return
        starts = np.cumsum([0] + [c.size for c, _, _ in new[:-1]]).astype(np.int32)
        index = np.concatenate([c for c, _, _ in new]).astype(np.int32)
        value = np.concatenate([v for _, v, _ in new]).astype(np.float64)
        lower = np.array([rhs for _, _, rhs in new], dtype=np.float64)
        self.highs.addRows(len(new), lower, np.full(len(new), highspy.kHighsInf),
                           index.size, starts, index, value)
