"""Stage 4, publish: tabulate, protect, audit, and export the release of one year.

    populations (temp tables)  ->  tables (cubes)  ->  families (shared cells, bounds)
    -> primary + secondary suppression (or rounding), families in parallel
    -> release files written to a staging folder  ->  audit of those files (audit/)
    -> stats.* (unprotected, restricted) + release.* + releases/<vintage>/ moved into place
    -> stats.revisions (the vintage's figures)  ->  release/ points to the new vintage

Fail closed: if the audit, reading only the staged release files as an outsider would,
finds any primary cell it can narrow below the protection width or a pattern that gives
cells away, nothing is written, neither to the warehouse nor to release/, and the run
raises RegmigError naming the cell.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import shutil
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import duckdb
import polars as pl

from regmig.config import Config, DisclosureConfig
from regmig.errors import RegmigError
from regmig.publish import export, revisions, vintages
from regmig.publish.audit.verdict import AuditReport, Protection, audit_release, require_protected
from regmig.publish.classifications import AGE_CLASSIFICATIONS, TOTAL_CODES
from regmig.publish.disclosure.family import (
    CellFamily,
    TableCells,
    build_family,
    drop_broken_bounds,
    families,
)
from regmig.publish.disclosure.protect import ProtectedFamily, protect
from regmig.publish.loss import LOSS_COLUMNS, information_loss
from regmig.publish.metadata import describe, describe_unavailable
from regmig.publish.tables import eurostat, regional_indicators, un_questionnaire
from regmig.publish.tables.cube import TableSpec, tabulate
from regmig.publish.tables.populations import (
    Reference,
    build_populations,
    distinct_codes,
    provisional_share,
)
from regmig.warehouse import progress
from regmig.warehouse.catalog import table_names
from regmig.warehouse.connection import open_warehouse, transaction
from regmig.warehouse.hashes import table_hash
from regmig.warehouse.paths import RunPaths
from regmig.warehouse.quality import record_quality
from regmig.warehouse.sql_engines import SqlEngine, sql_engine
from regmig.warehouse.timing import Timer
from regmig.warehouse.writes import create_table_as

STAGE = "publish"

#: Warehouse tables publish reads.
INPUT_TABLES = (
    "derived.migration_events", "derived.resident_stock", "derived.crossing_status",
    "derived.residence_spells", "core.persons", "core.person_map", "core.crossings",
    "raw.population_register", "raw.permits",
)


@dataclass
class PublishSummary:
    year: int
    release_dir: Path
    method: str
    row_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    input_hashes: dict[str, str] = field(default_factory=dict)
    cells: int = 0
    cells_suppressed: int = 0
    tables: int = 0
    vintage: str = ""

    def lines(self) -> list[str]:
        protection = (f"{self.cells_suppressed:,} of {self.cells:,} cells suppressed"
                      if self.method == "suppression" else f"{self.cells:,} cells rounded")
        return [
            f"publish {self.year}: {self.tables} tables, {protection}; audit passed",
            f"release: {self.release_dir} (vintage {self.vintage})",
            f"time: {sum(self.timings.values()):.1f} s",
        ]


#: Protects one family: (family, disclosure config) -> ProtectedFamily.
Protector = Callable[[CellFamily, DisclosureConfig], ProtectedFamily]


def publish(paths: RunPaths, config: Config, run_id: str, year: int, *,
            protector: Protector = protect) -> PublishSummary:
    """Publish the tables of `year` (flows in the year, stocks on 1 January of it).

    `protector` is the disclosure method; the default follows `config.disclosure`.
    Whatever it returns is audited independently before anything is written.
    """
    _check_config(config.disclosure)
    summary = PublishSummary(year, paths.release, config.disclosure.method)
    timer = Timer(summary.timings)
    con = open_warehouse(paths)
    try:
        _check_year(con, year)
        summary.input_hashes = {t: table_hash(con, [t]) for t in INPUT_TABLES}
        ref = Reference(year, date(year, 1, 1))
        with timer.step("tabulate"):
            sql = sql_engine(config, con, paths)
            summary.row_counts |= {
                f"population.{k}": v for k, v in build_populations(sql, config, ref).items()
            }
            specs = all_specs(sql, config)
            tabulated = [TableCells(spec, tabulate(sql, spec)) for spec in specs]
            tabulated, dropped = drop_broken_bounds(tabulated)
            specs = [t.spec for t in tabulated]

        with timer.step("protect"):
            protected = protect_tables(tabulated, config.disclosure, protector)

        with timer.step("stage_release"):
            shares = {s.population: provisional_share(sql, s.population) for s in specs}
            result = assemble(tabulated, protected, config, ref, shares)
            published_at = datetime.now(UTC).replace(tzinfo=None)
            ends = vintages.data_end(con)
            summary.vintage = vintages.vintage_name(ends, run_id)
            header = release_header(config, ref, run_id) | {
                "vintage": summary.vintage, "data_end": ends.isoformat(),
                "published_at": published_at.isoformat(timespec="seconds")}
            folder = vintages.new_vintage_folder(paths, summary.vintage)
            staging, files = export.stage_release(folder, result.release,
                                                  result.unavailable, header,
                                                  result.release_loss)
        with timer.step("audit"):
            try:
                report = audit_release(staging, {t: c.drop("released") for t, c in
                                                 result.unprotected.items()},
                                       protection(config.disclosure))
                require_protected(report)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        with timer.step("write"):
            write_warehouse(con, result, report, run_id)
            export.commit_release(staging, folder)
            summary.row_counts["stats.revisions"] = revisions.record_vintage(
                con, summary.vintage, ends, published_at, run_id, STAGE)
            vintages.point_latest(paths, folder)
        record_quality(con, run_id, STAGE, [
            ("cells_suppressed", float(result.loss["cells_suppressed"].sum()), "cells", None),
            ("units_suppressed_share", _share(result.loss), "ratio", None),
            ("tables_withheld", float(sum(p.withheld for p in protected.values())),
             "tables", None),
            ("bounds_not_holding", float(len(dropped)), "rules", None),
        ])
    finally:
        con.close()
    summary.tables = len(result.release)
    summary.cells = int(result.loss["cells"].sum())
    summary.cells_suppressed = int(result.loss["cells_suppressed"].sum())
    summary.row_counts |= {f"release.{t.spec.table_id}": t.cells.height for t in result.release}
    summary.row_counts |= {f"files.{k}": v for k, v in files.items()}
    return summary


def all_specs(sql: SqlEngine, config: Config) -> list[TableSpec]:
    @cache
    def observed(population: str, column: str) -> list[str]:
        return distinct_codes(sql, [population], column)

    return (
        un_questionnaire.specs(observed)
        + eurostat.specs(observed, config.disclosure.age_classification)
        + regional_indicators.specs(observed)
    )


def release_header(config: Config, ref: Reference, run_id: str) -> dict:
    """What metadata.json says of the whole release (an outsider's audit reads it)."""
    return {
        "year": ref.year, "country": config.country, "run_id": run_id,
        "stock_date": ref.stock_date.isoformat(),
        "disclosure": config.as_dict()["disclosure"],
        "residence_rule": config.estimate.rule.label,
        "confidential_symbol": config.disclosure.symbol,
        "cell_identity": {
            "total_codes": sorted(TOTAL_CODES),
            "statement": "Cells of two tables with the same unit and population whose "
                         "codes agree outside the total codes are the same count.",
        },
    }


def protection(config: DisclosureConfig) -> Protection:
    return Protection(config.primary_max, config.protection_width, config.zeros_disclosive,
                      config.audit_integer_max_cells)


def protect_tables(
    tabulated: list[TableCells], config: DisclosureConfig, protector: Protector = protect
) -> dict[str, ProtectedFamily]:
    """Each family of tables (shared cells, bounds) protected as one system.

    Families share no cell, so they are protected independently: in `config.workers`
    processes. A family of several tables starts from each table's own optimal pattern
    (`_table_pattern`), and those single tables are tasks of their own, so the largest
    family's warm start runs on every worker before that family itself does (see
    `_schedule`). The release they make is audited afterwards, apart.
    """
    groups = sorted(families(tabulated).items(), key=lambda kv: -sum(
        t.cells.height for t in kv[1]))
    if config.workers <= 1 or len(groups) <= 1 or protector is not protect:
        return {name: protect_family(name, tables, config, protector)
                for name, tables in progress.counted("protect table families", groups)}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(config.workers, mp_context=context) as pool:
        return _schedule(pool, groups, config)


def _schedule(pool: ProcessPoolExecutor, groups: list[tuple[str, list[TableCells]]],
              config: DisclosureConfig) -> dict[str, ProtectedFamily]:
    """Run the warm starts and the families on the pool, at most one task per worker in
    flight, always the first task that is ready in the order: largest family first, each
    family's own tables before it. The tasks and their inputs are those of the serial
    order, so the patterns are the same whatever the number of workers."""
    warm = {name: _warm_started(tables, config) for name, tables in groups}
    tasks = []  # (family, table index or None for the family itself)
    for name, tables in groups:
        if warm[name]:
            tasks.extend((name, k) for k in range(len(tables)))
        tasks.append((name, None))
    tables_of = dict(groups)
    starts: dict[str, dict[int, list[str]]] = {name: {} for name, _ in groups}
    done: dict[str, ProtectedFamily] = {}
    running: dict = {}
    with progress.step("protect table families", len(groups)) as advance:
        while tasks or running:
            while tasks and len(running) < config.workers:
                # A single table is always ready; a family once its warm starts are in.
                ready = next((t for t in tasks if t[1] is not None or not warm[t[0]]
                              or len(starts[t[0]]) == len(tables_of[t[0]])), None)
                if ready is None:
                    break
                tasks.remove(ready)
                name, k = ready
                if k is None:
                    keys = [key for i in sorted(starts[name]) for key in starts[name][i]]
                    future = pool.submit(protect_family, name, tables_of[name], config,
                                         protect, keys if warm[name] else None)
                else:
                    future = pool.submit(_table_pattern, tables_of[name][k], config)
                running[future] = ready
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name, k = running.pop(future)
                if k is None:
                    done[name] = future.result()
                    advance()
                else:
                    starts[name][k] = future.result()
    return {name: done[name] for name, _ in groups}


def protect_family(name: str, tables: list[TableCells], config: DisclosureConfig,
                   protector: Protector = protect,
                   start_keys: list[str] | None = None) -> ProtectedFamily:
    """Protect one family; a family of several tables starts from the union of each
    table's own optimal pattern (`start_keys`, computed here when not given)."""
    family = build_family(name, tables)
    if protector is not protect or not _warm_started(tables, config):
        return protector(family, config)
    if start_keys is None:
        start_keys = [key for table in tables for key in _table_pattern(table, config)]
    return protect(family, config, start=family.cells["key"].is_in(start_keys).to_numpy())


def _warm_started(tables: list[TableCells], config: DisclosureConfig) -> bool:
    """Whether a family starts from its tables' own optimal patterns: when it has several
    tables and cells are suppressed."""
    return len(tables) > 1 and config.method == "suppression"


def _table_pattern(table: TableCells, config: DisclosureConfig) -> list[str]:
    """Warm start: the keys of the cells a table's own optimal pattern suppresses.

    Each table alone is small and its optimum quick; the family's repair then only adds
    what the shared cells and bounds need, and the optimiser starts from there.
    """
    alone = dataclasses.replace(config, solver_time_limit=config.solver_time_limit
                                * SINGLE_TABLE_SHARE)
    own = build_family(table.spec.table_id, [table])
    pattern = protect(own, alone)
    return own.cells.filter(pl.Series(pattern.suppressed))["key"].to_list()


#: Share of `solver_time_limit` each table of a family gets alone, for the warm start.
SINGLE_TABLE_SHARE = 0.25


@dataclass
class Assembled:
    unprotected: dict[str, pl.DataFrame]
    release: list[export.ReleaseTable]
    unavailable: list
    loss: pl.DataFrame
    release_loss: pl.DataFrame
    specs: dict[str, TableSpec]


def assemble(
    tabulated: list[TableCells],
    protected: dict[str, ProtectedFamily],
    config: Config,
    ref: Reference,
    shares: dict[str, float],
) -> Assembled:
    """Per table: its cells with their protection status, and the released view."""
    unprotected, release, specs = {}, [], {}
    family_of = {table_id: family for family in protected.values()
                 for table_id in family.family.members["table_id"].unique().to_list()}
    for table in tabulated:
        spec = table.spec
        if not spec.published:   # counts kept only for a relation (cube.AgeReached)
            continue
        specs[spec.table_id] = spec
        family = family_of[spec.table_id]
        status = (
            family.family.members.filter(pl.col("table_id") == spec.table_id)
            .join(family.cell_status(), on="cell_id")
            .sort("position")
        )
        cells = table.cells.with_row_index("position").join(
            status.select("position", "primary", "suppressed", "shown"), on="position"
        ).sort("position").drop("position")
        unprotected[spec.table_id] = cells
        released = cells.filter(pl.col("released"))
        letters = pl.Series([
            spec.letters.get(tuple(row), "") for row in released.select(spec.dim_names).rows()
        ], dtype=pl.Utf8)
        view = released.select(
            *spec.dim_names,
            pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("shown"))
            .cast(pl.Int64).alias("value"),
            pl.when(pl.col("suppressed")).then(pl.lit(config.disclosure.symbol))
            .otherwise(pl.lit("")).alias("obs_status"),
        ).with_columns(letters.alias("letter"))
        meta = describe(spec, config, ref, shares.get(spec.population, 0.0),
                        int(released["suppressed"].sum()))
        release.append(export.ReleaseTable(spec, view, meta))
    loss = information_loss(unprotected, {t: s.unit for t, s in specs.items()})
    return Assembled(
        unprotected, release,
        [describe_unavailable(t, ref) for t in un_questionnaire.UNAVAILABLE],
        loss, loss.select("table_id", "unit", "cells", "cells_suppressed"), specs,
    )


def write_warehouse(con: duckdb.DuckDBPyConnection, result: Assembled, report: AuditReport,
                    run_id: str) -> None:
    """Replace publish's restricted stats.* tables in one transaction, then release.* in
    another (the estimate stage keeps its own stats.* tables). Restricted first: see
    `regmig.warehouse.writes.by_database`."""
    ours = {f"stats.{name}" for name in (*result.specs, *PUBLISH_STATS_TABLES)}
    with transaction(con):
        for table in table_names(con, ["stats"]):
            if table in ours:
                con.execute(f"DROP TABLE {table}")
        for table in result.release:
            spec = table.spec
            create_table_as(con, f"stats.{spec.table_id}",
                            result.unprotected[spec.table_id].with_columns(
                                pl.lit(run_id).alias("run_id")),
                            f"{spec.title}: UNPROTECTED counts, restricted ({spec.unit})",
                            export.column_comments(spec) | STATS_COLUMNS)
        create_table_as(con, "stats.information_loss", result.loss.with_columns(
            pl.lit(run_id).alias("run_id")),
            "Information loss of disclosure control per table, restricted (unit: cells "
            "and persons or cases)", LOSS_COLUMNS | {"run_id": "Publish run"})
        create_table_as(con, "stats.disclosure_audit", report.findings.with_columns(
            pl.lit(run_id).alias("run_id")),
            "Audit of every primary cell, restricted (unit: cells): the interval an "
            "attacker can deduce from the release", AUDIT_COLUMNS)
    with transaction(con):
        for table in table_names(con, ["release"]):
            con.execute(f"DROP TABLE {table}")
        for table in result.release:
            spec = table.spec
            create_table_as(con, f"release.{spec.table_id}", table.cells,
                            f"{spec.title}: protected ({spec.unit}; "
                            f"{table.metadata.reference})",
                            export.column_comments(spec))
        create_table_as(con, "release.table_metadata",
                        export.metadata_frame([t.metadata for t in result.release]
                                              + result.unavailable),
                        "Metadata of every release table (unit: tables)",
                        export.METADATA_COLUMNS)
        create_table_as(con, "release.information_loss", result.release_loss,
                        "Cells suppressed per release table (unit: cells)",
                        export.RELEASE_LOSS_COLUMNS)


#: stats.* tables publish writes besides one per publication table.
PUBLISH_STATS_TABLES = ("information_loss", "disclosure_audit")

STATS_COLUMNS = {
    "value": "True count (persons or cases): unprotected",
    "released": "False for a cell kept only for the additive relations (never published)",
    "primary": "True when the cell is small (1 .. threshold-1): primary suppression",
    "suppressed": "True when the release hides the cell (primary or complementary)",
    "shown": "Value the release shows (rounded under rounding)",
    "run_id": "Publish run that wrote the row",
}
AUDIT_COLUMNS = {
    "cell_id": "Cell number within the release (as the audit numbers them)",
    "key": "Cell identity: unit, population and non-total codes",
    "table_id": "First table holding the cell (the one that shows it, if any)",
    "value": "True value (persons or cases)",
    "lower": "Smallest value consistent with the release",
    "upper": "Largest value consistent with the release (inf when unbounded)",
    "width": "upper - lower; must be at least the protection width",
    "ok": "True when the cell is protected",
    "finding": "Why the cell is not protected (shown, narrowed, pattern: ...); empty if ok",
    "run_id": "Publish run that wrote the row",
}


def _share(loss: pl.DataFrame) -> float:
    total = loss["units_in_cells"].sum()
    return float(loss["units_suppressed"].sum() / total) if total else 0.0


def _check_config(config: DisclosureConfig) -> None:
    if config.threshold < 1:
        raise RegmigError(f"[disclosure] threshold must be at least 1, got {config.threshold}")
    if config.method == "rounding" and config.rounding_base < 2:
        raise RegmigError(f"[disclosure] rounding_base must be at least 2, got "
                          f"{config.rounding_base}")
    if config.age_classification not in AGE_CLASSIFICATIONS:
        raise RegmigError(f"[disclosure] age_classification must be one of "
                          f"{', '.join(AGE_CLASSIFICATIONS)}, got {config.age_classification!r}")


def _check_year(con: duckdb.DuckDBPyConnection, year: int) -> None:
    """The year must hold observed crossings: publishing an empty year is a mistake."""
    row = con.sql("SELECT min(crossing_date), max(crossing_date) FROM core.crossings"
                  ).fetchall()[0]
    if row[0] is None:
        raise RegmigError("the warehouse holds no linked crossings; run `regmig link` "
                          "and `regmig estimate` first")
    if not row[0].year <= year <= row[1].year:
        raise RegmigError(f"--year {year} is outside the data ({row[0]} to {row[1]})")
