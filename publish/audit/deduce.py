"""What an attacker deduces from a published system: an interval per unknown cell.

Unknown cells (confidential or hidden) are the variables, >= 0, with every relation the
metadata states; shown cells are constants. An equation left with one unknown fixes it
(substituted, in turn, before any program). Relations link the other unknown cells into
components, and each component is one small linear program: min and max of every
unknown cell. Counts are integers, so bounds are rounded inwards; a component of at most
`integer_max_cells` unknowns is solved exactly over the integers (a mixed-integer
program), where the LP's hull could be wider than the integer points.

Two facts about the pattern come out too: a cell the release determines exactly
(derivable), and per component of the cells that are not derivable, whether its
confidential cells are forced equal (then they are all primary or all not, and since
complements exist only to protect primary cells, all primary).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import polars as pl

from regmig.errors import RegmigError
from regmig.publish.audit.release_files import PublishedSystem

#: Round-off allowed in the solver's bounds before rounding to integers.
_EPS = 1e-6
#: Joint programs (the cells not yet seen wide pushed up, then down) before single ones.
_BATCH_ROUNDS = 3


@dataclass
class Deduction:
    #: cell, key, table_id, state, lower, upper, component (-1: shown or derivable)
    cells: pl.DataFrame
    #: component, cells (unknown, not derivable), forced_equal
    components: pl.DataFrame


def deduce(system: PublishedSystem, integer_max_cells: int, width: int) -> Deduction:
    """Interval of every unknown cell: exact where it is narrower than `width` (or the
    cell small enough a component for the integer program); elsewhere the widest range
    seen among the tables the solver visited, which already shows width >= `width`."""
    cells = system.cells
    state = cells["state"].to_numpy()
    shown = np.nan_to_num(cells["shown"].to_numpy().astype(np.float64))
    if system.spread:   # rounded: every cell is unknown, within the spread of its value
        unknown = np.ones(state.size, dtype=bool)
        lower = np.where(state == "shown", np.maximum(shown - system.spread, 0.0), 0.0)
        upper = np.where(state == "shown", shown + system.spread, np.inf)
    else:
        unknown = state != "shown"
        lower = np.where(unknown, 0.0, shown)
        upper = np.where(unknown, np.inf, shown)
    determined = np.zeros(state.size, dtype=bool)
    if not system.spread:   # shown cells are exact constants: substitute
        determined, value = _substituted(system, unknown, shown)
        lower[determined] = upper[determined] = value[determined]
        shown = np.where(determined, value, shown)
    # Unknowns a rule introduces are judged only as derivable or not (a width of 1).
    needed = np.where(state == "relation", 1, width)
    solve = unknown & ~determined
    label = _components(system, solve)
    for comp in np.unique(label[solve]):
        members = np.flatnonzero(label == comp)
        lp = _ComponentProgram(system, members, solve, shown, lower, upper)
        lower[members], upper[members] = lp.intervals(needed[members],
                                                      members.size <= integer_max_cells)
    derivable = unknown & (upper - lower < 0.5)
    free = unknown & ~derivable
    known = np.where(derivable, lower, shown)
    label = _components(system, free)
    comp_rows = []
    for comp in np.unique(label[free]):
        members = np.flatnonzero(label == comp)
        confidential = members[state[members] == "confidential"]
        comp_rows.append((int(comp), members.tolist(),
                          _forced_equal(system, members, confidential, free, known,
                                        state)))
    out = cells.select("cell", "key", "table_id", "state").with_columns(
        pl.Series("lower", lower), pl.Series("upper", upper),
        pl.Series("component", np.where(free, label, -1)))
    components = pl.DataFrame(comp_rows, schema={"component": pl.Int64,
                                                 "cells": pl.List(pl.Int64),
                                                 "forced_equal": pl.Boolean}, orient="row")
    return Deduction(out, components)


def _substituted(system: PublishedSystem, unknown: np.ndarray, shown: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Unknown cells the release determines by substitution alone: an equation with one
    unknown left fixes it, and so on until none is left (a chain of age-reached shifts
    unwinds this way). Exact, so these cells need no linear program; the others' bounds
    do not change. Returns (determined, value of every cell known so far)."""
    value = np.where(unknown, 0.0, shown)
    determined = np.zeros(unknown.size, dtype=bool)
    in_equation = system.equality[system.row]
    n_rows = int(system.row.max()) + 1 if system.row.size else 0
    while True:
        open_ = unknown[system.col] & ~determined[system.col] & in_equation
        count = np.bincount(system.row[open_], minlength=n_rows)
        rest = np.bincount(system.row[~open_], minlength=n_rows,
                           weights=system.coef[~open_] * value[system.col[~open_]])
        single = open_ & (count[system.row] == 1)
        if not single.any():
            return determined, value
        cells, rows = system.col[single], system.row[single]
        solved = -rest[rows] / system.coef[single]
        if (solved < -_EPS).any():
            raise RegmigError("disclosure audit: the release's relations give a count "
                              "below zero; no release was written")
        value[cells] = np.where(np.abs(solved - np.round(solved)) < _EPS, np.round(solved),
                                solved)
        determined[cells] = True


def _components(system: PublishedSystem, variable: np.ndarray) -> np.ndarray:
    """Component label per cell (its own index for a constant cell)."""
    n = variable.size
    label = np.arange(n)
    keep = variable[system.col]
    rows, cols = system.row[keep], system.col[keep]
    if rows.size == 0:
        return label
    n_rows = int(system.row.max()) + 1
    while True:
        per_row = np.full(n_rows, n)
        np.minimum.at(per_row, rows, label[cols])
        new = label.copy()
        np.minimum.at(new, cols, per_row[rows])
        if np.array_equal(new, label):
            return label
        label = new


class _ComponentProgram:
    """The LP (or MIP) of one component: unknown cells as columns, relations as rows."""

    def __init__(self, system: PublishedSystem, members: np.ndarray, unknown: np.ndarray,
                 known: np.ndarray, lower: np.ndarray | None = None,
                 upper: np.ndarray | None = None) -> None:
        """`known`: the value of every cell outside `members` in the component's rows;
        `lower`, `upper`: what the release says of each cell (default: >= 0)."""
        self.size = members.size
        local = np.full(unknown.size, -1, dtype=np.int64)
        local[members] = np.arange(members.size)
        rows = np.unique(system.row[np.isin(system.col, members)])
        in_rows = np.isin(system.row, rows)
        r, c, v = system.row[in_rows], system.col[in_rows], system.coef[in_rows]
        row_local = np.searchsorted(rows, r)
        var = local[c] >= 0
        # Shown cells move to the right-hand side: sum(var) + constant (= or >=) 0.
        constant = np.bincount(row_local[~var], weights=v[~var] * known[c[~var]],
                               minlength=rows.size)
        eq = system.equality[rows]
        lp = highspy.HighsLp()
        lp.num_col_ = members.size
        lp.num_row_ = rows.size
        lp.col_cost_ = np.zeros(members.size)
        lp.col_lower_ = np.zeros(members.size) if lower is None else lower[members]
        lp.col_upper_ = (np.full(members.size, highspy.kHighsInf) if upper is None
                         else np.where(np.isinf(upper[members]), highspy.kHighsInf,
                                       upper[members]))
        lp.row_lower_ = -constant
        lp.row_upper_ = np.where(eq, -constant, highspy.kHighsInf)
        order = np.lexsort((local[c[var]], row_local[var]))
        starts = np.searchsorted(row_local[var][order], np.arange(rows.size + 1))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = starts.astype(np.int64)
        lp.a_matrix_.index_ = local[c[var]][order].astype(np.int64)
        lp.a_matrix_.value_ = v[var][order].astype(np.float64)
        self.lp = lp
        self.solver = self._solver(integer=False)
        self.mip: highspy.Highs | None = None

    def _solver(self, integer: bool) -> highspy.Highs:
        solver = highspy.Highs()
        solver.silent()
        solver.setOptionValue("threads", 1)
        if integer:
            self.lp.integrality_ = [highspy.HighsVarType.kInteger] * self.size
        solver.passModel(self.lp)
        return solver

    def optimum(self, cost: np.ndarray, integer: bool) -> float:
        """min cost'x (inf / -inf when unbounded)."""
        if integer and self.mip is None:
            self.mip = self._solver(integer=True)
        solver = self.mip if integer else self.solver
        solver.changeColsCost(self.size, np.arange(self.size), cost)
        solver.run()
        status = solver.getModelStatus()
        if status in (highspy.HighsModelStatus.kUnbounded,
                      highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return -np.inf
        if status != highspy.HighsModelStatus.kOptimal:
            raise RegmigError(f"disclosure audit: the solver could not bound a cell "
                              f"({solver.modelStatusToString(status)}); no release was "
                              "written")
        return solver.getInfo().objective_function_value

    def intervals(self, width: np.ndarray, integer: bool) -> tuple[np.ndarray, np.ndarray]:
        """Integer bounds of every column; exact where narrower than its `width`.

        Every solution the solver returns is a table the attacker cannot rule out, so
        the range of values seen so far is inside each cell's interval: a cell already
        seen `width` apart needs no program of its own. Before the single programs, the
        cells not yet seen wide are pushed up together and down together a few times.
        """
        seen_low = np.full(self.size, np.inf)
        seen_high = np.full(self.size, -np.inf)
        exact = np.zeros(self.size, dtype=bool)

        def visit(cost: np.ndarray, integer: bool) -> float:
            value = self.optimum(cost, integer)
            if np.isfinite(value):
                solver = self.mip if integer else self.solver
                x = np.asarray(solver.getSolution().col_value)
                np.minimum(seen_low, x, out=seen_low)
                np.maximum(seen_high, x, out=seen_high)
            return value

        def wide() -> np.ndarray:
            return np.floor(seen_high + _EPS) - np.ceil(seen_low - _EPS) >= width

        low, high = np.zeros(self.size), np.zeros(self.size)
        for sense in (1.0, -1.0):   # all cells down together, then up
            visit(np.full(self.size, sense), False)
        for _ in range(0 if integer else _BATCH_ROUNDS):
            open_ = ~wide()
            if open_.sum() <= 1:
                break
            for sense in (-1.0, 1.0):
                visit(np.where(open_, sense, 0.0), False)
        for j in range(self.size):
            if wide()[j] and not integer:
                continue
            cost = np.zeros(self.size)
            cost[j] = 1.0
            low[j] = np.ceil(visit(cost, integer) - _EPS)
            high[j] = np.floor(-visit(-cost, integer) + _EPS)
            exact[j] = True
        return (np.where(exact, low, np.ceil(seen_low - _EPS)),
                np.where(exact, high, np.floor(seen_high + _EPS)))


def _forced_equal(system: PublishedSystem, members: np.ndarray, confidential: np.ndarray,
                  free: np.ndarray, known: np.ndarray, state: np.ndarray) -> bool:
    """True when the component's confidential cells can take no two different values
    (a lone confidential cell with no hidden cell beside it counts)."""
    if confidential.size == 0:
        return False
    if confidential.size == 1:
        return not np.isin(state[members], ("hidden", "relation")).any()
    lp = _ComponentProgram(system, members, free, known)
    position = {cell: j for j, cell in enumerate(members)}
    first = position[int(confidential[0])]
    for cell in confidential[1:]:
        cost = np.zeros(members.size)
        cost[position[int(cell)]], cost[first] = 1.0, -1.0
        if abs(lp.optimum(cost, False)) > _EPS or abs(lp.optimum(-cost, False)) > _EPS:
            return False
    return True
