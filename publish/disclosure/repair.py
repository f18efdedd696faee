"""A fast protecting pattern: open a cheap path for every exposed primary cell.

For an exposed primary cell p, find the cheapest deviation of the table that keeps
every relation and moves p up by U = threshold - value_p, and another that moves it
down by L = value_p (to zero); suppress every published cell either deviation moves.
Cost of moving a published cell is its value + 1 per unit, suppressed cells move for
free, so paths reuse what is already suppressed. Both deviations stay feasible for the
attacker once their cells are suppressed, so p's interval holds [0, threshold] at least,
and suppressing more later never undoes it: the repair loop only grows the pattern and
always ends with every primary cell protected.

This is the linear-programming heuristic for cell suppression (Kelly, Golden and Assad,
"Cell suppression: disclosure protection for sensitive tabular data", Networks 1992).
secondary.py starts from its pattern and lets the integer program improve on it.
"""

from __future__ import annotations

import highspy
import numpy as np

from regmig.publish.disclosure.lp import RowwiseMatrix, new_highs, pass_model

_SUPPORT = 1e-7


class PathFinder:
    """One LP per family, re-solved for each exposed cell (only bounds and costs change).

    Columns: y_up (n), y_down (n), the deviation being y_up - y_down.
    """

    def __init__(self, incidence: RowwiseMatrix, values: np.ndarray, big_m: float) -> None:
        n = values.size
        self.n = n
        self.values = values
        self.cost = values + 1.0
        rows = np.repeat(np.arange(incidence.n_rows), np.diff(incidence.start))
        matrix = RowwiseMatrix.from_coo(
            np.concatenate([rows, rows]),
            np.concatenate([incidence.index, incidence.index + n]),
            np.concatenate([incidence.value, -incidence.value]),
            incidence.n_rows, 2 * n,
        )
        self.upper = np.concatenate([np.full(n, big_m), values])
        self.highs = new_highs()
        zeros = np.zeros(incidence.n_rows)
        pass_model(self.highs, matrix, np.concatenate([self.cost, self.cost]),
                   np.zeros(2 * n), self.upper, zeros, zeros)

    def open_paths(self, cells: np.ndarray, x: np.ndarray, threshold: float) -> np.ndarray:
        """Cells to suppress (beyond x) so that every cell in `cells` can move up by
        threshold - value and down by value.

        One joint deviation per direction moves all the cells together (any joint
        deviation is also one for each cell alone); if the cells' moves conflict, each
        cell gets its own.
        """
        self._price(x)
        needed = np.zeros(self.n, dtype=bool)
        up = threshold - self.values[cells]
        down = self.values[cells]
        for columns, amounts in ((cells, up), (cells + self.n, down)):
            keep = amounts > 0
            support = self._move(columns[keep], amounts[keep])
            if support is None:
                for column, amount in zip(columns[keep], amounts[keep], strict=True):
                    single = self._move(np.array([column]), np.array([amount]))
                    if single is None:
                        raise RuntimeError(f"no path protects cell {column % self.n}")
                    needed |= single
            else:
                needed |= support
        return needed & (x < 0.5)

    def free_cell(self, cell: int, x: np.ndarray) -> np.ndarray | None:
        """Cells to suppress (beyond x) so that the release no longer determines `cell`:
        the cheapest deviation moving it by one unit, up or (if it is not zero) down;
        None when no deviation moves it."""
        cost = self._price(x)
        best: tuple[float, np.ndarray] | None = None
        for column in (cell, cell + self.n)[: 2 if self.values[cell] > 0 else 1]:
            support = self._move(np.array([column]), np.array([1.0]))
            if support is None:
                continue
            price = float(cost[support].sum())
            if best is None or price < best[0]:
                best = (price, support)
        return None if best is None else best[1] & (x < 0.5)

    def _price(self, x: np.ndarray) -> np.ndarray:
        """Set each cell's cost for the pattern x (a cell suppressed already is free) and
        return it."""
        cost = np.where(x > 0.5, 0.0, self.cost)
        self.highs.changeColsCost(2 * self.n, np.arange(2 * self.n),
                                  np.concatenate([cost, cost]))
        return cost

    def _move(self, columns: np.ndarray, amounts: np.ndarray) -> np.ndarray | None:
        """Cheapest deviation with the given columns fixed at the amounts (and the
        opposite direction of those cells held at zero, so the net move is exact)."""
        if columns.size == 0:
            return np.zeros(self.n, dtype=bool)
        opposite = (columns + self.n) % (2 * self.n)
        both = np.concatenate([columns, opposite])
        self.highs.changeColsBounds(both.size, both,
                                    np.concatenate([amounts, np.zeros(columns.size)]),
                                    np.concatenate([amounts, np.zeros(columns.size)]))
        self.highs.run()
        status = self.highs.getModelStatus()
        y = np.asarray(self.highs.getSolution().col_value)
        self.highs.changeColsBounds(both.size, both, np.zeros(both.size), self.upper[both])
        if status != highspy.HighsModelStatus.kOptimal:
            return None
        return (y[: self.n] + y[self.n:]) > _SUPPORT
