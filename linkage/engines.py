"""Where Splink runs: DuckDB (the default) or Spark, behind one seam.

Everything around Splink stays in the link stage's private DuckDB (`work`): profiles and
blocking counts before it, clusters to persons and stable ids after it. An engine hands
Splink the profiles, turns the model's SQL into rules of its dialect, and brings back
the few columns of Splink's results the stage needs (pairs, components) into `work`.

- `DuckDBLinkage`: Splink on `work` itself; nothing is copied.
- `SparkLinkage`: Splink's Spark backend on the process's Spark session (local mode or a
  cluster, `[spark]` in Config): the profiles go to Spark once, as Arrow; pairs and
  components come back as Arrow. Splink's intermediate tables live in the session's
  checkpoint folder, which holds names: restricted like identifiers.duckdb.

The model itself is one definition (model_settings.py) built for either dialect; a model
stored by one engine is rebuilt for the other from that definition with its trained
parameters (training.linker_from_stored).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import duckdb
from splink.internals.splink_dataframe import SplinkDataFrame

from regmig.config import Config
from regmig.warehouse.writes import registered


class LinkageEngine(Protocol):
    #: Splink's name of the SQL dialect (duckdb | spark).
    name: str

    def profiles(self) -> SplinkDataFrame:
        """The `profiles` table of `work`, registered with this engine's Splink backend."""

    def rule(self, sql: str) -> Any:
        """A blocking or training rule written in DuckDB's SQL, for this engine."""

    def to_work(self, frame: SplinkDataFrame, table: str, columns: str) -> None:
        """`CREATE TABLE table AS SELECT columns FROM frame` in `work`."""


class DuckDBLinkage:
    name = "duckdb"

    def __init__(self, work: duckdb.DuckDBPyConnection) -> None:
        self.work = work

    def profiles(self) -> SplinkDataFrame:
        from splink import DuckDBAPI

        return DuckDBAPI(self.work).register("profiles", dataset_display_name="profiles")

    def rule(self, sql: Any) -> Any:
        return sql

    def to_work(self, frame: SplinkDataFrame, table: str, columns: str) -> None:
        self.work.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT {columns} FROM {frame.physical_name}")


class SparkLinkage:
    name = "spark"

    def __init__(self, work: duckdb.DuckDBPyConnection, session: Any, partitions: int,
                 checkpoints: Path) -> None:
        self.work = work
        self.session = session
        self.partitions = partitions
        # Splink breaks Spark's lineage by writing its intermediate tables here as
        # Parquet: names among them, so it lives in the stage's spill folder, which the
        # stage removes when it ends.
        session.sparkContext.setCheckpointDir(str(checkpoints))

    def profiles(self) -> SplinkDataFrame:
        from splink import SparkAPI

        api = SparkAPI(spark_session=self.session, break_lineage_method="parquet",
                       num_partitions_on_repartition=self.partitions)
        return api.register(self.work.sql("SELECT * FROM profiles").to_arrow_table(),
                            dataset_display_name="profiles")

    def rule(self, sql: Any) -> Any:
        from splink.blocking_rule_library import CustomRule

        if not isinstance(sql, str):  # a rule already built (one that explodes a list)
            return sql

        # Written with double-quoted identifiers, which Spark reads as strings: Splink
        # translates the rule from DuckDB's dialect.
        return CustomRule(sql, sql_dialect="duckdb")

    def to_work(self, frame: SplinkDataFrame, table: str, columns: str) -> None:
        arrow = self.session.sql(f"SELECT {columns} FROM {frame.physical_name}").toArrow()
        with registered(self.work, "_from_spark", arrow):
            self.work.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _from_spark")


def linkage_engine(config: Config, work: duckdb.DuckDBPyConnection, run_folder: Path,
                   spill_dir: Path) -> LinkageEngine:
    """The engine `config.engine` names."""
    if config.engine == "duckdb":
        return DuckDBLinkage(work)
    from regmig.warehouse.spark_session import spark_local_dir, spark_session

    session = spark_session(config.spark, spark_local_dir(config.spark, run_folder))
    return SparkLinkage(work, session, config.spark.shuffle_partitions,
                        spill_dir / "spark_checkpoints")
