"""Disclosure by the pattern alone, and the complements that prevent it.

An attacker who knows how suppression works (small cells are hidden; further cells are
hidden only to protect them) learns from the pattern itself. Take the suppressed cells
the relations link together (a component; hidden cells link too, and a suppressed cell
the release determines exactly counts as published). If every released suppressed cell
of a component is primary, the attacker who concludes so knows each is 1 .. threshold-1;
if they are all forced equal (the one acquisition whose path of 12 cells is all "c"),
the attacker concludes it for certain, whatever the linear program says.

Rule: every component holding a primary cell holds a *complement*, a released
suppressed cell that is not primary and not determined by the release (a suppressed
zero or a larger cell). `violations` finds the components that break it; `complete`
adds the cheapest complement each needs: a cell next to the component alone if that frees
it, else such a cell with the cheapest path that moves it (repair.PathFinder); only when
neither works are the component's tables suppressed whole.
"""

from __future__ import annotations

import numpy as np

from regmig.publish.disclosure.attacker import TOLERANCE, components
from regmig.publish.disclosure.lp import RowwiseMatrix, new_highs, pass_model
from regmig.publish.disclosure.repair import PathFinder

#: Candidate complements tried per component before its tables are suppressed whole.
_MAX_CANDIDATES = 12


def violations(incidence: RowwiseMatrix, values: np.ndarray, x: np.ndarray,
               primary: np.ndarray, released: np.ndarray, big_m: float) -> list[np.ndarray]:
    """Cells of each component of x that holds a primary cell but no complement."""
    unknown = np.flatnonzero(x > 0.5)
    labels = components(incidence, unknown)
    out = []
    for label in np.unique(labels[primary[unknown]]):
        members = unknown[labels == label]
        if not _has_complement(incidence, values, members, primary, released, big_m):
            out.append(members)
    return out


def _has_complement(incidence: RowwiseMatrix, values: np.ndarray, members: np.ndarray,
                    primary: np.ndarray, released: np.ndarray, big_m: float) -> bool:
    candidates = members[released[members] & ~primary[members]]
    # Larger cells first: they are the least likely to be pinned by the release.
    candidates = candidates[np.argsort(-values[candidates], kind="stable")]
    return any(_free(incidence, values, members, c, big_m) for c in candidates)


def _component_of(incidence: RowwiseMatrix, x: np.ndarray, cell: int) -> np.ndarray:
    unknown = np.flatnonzero(x > 0.5)
    labels = components(incidence, unknown)
    return unknown[labels == labels[np.searchsorted(unknown, cell)]]


def adjacent(incidence: RowwiseMatrix, cells: np.ndarray) -> np.ndarray:
    """Cells sharing a relation with any of `cells` (themselves excluded)."""
    row_of = np.repeat(np.arange(incidence.n_rows), np.diff(incidence.start))
    rows = np.unique(row_of[np.isin(incidence.index, cells)])
    near = np.unique(incidence.index[np.isin(row_of, rows)])
    return np.setdiff1d(near, cells)


def cut(incidence: RowwiseMatrix, members: np.ndarray, x: np.ndarray, primary: np.ndarray,
        released: np.ndarray) -> np.ndarray | None:
    """Coefficients c with ``c @ x >= 1`` for every pattern obeying the rule, violated by x.

    The cells always unknown (primary or hidden) of the component reach a complement
    only through a cell next to them, so one of those must be suppressed. Returns None
    when x already suppresses one (its complement is determined: no valid cut).
    """
    fixed = members[primary[members] | ~released[members]]
    near = adjacent(incidence, fixed)
    near = near[released[near] & ~primary[near]]
    if (x[near] > 0.5).any() or near.size == 0:
        return None
    c = np.zeros(x.size)
    c[near] = 1.0
    return c


def complete(incidence: RowwiseMatrix, values: np.ndarray, x: np.ndarray,
             primary: np.ndarray, released: np.ndarray, big_m: float,
             table_of: np.ndarray) -> tuple[np.ndarray, int]:
    """x with a complement added to every violating component (more suppression only).

    Candidates are the released cells next to the component, cheapest first (cost:
    value + 1, so zeros first); a candidate is kept if the component then obeys the rule.
    A zero next to a path is usually pinned by its other margin (a published 0), so when
    no candidate does alone, the cheapest candidate with a path freeing it is added
    (`_open_complement`). A component nothing fixes has every released cell of its
    tables suppressed (the table withheld in effect). Returns the pattern and the tables
    so withheld.
    """
    x = x.copy()
    withheld = 0
    finder: PathFinder | None = None
    while True:
        bad = violations(incidence, values, x, primary, released, big_m)
        if not bad:
            return x, withheld
        members = bad[0]
        near = adjacent(incidence, members)
        near = near[released[near] & (x[near] < 0.5)]
        near = near[np.argsort(values[near], kind="stable")][:_MAX_CANDIDATES]
        for cell in near:
            x[cell] = 1.0
            merged = _component_of(incidence, x, int(cell))
            if _free(incidence, values, merged, cell, big_m) and _has_complement(
                    incidence, values, merged, primary, released, big_m):
                break
            x[cell] = 0.0
        else:
            if finder is None:
                finder = PathFinder(incidence, values, big_m)
            if not _open_complement(finder, incidence, values, x, near, primary, released,
                                    big_m):
                tables = np.unique(table_of[members[released[members]]])
                x[np.isin(table_of, tables) & released] = 1.0
                withheld += tables.size


def _open_complement(finder: PathFinder, incidence: RowwiseMatrix, values: np.ndarray,
                     x: np.ndarray, near: np.ndarray, primary: np.ndarray,
                     released: np.ndarray, big_m: float) -> bool:
    """Suppress the cheapest of the candidates `near` together with a path that frees it
    (a deviation moving it by one unit, see PathFinder.free_cell), so that it is a
    complement of the component next to it; x is changed in place. False (x unchanged)
    when no candidate gets a complement that way."""
    priced = []
    for cell in near[~primary[near]]:
        support = finder.free_cell(int(cell), x)
        if support is not None:
            support[cell] = True
            priced.append((float((values[support] + 1.0).sum()), int(cell), support))
    for _, cell, support in sorted(priced, key=lambda p: (p[0], p[1])):
        before = x.copy()
        x[support] = 1.0
        merged = _component_of(incidence, x, cell)
        if _has_complement(incidence, values, merged, primary, released, big_m):
            return True
        x[:] = before
    return False


def _free(incidence: RowwiseMatrix, values: np.ndarray, members: np.ndarray, cell: int,
          big_m: float) -> bool:
    """True when the release does not determine the suppressed `cell` (it can move);
    `members` is the component of unknown cells holding it."""
    local = np.full(values.size, -1, dtype=np.int64)
    local[members] = np.arange(members.size)
    row_of = np.repeat(np.arange(incidence.n_rows), np.diff(incidence.start))
    touching = local[incidence.index] >= 0
    rows_used = np.unique(row_of[touching])
    if rows_used.size == 0:
        return True
    row_local = np.full(incidence.n_rows, -1, dtype=np.int64)
    row_local[rows_used] = np.arange(rows_used.size)
    matrix = RowwiseMatrix.from_coo(row_local[row_of[touching]], local[incidence.index[touching]],
                                    incidence.value[touching], rows_used.size, members.size)
    highs = new_highs()
    zeros = np.zeros(rows_used.size)
    pass_model(highs, matrix, np.zeros(members.size), -values[members],
               np.full(members.size, big_m), zeros, zeros)
    spread = 0.0
    for sense in (1.0, -1.0):
        cost = np.zeros(members.size)
        cost[local[cell]] = -sense
        highs.changeColsCost(members.size, np.arange(members.size), cost)
        highs.run()
        spread -= highs.getInfo().objective_function_value
    return spread > TOLERANCE
