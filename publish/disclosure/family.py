"""A table family: the cells of several tables that share margins, and their relations.

Disclosure control must protect a cell against everything released, so tables that
share cells (the article 3 tables share their age x sex margins; the UN table 3.2
shares its citizen / foreign totals with migr_imm1ctz) are protected as ONE system:
a cell is identified by its population and its non-total codes, so the same cell in two
tables is one variable, and every additive relation of every table is one equation
`total - sum(parts) = 0` over those variables.

Every relation a reader can derive from the metadata is in the system:
- sums: an additive dimension's total is the sum of its parts;
- bounds of a non-additive dimension (a persons table whose people can sit in two
  categories): each part <= total <= sum of the parts;
- bounds between tables (`TableSpec.all_bounds`): persons <= cases, immigrations of
  foreigners <= their recorded arrivals, ...
- age reached against completed age (`TableSpec.age_reached`, see cube.AgeReached):
  reached(code) = completed(code) - U(last) + U(first - 1) with U(a) <= the cells it
  leaves and enters; the U counts are a hidden table of their own (not sensitive: a
  reader holding both tables derives them from the cumulative sums).
An inequality `a >= b` becomes the equation `a - b - s = 0` with a *slack* s >= 0.

Cells that are part of a relation but never released are *hidden*: the questionnaire
cells I and J leave "citizens not naturalised" hidden; slacks are hidden too. An
attacker knows hidden cells only through the relations (and that they are non-negative).
Tables are in one family when they share cells (one population) or a bound links them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from regmig.publish.classifications import TOTAL_CODES
from regmig.publish.tables.cube import TableSpec


@dataclass(frozen=True)
class TableCells:
    """A tabulated table: its spec and its cells (dims..., value, released)."""

    spec: TableSpec
    cells: pl.DataFrame


@dataclass
class CellFamily:
    """Cells (one row per distinct cell) and relations (sparse: row, col, coef)."""

    name: str
    #: cell_id, key, value, released, sensitive, table_id (first table holding the cell)
    cells: pl.DataFrame
    #: table_id, position (row in the table's cells), cell_id
    members: pl.DataFrame
    rel_row: np.ndarray
    rel_col: np.ndarray
    rel_coef: np.ndarray

    @property
    def n_cells(self) -> int:
        return self.cells.height

    @property
    def n_relations(self) -> int:
        return int(self.rel_row.max()) + 1 if self.rel_row.size else 0

    @property
    def values(self) -> np.ndarray:
        return self.cells["value"].to_numpy().astype(np.float64)

    @property
    def released(self) -> np.ndarray:
        return self.cells["released"].to_numpy()

    @property
    def sensitive(self) -> np.ndarray:
        return self.cells["sensitive"].to_numpy()


def _keyed(table: TableCells) -> pl.DataFrame:
    spec = table.spec
    parts = []
    # Dims in name order: the same cell gets the same key in every table.
    for dim in sorted(spec.dims, key=lambda d: d.name):
        parts.append(
            pl.when(pl.col(dim.name).is_in(list(TOTAL_CODES)))
            .then(pl.lit(""))
            .otherwise(pl.lit(f"{dim.name}=") + pl.col(dim.name) + pl.lit(";"))
        )
    prefix = f"{spec.unit}|{spec.population}|"
    return table.cells.with_row_index("position").with_columns(
        (pl.lit(prefix) + pl.concat_str(parts)).alias("key"),
        pl.lit(spec.table_id).alias("table_id"),
        # The counts of a table kept only for a relation are not groups to protect.
        pl.lit(spec.published).alias("sensitive"),
    )


def drop_broken_bounds(tables: Sequence[TableCells]
                       ) -> tuple[list[TableCells], list[tuple[str, str]]]:
    """The tables with every between-table bound that the true counts break removed.

    Sums and persons <= cases hold by construction; a bound across populations (e.g.
    emigrations <= recorded departures) can fail where the estimate placed a crossing
    the border did not record. A bound that fails in any cell is neither stated nor
    used. Returns the tables and the (table, bound table) pairs dropped.
    """
    by_id = {t.spec.table_id: t for t in tables}
    dropped, out = [], []
    for table in tables:
        kept = []
        for bound in table.spec.bounds:
            other = by_id.get(bound.table)
            if other is None:
                continue
            cells = table.cells
            for dim, code in bound.where:
                cells = cells.filter(pl.col(dim) == code)
            pairs = cells.select(*bound.on, "value").join(
                other.cells.select(*bound.on, pl.col("value").alias("bound")),
                on=list(bound.on))
            if pairs.filter(pl.col("value") > pl.col("bound")).height:
                dropped.append((table.spec.table_id, bound.table))
            else:
                kept.append(bound)
        spec = dataclasses.replace(table.spec, bounds=tuple(kept))
        out.append(TableCells(spec, table.cells))
    return out, dropped


def families(tables: Sequence[TableCells]) -> dict[str, list[TableCells]]:
    """Tables grouped into families: one population, or linked by a bound.

    A family's name joins its populations ("emigrants+departures"); families share no
    cell and no relation, so each can be protected on its own (in parallel).
    """
    by_id = {t.spec.table_id: t for t in tables}
    parent = {t.spec.population: t.spec.population for t in tables}

    def root(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for table in tables:
        for bound in table.spec.all_bounds():
            if bound.table in by_id:
                parent[root(table.spec.population)] = root(by_id[bound.table].spec.population)
    groups: dict[str, list[TableCells]] = {}
    for table in tables:
        groups.setdefault(root(table.spec.population), []).append(table)
    return {"+".join(sorted({t.spec.population for t in group})): group
            for group in groups.values()}


def build_family(name: str, tables: Sequence[TableCells]) -> CellFamily:
    """Unify the cells of `tables` and collect every relation among them."""
    keyed = {t.spec.table_id: _keyed(t) for t in tables}
    stacked = pl.concat(
        [k.select("key", "value", "released", "table_id", "position", "sensitive")
         for k in keyed.values()]
    )
    conflicting = stacked.group_by("key").agg(pl.col("value").n_unique().alias("n")).filter(
        pl.col("n") > 1
    )
    if conflicting.height:
        raise ValueError(f"family {name}: shared cells disagree: {conflicting['key'][0]}")
    cells = (
        stacked.group_by("key", maintain_order=True)
        .agg(
            pl.col("value").first(),
            # A cell published by any table is released.
            pl.col("released").any(),
            pl.col("table_id").first(),
            pl.col("sensitive").any(),
        )
    )
    cells = cells.with_row_index("cell_id").with_columns(pl.col("cell_id").cast(pl.Int64))
    ids = cells.select("key", "cell_id")
    members = stacked.join(ids, on="key").select("table_id", "position", "cell_id")
    with_ids = {t: k.join(ids, on="key") for t, k in keyed.items()}

    equations: list[pl.DataFrame] = []
    inequalities: list[pl.DataFrame] = []
    for table in tables:
        sums, bounds = _table_relations(table.spec, with_ids[table.spec.table_id])
        equations.extend(sums)
        inequalities.extend(bounds)
        inequalities.extend(_bounds_between_tables(table.spec, with_ids))
        if table.spec.age_reached is not None:
            sums, bounds = _age_reached_relations(table.spec, with_ids)
            equations.extend(sums)
            inequalities.extend(bounds)
    cells, slack_equations = _slacks(cells, _dedupe(inequalities), name)
    stated = _dedupe(equations + [slack_equations])
    _check_equations(stated, cells, name)
    rel_row, rel_col, rel_coef = _to_coo(stated)
    return CellFamily(name, cells, members, rel_row, rel_col, rel_coef)


def _check_equations(equations: pl.DataFrame, cells: pl.DataFrame, name: str) -> None:
    """Every stated equation holds for the true counts (else no pattern could be
    audited against it: fail before protecting)."""
    residual = (equations.join(cells.select("cell_id", "value"), on="cell_id")
                .group_by("eq").agg((pl.col("coef") * pl.col("value")).sum().alias("r"))
                .filter(pl.col("r").abs() > 0.5))
    if residual.height:
        raise ValueError(f"family {name}: a stated relation does not hold: "
                         f"{residual.sort('eq')['eq'][0]}")


#: A relation as rows of (eq, cell_id, coef): sum coef * cell = 0, or >= 0 for a bound.
_RELATION_SCHEMA = {"eq": pl.Utf8, "cell_id": pl.Int64, "coef": pl.Float64}


def _terms(frame: pl.DataFrame, eq: pl.Expr, cell: str, coef: float) -> pl.DataFrame:
    return frame.select(eq.alias("eq"), pl.col(cell).cast(pl.Int64).alias("cell_id"),
                        pl.lit(coef).alias("coef"))


def _table_relations(spec: TableSpec, with_ids: pl.DataFrame
                     ) -> tuple[list[pl.DataFrame], list[pl.DataFrame]]:
    """Sums of additive dimensions (equations) and the bounds of non-additive ones."""
    sums, bounds = [], []
    for dim in spec.dims:
        if not dim.parents:
            continue
        others = [d for d in spec.dim_names if d != dim.name]
        mapping = pl.DataFrame(
            [(p, c) for p, kids in dim.parents for c in kids if p in dim.codes and c in dim.codes],
            schema={"parent": pl.Utf8, "child": pl.Utf8},
            orient="row",
        )
        parts = with_ids.join(mapping, left_on=dim.name, right_on="child").select(
            *others, "parent", pl.col("cell_id").alias("part_id")
        )
        totals = with_ids.select(
            *others, pl.col(dim.name).alias("parent"), pl.col("cell_id").alias("total_id")
        )
        pairs = parts.join(totals, on=[*others, "parent"]).select("total_id", "part_id")
        group = pl.lit(f"{spec.table_id}|{dim.name}|") + pl.col("total_id").cast(pl.Utf8)
        if dim.additive:   # total - sum(parts) = 0
            sums.append(pl.concat([_terms(pairs.unique("total_id"), group, "total_id", 1.0),
                                   _terms(pairs, group, "part_id", -1.0)]))
            continue
        # total - part >= 0 for each part; sum(parts) - total >= 0
        each = group + pl.lit("|") + pl.col("part_id").cast(pl.Utf8)
        bounds.append(pl.concat([_terms(pairs, each, "total_id", 1.0),
                                 _terms(pairs, each, "part_id", -1.0)]))
        bounds.append(pl.concat([_terms(pairs.unique("total_id"), group, "total_id", -1.0),
                                 _terms(pairs, group, "part_id", 1.0)]))
    return sums, bounds


def _bounds_between_tables(spec: TableSpec, with_ids: dict[str, pl.DataFrame]
                           ) -> list[pl.DataFrame]:
    """bound cell - cell >= 0 for each of the table's bounds (see cube.Bound)."""
    out = []
    for bound in spec.all_bounds():
        if bound.table not in with_ids:
            continue
        cells = with_ids[spec.table_id]
        for dim, code in bound.where:
            cells = cells.filter(pl.col(dim) == code)
        other = with_ids[bound.table]
        pairs = cells.select(*bound.on, pl.col("cell_id").alias("cell")).join(
            other.select(*bound.on, pl.col("cell_id").alias("bound")), on=list(bound.on))
        eq = pl.lit(f"{spec.table_id}<={bound.table}|") + pl.col("cell").cast(pl.Utf8)
        out.append(pl.concat([_terms(pairs, eq, "bound", 1.0),
                              _terms(pairs, eq, "cell", -1.0)]))
    return out


def _age_reached_relations(spec: TableSpec, with_ids: dict[str, pl.DataFrame]
                           ) -> tuple[list[pl.DataFrame], list[pl.DataFrame]]:
    """reached - completed + U(last) - U(first - 1) = 0 per cell by age reached;
    completed - U(last) >= 0 and reached - U(first - 1) >= 0 (see cube.AgeReached)."""
    rule = spec.age_reached
    assert rule is not None
    if rule.table not in with_ids or rule.shifts not in with_ids:
        return [], []   # the table alone (a warm start): no relation to state
    single = dict(rule.single_years)
    ranges = pl.DataFrame(
        [(code, single.get(last) if last is not None else None,
          single.get(first - 1) if first > 0 else None)
         for code, first, last in rule.ranges]
        + [(code, None, None) for code in rule.unchanged],
        schema={"code": pl.Utf8, "out": pl.Utf8, "in": pl.Utf8}, orient="row")
    others = [d for d in spec.dim_names if d != rule.reached]
    shifts = with_ids[rule.shifts].select(*others, pl.col(rule.shifts_dim).alias("up"),
                                          pl.col("cell_id").alias("u"))
    cells = (
        with_ids[spec.table_id].select(*others, pl.col(rule.reached).alias("code"),
                                       pl.col("cell_id").alias("reached"))
        .join(ranges, on="code")
        .join(with_ids[rule.table].select(*others, pl.col(rule.completed).alias("code"),
                                          pl.col("cell_id").alias("completed")),
              on=[*others, "code"])
        .join(shifts.rename({"up": "out", "u": "u_out"}), on=[*others, "out"], how="left")
        .join(shifts.rename({"up": "in", "u": "u_in"}), on=[*others, "in"], how="left")
    )
    eq = pl.lit(f"{spec.table_id}|reached|") + pl.col("reached").cast(pl.Utf8)
    leaving, entering = cells.filter(pl.col("u_out").is_not_null()), cells.filter(
        pl.col("u_in").is_not_null())
    sums = [_terms(cells, eq, "reached", 1.0), _terms(cells, eq, "completed", -1.0),
            _terms(leaving, eq, "u_out", 1.0), _terms(entering, eq, "u_in", -1.0)]
    bounds = [_terms(leaving, eq + pl.lit("|out"), "completed", 1.0),
              _terms(leaving, eq + pl.lit("|out"), "u_out", -1.0),
              _terms(entering, eq + pl.lit("|in"), "reached", 1.0),
              _terms(entering, eq + pl.lit("|in"), "u_in", -1.0)]
    return [pl.concat(sums)], [pl.concat(bounds)]


def _dedupe(relations: list[pl.DataFrame]) -> pl.DataFrame:
    """Each distinct relation once (tables sharing a margin state it twice)."""
    if not relations:
        return pl.DataFrame(schema=_RELATION_SCHEMA)
    terms = pl.concat([r.cast(_RELATION_SCHEMA) for r in relations]).unique()
    signature = terms.sort("cell_id").group_by("eq").agg(
        pl.concat_str(pl.col("cell_id").cast(pl.Utf8), pl.lit(":"),
                      pl.col("coef").cast(pl.Utf8)).str.join(",").alias("sig"))
    first = signature.sort("eq").unique("sig", keep="first").select("eq")
    return terms.join(first, on="eq").sort("eq", "cell_id")


def _slacks(cells: pl.DataFrame, bounds: pl.DataFrame, name: str
            ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A hidden slack s >= 0 per bound `sum coef * cell >= 0`: sum coef * cell - s = 0."""
    if bounds.height == 0:
        return cells, pl.DataFrame(schema=_RELATION_SCHEMA)
    values = cells.select("cell_id", "value")
    gap = (bounds.join(values, on="cell_id").group_by("eq", maintain_order=True)
           .agg((pl.col("coef") * pl.col("value")).sum().alias("value"))
           .sort("eq"))
    broken = gap.filter(pl.col("value") < 0)
    if broken.height:
        raise ValueError(f"family {name}: a stated bound does not hold: {broken['eq'][0]}")
    start = cells.height
    slack = gap.with_row_index("offset").select(
        (pl.col("offset").cast(pl.Int64) + start).alias("cell_id"),
        (pl.lit("slack|") + pl.col("eq")).alias("key"),
        pl.col("value").cast(cells.schema["value"]),
        pl.lit(False).alias("released"),
        pl.lit("").alias("table_id"),
        pl.lit(False).alias("sensitive"),
        pl.col("eq"),
    )
    cells = pl.concat([cells, slack.select(cells.columns)])
    equations = pl.concat([bounds, slack.select("eq", "cell_id", pl.lit(-1.0).alias("coef"))])
    return cells, equations


def _to_coo(equations: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COO arrays (row, col, coef) of the equations `sum coef * cell = 0`."""
    rows = equations.select("eq").unique().sort("eq").with_row_index("row")
    coo = equations.join(rows, on="eq").sort("row", "cell_id")
    return (
        coo["row"].to_numpy().astype(np.int64),
        coo["cell_id"].to_numpy().astype(np.int64),
        coo["coef"].to_numpy().astype(np.float64),
    )
