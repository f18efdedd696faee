"""The release folder: protected tables only, in the formats their users read.

    release/release.duckdb        every table, its metadata and information loss
    release/csv/<table>.csv       one CSV per table (codes, value, flag)
    release/sdmx/<dataset>.csv    Eurostat datasets as SDMX-CSV (sdmx.py)
    release/questionnaires.xlsx   one sheet per table, named by its id (workbook.py)
    release/metadata.json         machine-readable metadata of every table
    release/tau_argus/            each table as tau-argus input (.tab, .rda, .hrc), so an
                                  NSO can load the protected pattern (tau_argus.py)

A release is written to a new folder and moved into place at the end, so a failed run
never leaves a half-written release. The caller writes one only after the audit passed.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from regmig.publish import tau_argus
from regmig.publish.metadata import TableMetadata
from regmig.publish.sdmx import sdmx_csv
from regmig.publish.tables.cube import TableSpec
from regmig.publish.tables.eurostat import dataset_of
from regmig.publish.workbook import write_workbook
from regmig.warehouse.writes import create_table_as


@dataclass(frozen=True)
class ReleaseTable:
    """A protected table: released cells only (dims..., value or null, obs_status)."""

    spec: TableSpec
    cells: pl.DataFrame
    metadata: TableMetadata


#: Column comments shared by every released table.
VALUE_COMMENT = "{unit}: the published count; empty when confidential (obs_status c)"
STATUS_COMMENT = "c = confidential (suppressed by disclosure control), empty otherwise"
LETTER_COMMENT = "Cell letter in the UN questionnaire layout (A-J), empty elsewhere"


def column_comments(spec: TableSpec) -> dict[str, str]:
    comments = {d.name: f"{d.label}: code ({', '.join(d.codes[:6])}"
                f"{' ...' if len(d.codes) > 6 else ''})" for d in spec.dims}
    comments |= {
        "value": VALUE_COMMENT.format(unit=spec.unit.capitalize()),
        "obs_status": STATUS_COMMENT,
        "letter": LETTER_COMMENT,
    }
    return comments


def stage_release(
    release_dir: Path,
    tables: list[ReleaseTable],
    unavailable: list[TableMetadata],
    header: dict[str, Any],
    loss: pl.DataFrame,
) -> tuple[Path, dict[str, int]]:
    """Write every format to a fresh staging folder beside `release_dir` (the audit reads
    it there). Returns the folder and the files per format."""
    staging = release_dir.with_name(release_dir.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "csv").mkdir(parents=True)
    (staging / "sdmx").mkdir()
    counts = {"csv": 0, "sdmx": 0, "tau_argus": 0}
    symbol = header["confidential_symbol"]
    datasets: dict[str, list[pl.DataFrame]] = {}   # dataset -> its rows, per AGEDEF
    for table in tables:
        table.cells.write_csv(staging / "csv" / f"{table.spec.table_id}.csv")
        counts["csv"] += 1
        status = pl.when(pl.col("obs_status") == symbol).then(pl.lit(symbol)).otherwise(
            pl.lit(tau_argus.SAFE))
        counts["tau_argus"] += len(tau_argus.write_table(
            staging / "tau_argus", table.spec, table.cells.with_columns(status.alias("status")),
            {"SAFE": tau_argus.SAFE, "UNSAFE": symbol}))
        filled = dataset_of(table.spec.table_id)
        if filled is not None:
            datasets.setdefault(filled[0], []).append(sdmx_csv(table, header, *filled))
    for dataset, frames in datasets.items():
        pl.concat(frames).write_csv(staging / "sdmx" / f"{dataset}.csv")
        counts["sdmx"] += 1
    _write_duckdb(staging / "release.duckdb", tables, unavailable, loss)
    write_workbook(staging / "questionnaires.xlsx", tables, unavailable)
    metadata = {
        "release": header,
        "tables": [t.metadata.as_dict() for t in tables] + [m.as_dict() for m in unavailable],
    }
    (staging / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str),
                                           encoding="utf-8")
    return staging, counts


def commit_release(staging: Path, release_dir: Path) -> None:
    """Swap the audited staging folder into place."""
    if release_dir.exists():
        shutil.rmtree(release_dir)
    staging.rename(release_dir)


def _write_duckdb(path: Path, tables: list[ReleaseTable], unavailable: list[TableMetadata],
                  loss: pl.DataFrame) -> None:
    con = duckdb.connect(str(path))
    try:
        for table in tables:
            create_table_as(con, f"main.{table.spec.table_id}", table.cells,
                            f"{table.spec.title} ({table.spec.unit}; {table.metadata.reference})",
                            column_comments(table.spec))
        create_table_as(con, "main.table_metadata",
                        metadata_frame([t.metadata for t in tables] + unavailable),
                        "Metadata of every release table (unit: tables)", METADATA_COLUMNS)
        create_table_as(con, "main.information_loss", loss,
                        "Cells suppressed per table (unit: cells)", RELEASE_LOSS_COLUMNS)
    finally:
        con.close()


METADATA_COLUMNS = {
    "table_id": "Release table",
    "title": "Title of the table",
    "standard": "Questionnaire, regulation or indicator the table answers",
    "available": "False for a table the data cannot fill (no figures given)",
    "unit": "persons | cases",
    "reference": "Reference period (year) or date (stocks)",
    "status": "final | provisional | not available",
    "metadata_json": "Full metadata: definitions, sources, residence rule, breakdowns, "
                     "footnotes, disclosure control",
}
RELEASE_LOSS_COLUMNS = {
    "table_id": "Release table",
    "unit": "persons | cases",
    "cells": "Published cells of the table (cells)",
    "cells_suppressed": "Cells shown as confidential (cells)",
}


def metadata_frame(items: list[TableMetadata]) -> pl.DataFrame:
    return pl.DataFrame({
        "table_id": [m.table_id for m in items],
        "title": [m.title for m in items],
        "standard": [m.standard for m in items],
        "available": [m.available for m in items],
        "unit": [m.unit for m in items],
        "reference": [m.reference for m in items],
        "status": [m.status for m in items],
        "metadata_json": [json.dumps(m.as_dict(), default=str) for m in items],
    })
