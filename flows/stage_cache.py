"""Skip an expensive stage when nothing it reads has changed since it last ran.

Linking (training and prediction), the residence rule and disclosure control are the
slow stages. Their results depend only on the warehouse tables they read, their settings
and their code, so a run whose inputs hash the same as the last successful run's reuses that
run's results, as long as those results are still exactly what that run wrote (their
hash, and for publish the hash of the release files, is recorded too).
The hashes live in meta.runs: `input_hashes` holds one hash per input table plus one for
the settings and one for the code; `parameters` holds `outputs_hash` and, for a skipped stage,
`reused_run_id` (the run whose rows the tables still carry).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from regmig.config import Config
from regmig.estimators.inputs import INPUT_TABLES as ESTIMATE_INPUTS
from regmig.publish.stage import INPUT_TABLES as PUBLISH_INPUTS
from regmig.schemas.tables import derived as derived_tables
from regmig.schemas.tables import stats as stats_tables
from regmig.warehouse.catalog import table_names
from regmig.warehouse.connection import open_identifiers
from regmig.warehouse.hashes import file_sha256, table_hash
from regmig.warehouse.paths import RunPaths

#: Columns that record which run or load wrote a row, not what the row says: a re-run
#: that writes the same content under a new run id leaves the hashes unchanged.
PROVENANCE_COLUMNS = ("run_id", "load_id", "loaded_at", "recorded_at")

SETTINGS_KEY = "settings"
CODE_KEY = "code"
#: The package's root folder: a stage's code is hashed from its folders below it.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class StageCache:
    """What one skippable stage reads and writes."""

    stage: str
    warehouse_inputs: tuple[str, ...]
    identifier_inputs: tuple[str, ...]
    #: Tables the stage writes; all of the given schemas when `output_schemas` is set.
    outputs: tuple[str, ...] = ()
    output_schemas: tuple[str, ...] = ()
    #: Tables of `output_schemas` that another stage writes.
    not_outputs: tuple[str, ...] = ()
    #: A folder of files the stage writes (e.g. the release), hashed with the tables.
    output_folder: Callable[[RunPaths], Path] | None = None
    settings: Callable[[Config, dict[str, Any]], dict[str, Any]] = lambda c, p: {}
    #: Package folders whose code computes the stage's results: a new version of the code
    #: (an upgrade, a fix) re-runs the stage even on unchanged inputs.
    code: tuple[str, ...] = ()

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
        hashes[CODE_KEY] = code_hash(self.code)
        return hashes

    def output_tables(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        tables = list(self.outputs)
        if self.output_schemas:
            tables += [t for t in table_names(con, self.output_schemas)
                       if t not in self.not_outputs]
        return tables

    def outputs_hash(self, con: duckdb.DuckDBPyConnection, paths: RunPaths) -> str:
        present = set(table_names(con))
        tables = self.output_tables(con)
        # A table dropped since (by hand, or by another stage) must not match.
        absent = [table for table in tables if table not in present]
        digest = table_hash(con, [t for t in tables if t in present], PROVENANCE_COLUMNS)
        if absent:
            digest += f"-absent:{','.join(absent)}"
        if self.output_folder is not None:
            digest += f"-files:{folder_hash(self.output_folder(paths))}"
        return digest

    def reusable_run(
        self, con: duckdb.DuckDBPyConnection, paths: RunPaths, input_hashes: dict[str, str]
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
        if recorded_parameters.get("outputs_hash") != self.outputs_hash(con, paths):
            return None
        return recorded_parameters.get("reused_run_id", run_id)


def folder_hash(folder: Path) -> str:
    """A hash of every file under `folder`: names and contents."""
    digest = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(f"{path.relative_to(folder)}:{file_sha256(path)}|".encode())
    return digest.hexdigest()


def code_hash(folders: tuple[str, ...]) -> str:
    """SHA-256 over the Python sources of the given package folders (and config.py)."""
    digest = hashlib.sha256()
    files = [PACKAGE_ROOT / "config.py"]
    for folder in folders:
        files += sorted((PACKAGE_ROOT / folder).rglob("*.py"))
    for file in files:
        digest.update(str(file.relative_to(PACKAGE_ROOT)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _section(config: Config, name: str) -> dict[str, Any]:
    return dataclasses.asdict(getattr(config, name))


LINK = StageCache(
    stage="link",
    warehouse_inputs=("raw.border_crossings", "raw.population_register", "raw.permits"),
    identifier_inputs=("ident.records", "ident.document_neighbours"),
    # person_id_history and linkage_models only grow (history, model store): not results.
    outputs=("core.person_map", "core.persons", "core.crossings"),
    settings=lambda config, _: {"country": config.country,
                                "linkage": _section(config, "linkage"),
                                "monthly": _section(config, "monthly")},
    code=("linkage", "schemas", "warehouse"),
)

ESTIMATE = StageCache(
    stage="estimate",
    warehouse_inputs=ESTIMATE_INPUTS,
    identifier_inputs=(),
    # Named, not "all of stats": publish replaces the other stats tables on every run.
    outputs=tuple(t.qualified for t in derived_tables.TABLES + stats_tables.TABLES),
    settings=lambda config, parameters: {
        "country": config.country,
        "estimate": _section(config, "estimate"),
        "reference_year": parameters.get("reference_year"),
    },
    code=("estimators", "schemas", "warehouse"),
)

PUBLISH = StageCache(
    stage="publish",
    warehouse_inputs=PUBLISH_INPUTS,
    identifier_inputs=(),
    output_schemas=("stats", "release"),
    not_outputs=ESTIMATE.outputs,
    output_folder=lambda paths: paths.release,
    settings=lambda config, parameters: {
        "country": config.country,
        "estimate": _section(config, "estimate"),
        "disclosure": _section(config, "disclosure"),
        "year": parameters.get("year"),
    },
    code=("publish", "schemas", "warehouse"),
)
