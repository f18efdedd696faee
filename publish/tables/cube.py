"""Publication tables as cubes: dimensions with additive hierarchies, tabulated by the
run's SQL engine (DuckDB or Spark).

A table is the cross-product of its dimensions' codes. A dimension's code list holds
leaves and aggregates (TOTAL, FOR = all foreign countries, ...); `parents` says which
aggregate is the sum of which codes. The same dimension name means the same codes in
every table, so tables of one population share their margins cell for cell (e.g. the
age x sex margin of migr_imm1ctz IS migr_imm8): disclosure control relies on that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from regmig.warehouse.sql_engines import SqlEngine

Unit = Literal["persons", "cases"]


@dataclass(frozen=True)
class Dimension:
    """One breakdown of a table.

    `leaf_of` maps a value of the population's column (e.g. a country code) to the leaf
    code it counts under in this view; None means identity.
    """

    name: str
    codes: tuple[str, ...]
    parents: tuple[tuple[str, tuple[str, ...]], ...]
    additive: bool = True
    leaf_of: Mapping[str, str] | None = None
    label: str = ""
    #: The population's column holding the dimension's leaf codes (default: `name`).
    column: str = ""

    @property
    def source(self) -> str:
        return self.column or self.name

    def ancestors(self, leaf: str) -> list[str]:
        """The leaf and every aggregate it counts in (walking up `parents`)."""
        out, frontier = [leaf], [leaf]
        while frontier:
            code = frontier.pop()
            for parent, children in self.parents:
                if code in children and parent not in out:
                    out.append(parent)
                    frontier.append(parent)
        return out


@dataclass(frozen=True)
class Bound:
    """A relation between two tables that follows from their definitions: every cell of
    this table with the codes `where` is at most the cell of `table` that has the same
    codes in the dimensions `on` (and that table's total codes elsewhere).

    Example: immigrations of foreigners by citizenship and sex (age TOTAL) are at most
    the recorded arrivals of foreigners by citizenship and sex, in cases.
    """

    table: str
    on: tuple[str, ...]
    where: tuple[tuple[str, str], ...] = ()
    #: Why it holds, in words (footnoted in the metadata).
    reason: str = ""


@dataclass(frozen=True)
class AgeReached:
    """Age reached during the year against age in completed years (Eurostat's AGEDEF
    REACH and COMPLET): this table counts the units of `table` by the age they reach in
    the year (dimension `reached`) where `table` counts them by completed age
    (`completed`), the other dimensions alike. A unit's age reached is its completed age
    or one more (when its birthday falls after the event).

    So, for an age code spanning the single years [first, last] (`last` None: open) and
    U(a) the units of completed age a that reach a + 1 (hidden counts, `shifts` the
    hidden table holding them by the table's other dimensions):
    ``reached(code) = completed(code) - U(last) + U(first - 1)``,
    ``U(last) <= completed(code)`` and ``U(first - 1) <= reached(code)``;
    the codes in `unchanged` (UNK) count the same units in both.
    """

    table: str
    completed: str
    reached: str
    #: (code, first age, last age or None when the code is open-ended)
    ranges: tuple[tuple[str, int, int | None], ...]
    unchanged: tuple[str, ...]
    #: Hidden table of U by the single year a (dimension `shifts_dim`) and the others.
    shifts: str
    shifts_dim: str
    #: Code of each single year a (U(a) is keyed by it).
    single_years: tuple[tuple[int, str], ...]
    reason: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A publication table: which population, counted how, broken down by what."""

    table_id: str
    title: str
    #: Name of the population (a relation built by tables/populations.py).
    population: str
    unit: Unit
    dims: tuple[Dimension, ...]
    #: Column of the population identifying a unit (persons: person_id; cases: record).
    unit_column: str = "unit_id"
    #: Cells of the cube that are not published (kept for the additive relations).
    released: Callable[[], pl.Expr] | None = None
    #: For a persons table: the cases table with the same dims (persons <= cases).
    bounded_by: str | None = None
    #: Further bounds by other tables (see Bound); bounded_by is one on every dim.
    bounds: tuple[Bound, ...] = ()
    #: Layout letters of the questionnaire, cell (dims...) -> letter.
    letters: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    #: The standard the table answers (questionnaire table, regulation article ...).
    standard: str = ""
    #: What exactly is counted.
    definition: str = ""
    footnotes: tuple[str, ...] = ()
    #: For a table by age reached: how it relates to the table by completed age.
    age_reached: AgeReached | None = None
    #: False for a table of hidden counts kept only for a relation (never released).
    published: bool = True

    @property
    def dim_names(self) -> list[str]:
        return [d.name for d in self.dims]

    def all_bounds(self) -> tuple[Bound, ...]:
        """Every bound of the table, persons <= cases included."""
        if self.bounded_by is None:
            return self.bounds
        return (Bound(self.bounded_by, tuple(self.dim_names),
                      reason="a person is counted once however many cases they have"),
                *self.bounds)


def tabulate(sql: SqlEngine, spec: TableSpec) -> pl.DataFrame:
    """Every cell of the cube (zeros included): dims..., value, released."""
    selects, joins = [], []
    # One query for the values of every dimension: on Spark each query is a job.
    sources = list(dict.fromkeys(d.source for d in spec.dims))
    combinations = sql.query(f"SELECT DISTINCT {', '.join(sources)} FROM {spec.population}")
    for i, dim in enumerate(spec.dims):
        observed = combinations[dim.source].unique().to_list()
        rollup = [
            (value, code)
            for value in observed
            for code in dim.ancestors((dim.leaf_of or {}).get(value, value))
            if code in dim.codes
        ]
        map_name = f"_rollup_{i}"
        frame = pl.DataFrame(rollup, schema={"value": pl.Utf8, "code": pl.Utf8}, orient="row")
        sql.register(map_name, frame)
        joins.append(f"JOIN {map_name} ON p.{dim.source} = {map_name}.value")
        selects.append(f"{map_name}.code AS {dim.name}")
    counted = (
        f"count(DISTINCT p.{spec.unit_column})" if spec.unit == "persons" else "count(*)"
    )
    counts = sql.query(
        f"SELECT {', '.join(selects)}, {counted} AS value "
        f"FROM {spec.population} AS p {' '.join(joins)} GROUP BY ALL"
    )
    for i in range(len(spec.dims)):
        sql.unregister(f"_rollup_{i}")
    grid = pl.DataFrame({spec.dims[0].name: list(spec.dims[0].codes)})
    for dim in spec.dims[1:]:
        grid = grid.join(pl.DataFrame({dim.name: list(dim.codes)}), how="cross")
    cells = (
        grid.join(counts, on=spec.dim_names, how="left", nulls_equal=True)
        .with_columns(pl.col("value").fill_null(0).cast(pl.Int64))
    )
    released = spec.released() if spec.released is not None else pl.lit(True)
    return cells.with_columns(released.alias("released"))


def cell_label(spec: TableSpec, row: Mapping[str, object]) -> str:
    """A cell named by its codes, e.g. citizenship=SY, age=Y20-24, sex=F."""
    return ", ".join(f"{d.name}={row[d.name]}" for d in spec.dims)
