"""The release folder: protected tables only, in the formats their users read.

    release/release.duckdb        every table, its metadata and information loss
    release/csv/<table>.csv       one CSV per table (codes, value, flag)
    release/sdmx/<dataset>.csv    Eurostat datasets as SDMX-CSV 1.0
    release/questionnaires.xlsx   the UN tables in the questionnaire's layout, the rest
                                  as cross-tables, a contents and a metadata sheet
    release/metadata.json         machine-readable metadata of every table

A release is written to a new folder and moved into place at the end, so a failed run
never leaves a half-written release. The caller writes one only after the audit passed.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import xlsxwriter

from regmig.publish.classifications import (
    FLAG_CONFIDENTIAL,
    FOREIGN,
    NATIONAL,
    SDMX_AGENCY,
    SDMX_VERSION,
    TOTAL,
    UNKNOWN,
    eurostat_country,
)
from regmig.publish.metadata import TableMetadata
from regmig.publish.tables.cube import TableSpec
from regmig.publish.tables.eurostat import DATASETS, SDMX_DIMENSION
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


def write_release(
    release_dir: Path,
    tables: list[ReleaseTable],
    unavailable: list[TableMetadata],
    header: dict[str, Any],
    loss: pl.DataFrame,
) -> dict[str, int]:
    """Write every format to a fresh folder, then swap it in. Returns files per format."""
    staging = release_dir.with_name(release_dir.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "csv").mkdir(parents=True)
    (staging / "sdmx").mkdir()
    counts = {"csv": 0, "sdmx": 0}
    for table in tables:
        table.cells.write_csv(staging / "csv" / f"{table.spec.table_id}.csv")
        counts["csv"] += 1
        if table.spec.table_id in DATASETS:
            sdmx_csv(table, header).write_csv(staging / "sdmx" / f"{table.spec.table_id}.csv")
            counts["sdmx"] += 1
    _write_duckdb(staging / "release.duckdb", tables, unavailable, loss)
    _write_workbook(staging / "questionnaires.xlsx", tables, unavailable, header)
    metadata = {
        "release": header,
        "tables": [t.metadata.as_dict() for t in tables] + [m.as_dict() for m in unavailable],
    }
    (staging / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str),
                                           encoding="utf-8")
    if release_dir.exists():
        shutil.rmtree(release_dir)
    staging.rename(release_dir)
    return counts


def sdmx_csv(table: ReleaseTable, header: dict[str, Any]) -> pl.DataFrame:
    """SDMX-CSV 1.0: DATAFLOW, one column per dimension, TIME_PERIOD, OBS_VALUE, OBS_FLAG."""
    spec = table.spec
    flow = f"{SDMX_AGENCY}:{spec.table_id.upper()}({SDMX_VERSION})"
    columns: list[pl.Expr] = [pl.lit(flow).alias("DATAFLOW"), pl.lit("A").alias("FREQ")]
    for dim in spec.dims:
        columns.append(pl.col(dim.name).alias(SDMX_DIMENSION[dim.name].upper()))
    if spec.population != "stock":
        columns.append(pl.lit("COMPLET").alias("AGEDEF"))
    columns += [
        pl.lit("NR").alias("UNIT"),
        pl.lit(eurostat_country(header["country"])).alias("GEO"),
        pl.lit(str(header["year"])).alias("TIME_PERIOD"),
        pl.col("value").alias("OBS_VALUE"),
        pl.col("obs_status").alias("OBS_FLAG"),
    ]
    return table.cells.select(columns)


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


# --- the workbook ---------------------------------------------------------------------

_UN_ROWS = ((NATIONAL, "C) National citizens"), (FOREIGN, "D) Foreign citizens"),
            (UNKNOWN, "Citizenship unknown"), (TOTAL, "Total"))
_UN_COLUMNS = ((NATIONAL, "A) Native-born"), (FOREIGN, "B) Foreign-born"),
               (UNKNOWN, "Country of birth unknown"), (TOTAL, "Total"))


def _write_workbook(path: Path, tables: list[ReleaseTable],
                    unavailable: list[TableMetadata], header: dict[str, Any]) -> None:
    book = xlsxwriter.Workbook(str(path))
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    contents = book.add_worksheet("Contents")
    contents.write_row(0, 0, ["Table", "Title", "Unit", "Reference", "Status", "Standard"], bold)
    everything = [t.metadata for t in tables] + unavailable
    for i, meta in enumerate(everything, start=1):
        contents.write_row(i, 0, [meta.table_id, meta.title, meta.unit, meta.reference,
                                  meta.status, meta.standard])
    contents.set_column(0, 0, 34)
    contents.set_column(1, 1, 60)
    for table in tables:
        sheet = book.add_worksheet(sheet_name(table.spec.table_id))
        sheet.write(0, 0, table.spec.title, bold)
        sheet.write(1, 0, f"Reference: {table.metadata.reference}  Unit: {table.spec.unit}  "
                          f"Status: {table.metadata.status}")
        if table.spec.letters:
            row = _write_questionnaire(sheet, table, bold)
        else:
            row = _write_cross_table(sheet, table, bold)
        _write_notes(sheet, row + 1, table.metadata, wrap)
    for meta in unavailable:
        sheet = book.add_worksheet(sheet_name(meta.table_id))
        sheet.write(0, 0, meta.title, bold)
        sheet.write(2, 0, meta.definition, wrap)
        sheet.set_column(0, 0, 100)
    book.close()


def sheet_name(table_id: str) -> str:
    """Excel allows 31 characters: shorten the regional tables' names."""
    name = table_id.replace("regional_", "R").replace("_persons", " persons")
    return name.replace("_cases", " cases")[:31]


def _shown(row: dict[str, Any]) -> Any:
    return FLAG_CONFIDENTIAL if row["obs_status"] == FLAG_CONFIDENTIAL else row["value"]


def _write_questionnaire(sheet: Any, table: ReleaseTable, bold: Any) -> int:
    """The UN layout: birth across, citizenship down, letters next to the values."""
    naturalised = "naturalised" in table.spec.dim_names
    cells = {}
    for row in table.cells.iter_rows(named=True):
        if naturalised and row["naturalised"] not in (TOTAL, "Y"):
            continue
        cells[(row["citizenship"], row["country_of_birth"],
               row.get("naturalised", TOTAL))] = row
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 4, 22)
    for j, (_, label) in enumerate(_UN_COLUMNS, start=1):
        sheet.write(3, j, label, bold)
    r = 4
    for citizenship, label in _UN_ROWS:
        sheet.write(r, 0, label, bold)
        for j, (birth, _) in enumerate(_UN_COLUMNS, start=1):
            row = cells.get((citizenship, birth, TOTAL))
            if row is not None:
                text = f"{row['letter']}) " if row["letter"] else ""
                sheet.write(r, j, f"{text}{_shown(row)}")
        r += 1
        if naturalised and citizenship == NATIONAL:
            sheet.write(r, 0, "   of whom naturalised")
            for j, (birth, _) in enumerate(_UN_COLUMNS, start=1):
                row = cells.get((citizenship, birth, "Y"))
                if row is not None:
                    sheet.write(r, j, f"{row['letter']}) {_shown(row)}")
            r += 1
    return r


def _write_cross_table(sheet: Any, table: ReleaseTable, bold: Any) -> int:
    """First breakdown down the rows, the others across."""
    dims = table.spec.dims
    first, rest = dims[0], dims[1:]
    combos = list(product(*[d.codes for d in rest])) if rest else [()]
    lookup = {tuple(row[d.name] for d in dims): row
              for row in table.cells.iter_rows(named=True)}
    sheet.write(3, 0, first.label or first.name, bold)
    for j, combo in enumerate(combos, start=1):
        sheet.write(3, j, " / ".join(combo) if combo else "value", bold)
    r = 4
    for code in first.codes:
        sheet.write(r, 0, code)
        for j, combo in enumerate(combos, start=1):
            row = lookup.get((code, *combo))
            if row is not None:
                sheet.write(r, j, _shown(row))
        r += 1
    return r


def _write_notes(sheet: Any, row: int, meta: TableMetadata, wrap: Any) -> None:
    notes = [f"Definition: {meta.definition}", f"Unit: {meta.unit}",
             f"Residence rule: {meta.residence_rule}",
             "Sources: " + "; ".join(meta.sources)] + [f"Note: {n}" for n in meta.footnotes]
    for i, note in enumerate(notes):
        sheet.write(row + i, 0, note)
