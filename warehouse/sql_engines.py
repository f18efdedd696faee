"""Where a stage's tabulation SQL runs: DuckDB (the default) or Spark.

The SQL is written once, in DuckDB's dialect, with `$name` parameters and a few macros
(small named expressions such as `geo(c)`). `DuckDBSql` runs it as it is on the run's
warehouse connection. `SparkSql` expands the macros, transpiles each statement to Spark
SQL with sqlglot (which Splink already depends on) and runs it on a Spark session: the
warehouse tables a statement names (`core.persons`, `derived.migration_events`, ...) are
copied once per engine to Parquet under `[spark] warehouse_dir` and declared there as
Spark tables of the same name, so the SQL reads the same names on both engines. Results
come back as polars frames; what a stage writes still goes to the warehouse through the
warehouse layer.

One class per engine (as Splink does): a stage holds an `SqlEngine` and never asks which
one it has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from regmig.config import Config
from regmig.warehouse.paths import RunPaths

Params = Mapping[str, Any] | None


class SqlEngine(Protocol):
    """The operations the stages' tabulation SQL needs, on either engine."""

    name: str

    def query(self, sql: str, params: Params = None) -> pl.DataFrame:
        """Rows of one SELECT, as a polars frame."""

    def create_temp_table(self, name: str, sql: str, params: Params = None) -> int:
        """Materialise a SELECT as a temporary table `name`; returns its rows."""

    def register(self, name: str, frame: pl.DataFrame) -> None:
        """Make a frame queryable as `name` until `unregister(name)`."""

    def unregister(self, name: str) -> None: ...

    def create_macro(self, name: str, arguments: Sequence[str], body: str) -> None:
        """A named SQL expression, e.g. geo(c) AS CASE ... END, usable in later SQL."""

    def columns(self, relation: str) -> list[str]:
        """Column names of a table or temporary table."""


class DuckDBSql:
    """The tabulation SQL on the run's DuckDB warehouse connection."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def query(self, sql: str, params: Params = None) -> pl.DataFrame:
        return self.con.sql(sql, params=_used(sql, params) or None).pl()

    def create_temp_table(self, name: str, sql: str, params: Params = None) -> int:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", _used(sql, params))
        return int(self.con.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0])

    def register(self, name: str, frame: pl.DataFrame) -> None:
        self.con.register(name, frame.to_arrow())

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def create_macro(self, name: str, arguments: Sequence[str], body: str) -> None:
        self.con.execute(
            f"CREATE OR REPLACE TEMP MACRO {name}({', '.join(arguments)}) AS {body}")

    def columns(self, relation: str) -> list[str]:
        return [r[0] for r in self.con.sql(f"DESCRIBE {relation}").fetchall()]


class SparkSql:
    """The tabulation SQL on Spark, reading the warehouse's tables as Parquet."""

    name = "spark"

    def __init__(self, session: Any, warehouse: duckdb.DuckDBPyConnection,
                 warehouse_dir: Path) -> None:
        self.spark = session
        self.warehouse = warehouse
        self.warehouse_dir = Path(warehouse_dir)
        self.macros: dict[str, tuple[tuple[str, ...], exp.Expression]] = {}
        self.attached: set[str] = set()

    def query(self, sql: str, params: Params = None) -> pl.DataFrame:
        return pl.from_arrow(self._frame(sql, params).toArrow())

    def create_temp_table(self, name: str, sql: str, params: Params = None) -> int:
        frame = self._frame(sql, params).cache()
        frame.createOrReplaceTempView(name)
        return int(frame.count())

    def register(self, name: str, frame: pl.DataFrame) -> None:
        self.spark.createDataFrame(frame.to_arrow()).createOrReplaceTempView(name)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def create_macro(self, name: str, arguments: Sequence[str], body: str) -> None:
        self.macros[name.lower()] = (tuple(arguments), self._parse(body))

    def columns(self, relation: str) -> list[str]:
        return list(self.spark.table(relation).columns)

    def spark_sql(self, sql: str) -> str:
        """`sql` (DuckDB dialect) as Spark SQL: macros expanded, tables attached."""
        tree = self._expand(self._parse(sql))
        for table in tree.find_all(exp.Table):
            if table.db and not table.catalog:
                self._attach(f"{table.db}.{table.name}")
        return tree.sql(dialect="spark")

    def _frame(self, sql: str, params: Params) -> Any:
        return self.spark.sql(self.spark_sql(sql), args=_used(sql, params) or None)

    @staticmethod
    def _parse(sql: str) -> exp.Expression:
        return sqlglot.parse_one(sql, read="duckdb")

    def _expand(self, tree: exp.Expression) -> exp.Expression:
        """Replace every call of a macro by its body, the arguments put in."""
        def substitute(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Anonymous) and node.name.lower() in self.macros:
                names, body = self.macros[node.name.lower()]
                given = dict(zip(names, node.expressions, strict=True))
                return self._expand(body.copy().transform(
                    lambda n: given[n.name].copy()
                    if isinstance(n, exp.Column) and not n.table and n.name in given else n))
            return node
        return tree.transform(substitute)

    def _attach(self, table: str) -> None:
        """Copy a warehouse table to Parquet once, and declare it to Spark by its name."""
        if table in self.attached:
            return
        schema, name = table.split(".")
        target = self.warehouse_dir / schema / name
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob("*.parquet"):
            old.unlink()
        self.warehouse.execute(f"COPY {table} TO '{target / 'part-0.parquet'}' (FORMAT parquet)")
        self.spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema}")
        self.spark.sql(f"DROP TABLE IF EXISTS {table}")
        self.spark.sql(f"CREATE TABLE {table} USING parquet LOCATION '{target}'")
        self.attached.add(table)


def _used(sql: str, params: Params) -> dict[str, Any]:
    """The parameters a statement names ($name): DuckDB refuses unused ones."""
    return {k: v for k, v in (params or {}).items() if f"${k}" in sql}


def sql_engine(config: Config, con: duckdb.DuckDBPyConnection, paths: RunPaths) -> SqlEngine:
    """The engine `config.engine` names, over the run's warehouse connection `con`."""
    if config.engine == "duckdb":
        return DuckDBSql(con)
    from regmig.warehouse.spark_session import spark_local_dir, spark_session

    spark = config.spark
    session = spark_session(spark, spark_local_dir(spark, paths.out))
    return SparkSql(session, con, spark.warehouse_dir or paths.out / "spark_warehouse")
