"""A table family: the cells of several tables that share margins, and their relations.

Disclosure control must protect a cell against everything released, so tables that
share cells (the article 3 tables share their age x sex margins; the UN table 3.2
shares its citizen / foreign totals with migr_imm1ctz) are protected as ONE system:
a cell is identified by its population and its non-total codes, so the same cell in two
tables is one variable, and every additive relation of every table is one equation
`total - sum(parts) = 0` over those variables.

Cells that are part of a relation but never released are *hidden*: the questionnaire
cells I and J leave "citizens not naturalised" hidden; a persons table bounded by its
cases table adds a hidden slack `cases - persons >= 0`. An attacker knows hidden cells
only through the relations (and that they are non-negative).
"""

from __future__ import annotations

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
    )


def build_family(name: str, tables: Sequence[TableCells]) -> CellFamily:
    """Unify the cells of `tables` and collect every additive relation among them."""
    keyed = {t.spec.table_id: _keyed(t) for t in tables}
    stacked = pl.concat(
        [k.select("key", "value", "released", "table_id", "position") for k in keyed.values()]
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
        )
        .with_columns(pl.lit(True).alias("sensitive"))
    )
    cells = cells.with_row_index("cell_id").with_columns(pl.col("cell_id").cast(pl.Int64))
    ids = cells.select("key", "cell_id")
    members = stacked.join(ids, on="key").select("table_id", "position", "cell_id")

    relations: list[pl.DataFrame] = []
    for table in tables:
        with_ids = keyed[table.spec.table_id].join(ids, on="key")
        relations.extend(_table_relations(table.spec, with_ids))
    cells, slack_relations = _slack_for_bounds(tables, keyed, ids, cells)
    relations.extend(slack_relations)
    rel_row, rel_col, rel_coef = _dedupe_relations(relations)
    return CellFamily(name, cells, members, rel_row, rel_col, rel_coef)


def _table_relations(spec: TableSpec, with_ids: pl.DataFrame) -> list[pl.DataFrame]:
    """(total_id, part_id) pairs, one frame per dimension of the table."""
    out = []
    for dim in spec.dims:
        if not dim.additive or not dim.parents:
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
        out.append(parts.join(totals, on=[*others, "parent"]).select("total_id", "part_id"))
    return out


def _slack_for_bounds(
    tables: Sequence[TableCells],
    keyed: dict[str, pl.DataFrame],
    ids: pl.DataFrame,
    cells: pl.DataFrame,
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """persons <= cases, cell by cell: cases = persons + slack (hidden, not sensitive)."""
    relations = []
    for table in tables:
        bound = table.spec.bounded_by
        if bound is None or bound not in keyed:
            continue
        dims = table.spec.dim_names
        persons = keyed[table.spec.table_id].join(ids, on="key").select(
            *dims, pl.col("cell_id").alias("persons_id"), pl.col("value").alias("persons")
        )
        cases = keyed[bound].join(ids, on="key").select(
            *dims, pl.col("cell_id").alias("cases_id"), pl.col("value").alias("cases")
        )
        pairs = persons.join(cases, on=dims)
        start = cells.height
        slack = pairs.with_row_index("offset").select(
            (pl.col("offset").cast(pl.Int64) + start).alias("cell_id"),
            (pl.lit(f"slack|{bound}|") + pl.col("persons_id").cast(pl.Utf8)).alias("key"),
            (pl.col("cases") - pl.col("persons")).alias("value"),
            pl.lit(False).alias("released"),
            pl.lit(bound).alias("table_id"),
            pl.lit(False).alias("sensitive"),
        )
        cells = pl.concat([cells, slack.select(cells.columns)])
        parts = pl.concat([
            pairs.select(pl.col("cases_id").alias("total_id"), pl.col("persons_id").alias(
                "part_id")),
            pl.DataFrame({"total_id": pairs["cases_id"], "part_id": slack["cell_id"]}),
        ])
        relations.append(parts)
    return cells, relations


def _dedupe_relations(
    relations: list[pl.DataFrame],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COO arrays of `total - sum(parts) = 0`, each distinct equation once."""
    empty = np.zeros(0, dtype=np.int64)
    if not relations:
        return empty, empty, np.zeros(0)
    # Tables sharing a margin produce the same equation twice: keep it once.
    equations = []
    for frame in relations:
        eq = (
            frame.cast(pl.Int64)
            .group_by("total_id")
            .agg(pl.col("part_id").sort().alias("parts"))
        )
        equations.append(eq)
    eqs = (
        pl.concat(equations)
        .with_columns(pl.col("parts").cast(pl.List(pl.Utf8)).list.join(",").alias("sig"))
        .unique(subset=["total_id", "sig"])
        .sort("total_id", "sig")
        .with_row_index("row")
    )
    totals = eqs.select(pl.col("row").cast(pl.Int64), pl.col("total_id").alias("col"),
                        pl.lit(1.0).alias("coef"))
    parts = eqs.explode("parts").select(
        pl.col("row").cast(pl.Int64), pl.col("parts").alias("col"), pl.lit(-1.0).alias("coef")
    )
    coo = pl.concat([totals, parts]).sort("row", "col")
    return (
        coo["row"].to_numpy().astype(np.int64),
        coo["col"].to_numpy().astype(np.int64),
        coo["coef"].to_numpy().astype(np.float64),
    )
