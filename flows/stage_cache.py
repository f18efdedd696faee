"""Skip an expensive stage when nothing it reads has changed since it last ran.

Linking (training and prediction) and the residence rule are the slow stages. Their
results depend only on the warehouse tables they read and on their settings, so a run
whose inputs hash the same as the last successful run's reuses that run's results, as
long as those results are still exactly what that run wrote (their hash is recorded too).
The hashes live in meta.runs: `input_hashes` holds one hash per input table plus one for
the settings; `parameters` holds `outputs_hash` and, for a skipped stage,
`reused_run_id` (the run whose rows the tables still carry).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
from regmig.config import Config
from regmig.flows.run_records import table_hash
from regmig.schemas.warehouse import RunPaths, open_identifiers

#: Columns that record which run or load wrote a row, not what the row says: a re-run
#: that writes the same content under a new run id leaves the hashes unchanged.
PROVENANCE_COLUMNS = ("run_id", "load_id", "loaded_at", "recorded_at")

SETTINGS_KEY = "settings"


@dataclass(frozen=True)
class StageCache:
    """What one skippable stage reads and writes."""

    stage: str
    warehouse_inputs: tuple[str, ...]
    identifier_inputs: tuple[str, ...]
    #: Tables the stage writes; all of the given schemas when `output_schemas` is set.
    outputs: tuple[str, ...] = ()
    output_schemas: tuple[str, ...] = ()
    settings: Callable[[Config, dict[str, Any]], dict[str, Any]] = lambda c, p: {}

    def input_hashes(
        self,
        con: duckdb.DuckDBPyConnection,
        paths: RunPaths,
        config: Config,
        parameters: dict[str, Any],
    ) -> dict[str, str]:
        hashes = {
            table: table_hash(con, [table], PROVENANCE_COLUMNS)
            for table in self.warehouse_inputs
        }
        if self.identifier_inputs:
            ident = open_identifiers(paths)
            try:
                for table in self.identifier_inputs:
                    hashes[table] = table_hash(ident, [table], PROVENANCE_COLUMNS)
            finally:
                ident.close()
        settings = json.dumps(self.settings(config, parameters), sort_keys=True, default=str)
        hashes[SETTINGS_KEY] = hashlib.sha256(settings.encode()).hexdigest()
        return hashes

    def output_tables(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        tables = list(self.outputs)
        if self.output_schemas:
            listed = ", ".join(f"'{s}'" for s in self.output_schemas)
            tables += [
                f"{schema}.{name}"
                for schema, name in con.sql(
                    "SELECT schema_name, table_name FROM duckdb_tables() "
                    f"WHERE schema_name IN ({listed}) ORDER BY 1, 2"
                ).fetchall()
            ]
        return tables

    def outputs_hash(self, con: duckdb.DuckDBPyConnection) -> str:
        return table_hash(con, self.output_tables(con), PROVENANCE_COLUMNS)

    def reusable_run(
        self, con: duckdb.DuckDBPyConnection, input_hashes: dict[str, str]
    ) -> str | None:
        """The run whose results can stand for this one, or None if the stage must run.

        Compared with the stage's last successful run only: an older run with the same
        inputs was overwritten since.
        """
        last = con.execute(
            "SELECT run_id, input_hashes, parameters FROM meta.runs "
            "WHERE stage = ? AND status IN ('completed', 'skipped') "
            "ORDER BY finished_at DESC LIMIT 1",
            [self.stage],
        ).fetchall()
        if not last:
            return None
        run_id, recorded_inputs, recorded_parameters = last[0]
        recorded_inputs = json.loads(recorded_inputs or "{}")
        recorded_parameters = json.loads(recorded_parameters or "{}")
        if any(recorded_inputs.get(key) != value for key, value in input_hashes.items()):
            return None
        if recorded_parameters.get("outputs_hash") != self.outputs_hash(con):
            return None
        return recorded_parameters.get("reused_run_id", run_id)


def _section(config: Config, name: str) -> dict[str, Any]:
    return dataclasses.asdict(getattr(config, name))


LINK = StageCache(
    stage="link",
    warehouse_inputs=("raw.border_crossings", "raw.population_register", "raw.permits"),
    identifier_inputs=("ident.records",),
    # person_id_history and linkage_models only grow (history, model store): not results.
    outputs=("core.person_map", "core.persons", "core.crossings"),
    settings=lambda config, _: {"country": config.country,
                                "linkage": _section(config, "linkage")},
)

ESTIMATE = StageCache(
    stage="estimate",
    warehouse_inputs=(
        "raw.border_crossings", "raw.population_register", "raw.permits",
        "core.person_map", "core.persons", "core.crossings",
    ),
    identifier_inputs=(),
    output_schemas=("derived", "stats"),
    settings=lambda config, parameters: {
        "country": config.country,
        "estimate": _section(config, "estimate"),
        "reference_year": parameters.get("reference_year"),
    },
)
