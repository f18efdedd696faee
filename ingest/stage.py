"""Stage 1, ingest: validate delivery files, quarantine bad rows, pseudonymise, load raw.*.

`ingest_file` loads one file; `ingest_folder` every delivery file of a folder
(`border_crossings*`, `population_register*`, `permits*`, CSV or Parquet, in name order).

Guarantees:
- Nothing lost: each data row read is loaded into raw.<source> or quarantined (raw.rejected
  and, for its identifying values, ident.quarantine); meta.loads records
  rows_read = rows_loaded + rows_rejected.
- A file unreadable as a whole is refused (RegmigError, one line naming file and cause)
  and recorded in meta.loads with status refused; nothing of it is loaded.
- Idempotent: the same bytes offered again are reported and skipped; a new delivery for a
  source and period supersedes the one in force (loads.py says how the period is known),
  and a record_id sent again supersedes its earlier version, which is kept in
  raw.<source>_superseded.
- Atomic: rows are first staged in files (staging.py), then taken in by one transaction
  per database; identifiers.duckdb commits first, the warehouse last, and leftovers of a
  load that died in between are removed on the next run (loads.py). A crash or kill
  mid-load leaves the warehouse as it was.
- Bounded memory: batches of `IngestConfig.csv_block_bytes`; 10 million crossings peak
  below 3 GB (bench/results/ingest.json).
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from regmig.config import Config
from regmig.errors import RegmigError
from regmig.ingest import loads, overlap, readers, separation, staging, validation
from regmig.ingest.cleaning import normalise_text
from regmig.ingest.document_neighbours import DocumentNeighbours
from regmig.ingest.identifier_quality import identifier_failures
from regmig.ingest.plausibility import PlausibleRange, date_failures
from regmig.ingest.pseudonyms import Pseudonymiser, load_key, record_fingerprint
from regmig.schemas.classifications import SOURCES
from regmig.schemas.deliveries import columns
from regmig.schemas.tables.identifiers import DOCUMENT_NEIGHBOURS, QUARANTINE, RECORDS
from regmig.schemas.tables.raw import REJECTED, SOURCE_TABLES
from regmig.warehouse.connection import open_identifiers, open_warehouse
from regmig.warehouse.hashes import file_sha256
from regmig.warehouse.paths import RunPaths
from regmig.warehouse.quality import record_quality

STAGE = "ingest"


@dataclass
class LoadResult:
    """What became of one delivery file."""

    source: str
    file: Path
    status: str  # loaded | skipped_duplicate | refused
    sha256: str
    period: str
    load_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    superseded_load_id: int | None = None
    #: Earlier versions of records this file sent again (moved to raw.<source>_superseded).
    records_superseded: int = 0
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        name = self.file.name
        if self.status == "skipped_duplicate":
            return f"{name}: skipped, {self.message}"
        if self.status == "refused":
            return f"{name}: refused, {self.message}"
        text = (f"{name}: {self.rows_read} rows read, {self.rows_loaded} loaded into "
                f"raw.{self.source}, {self.rows_rejected} quarantined "
                f"(load {self.load_id}, period {self.period})")
        if self.superseded_load_id is not None:
            text += f"; supersedes load {self.superseded_load_id}"
        if self.records_superseded:
            text += f"; {self.records_superseded} records sent again supersede earlier versions"
        return text


@dataclass
class IngestSummary:
    loads: list[LoadResult] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    input_hashes: dict[str, str] = field(default_factory=dict)

    def add(self, result: LoadResult) -> None:
        self.loads.append(result)
        self.input_hashes[str(result.file)] = result.sha256
        for key, value in (("rows_read", result.rows_read),
                           ("rows_loaded", result.rows_loaded),
                           ("rows_rejected", result.rows_rejected)):
            self.row_counts[key] = self.row_counts.get(key, 0) + value
        if result.rows_loaded:
            table = f"raw.{result.source}"
            self.row_counts[table] = self.row_counts.get(table, 0) + result.rows_loaded
        if result.records_superseded:
            table = f"raw.{result.source}_superseded"
            self.row_counts[table] = self.row_counts.get(table, 0) + result.records_superseded
        for step, seconds in result.timings.items():
            self.timings[step] = self.timings.get(step, 0.0) + seconds

    def lines(self) -> list[str]:
        lines = [result.line() for result in self.loads]
        lines.append(
            f"ingest: {len(self.loads)} file(s); {self.row_counts.get('rows_read', 0)} rows "
            f"read = {self.row_counts.get('rows_loaded', 0)} loaded + "
            f"{self.row_counts.get('rows_rejected', 0)} quarantined"
        )
        return lines


class FilesRefused(RegmigError):
    """Some files of a folder were refused; the others were loaded (see `summary`)."""

    def __init__(self, message: str, summary: IngestSummary) -> None:
        super().__init__(message)
        self.summary = summary


def delivery_files(input_dir: Path) -> list[tuple[str, Path]]:
    """(source, file) for every delivery file in the folder, sources in flow order."""
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise RegmigError(f"{input_dir}: delivery folder not found")
    found = [
        (source, path)
        for source in SOURCES
        for path in sorted(input_dir.glob(f"{source}*"))
        if path.is_file() and not path.name.startswith(".")
    ]
    if not found:
        raise RegmigError(f"{input_dir}: no delivery files (expected "
                          f"{', '.join(s + '.csv|.parquet' for s in SOURCES)})")
    return found


def ingest_folder(paths: RunPaths, config: Config, input_dir: Path, run_id: str) -> IngestSummary:
    """Load every delivery file of `input_dir`; refuse unreadable ones after the rest."""
    summary = IngestSummary()
    refusals = []
    with _Databases(paths, config, run_id) as databases:
        for source, path in delivery_files(input_dir):
            try:
                summary.add(databases.load(source, path, run_id))
            except RegmigError as exc:
                refusals.append(str(exc))
                summary.add(databases.last_refusal)
    if refusals:
        others = f" (and {len(refusals) - 1} more refused)" if len(refusals) > 1 else ""
        raise FilesRefused(f"{refusals[0]}{others}", summary)
    return summary


def ingest_file(
    paths: RunPaths,
    config: Config,
    source: str,
    path: Path,
    run_id: str,
    period: str | None = None,
) -> LoadResult:
    """Load one delivery file of `source` (period: see loads.py)."""
    loads.check_source(source)
    with _Databases(paths, config, run_id) as databases:
        return databases.load(source, Path(path), run_id, period)


class _Databases:
    """Both databases of a run folder, opened once for a series of loads."""

    def __init__(self, paths: RunPaths, config: Config, run_id: str) -> None:
        self.paths = paths
        self.config = config
        self.run_id = run_id
        self.last_refusal: LoadResult | None = None

    def __enter__(self) -> _Databases:
        key = load_key(self.config.ingest)
        try:
            self.warehouse = open_warehouse(self.paths)
            self.identifiers = open_identifiers(self.paths)
        except duckdb.IOException as exc:
            raise RegmigError(f"{self.paths.out}: cannot open the run folder's databases "
                              f"(in use by another process?): {exc}".splitlines()[0]) from None
        # Settings belong to the database instance, which later stages in the same process
        # share: they are given back on exit. Row order of raw.* is immaterial (row_number
        # says where a row was), and dropping it lets DuckDB insert in parallel.
        settings = {"memory_limit": self.config.ingest.duckdb_memory_limit,
                    "preserve_insertion_order": False}
        self.previous_settings = []
        for con in (self.warehouse, self.identifiers):
            con.execute("SET enable_progress_bar = false")
            self.previous_settings.append({
                name: con.sql("SELECT current_setting(?)", params=[name]).fetchall()[0][0]
                for name in settings
            })
            for name, value in settings.items():
                con.execute(f"SET {name} = ?", [value])
        try:
            record_fingerprint(self.warehouse, key, self.run_id, self.paths.warehouse)
        except RegmigError:
            self.warehouse.close()
            self.identifiers.close()
            raise
        self.pseudonymiser = Pseudonymiser(key)
        loads.remove_orphans(self.warehouse, self.identifiers)
        staging.remove_leftovers(self.paths.out)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pseudonymiser.close()
        for con, previous in zip((self.warehouse, self.identifiers), self.previous_settings,
                                 strict=True):
            for name, value in previous.items():
                con.execute(f"SET {name} = ?", [value])
            con.close()

    def load(self, source: str, path: Path, run_id: str, period: str | None = None) -> LoadResult:
        started = time.perf_counter()
        sha256 = file_sha256(path) if path.is_file() else ""
        period = loads.delivery_period(path, source, period)
        result = LoadResult(source=source, file=path, status="loaded", sha256=sha256,
                            period=period)
        same = loads.find_same_file(self.warehouse, source, sha256) if sha256 else None
        if same is not None:
            result.status = "skipped_duplicate"
            result.message = (f"same bytes as {same.file_name}, load {same.load_id} "
                              f"({same.status})")
            return result
        try:
            delivery = readers.open_delivery(path, source)
            self._load_rows(delivery, result, run_id)
        except RegmigError as exc:
            self._refuse(result, str(exc), run_id)
            raise
        result.timings["total"] = time.perf_counter() - started
        return result

    def _refuse(self, result: LoadResult, message: str, run_id: str) -> None:
        result.status = "refused"
        result.message = message
        result.rows_read = result.rows_loaded = result.rows_rejected = 0
        if result.sha256:
            loads.record_refusal(self.warehouse, result.source, result.file, result.sha256,
                                 result.period, message, run_id)
        self.last_refusal = result

    def _load_rows(self, delivery: readers.Delivery, result: LoadResult, run_id: str) -> None:
        source = delivery.source
        warehouse, identifiers = self.warehouse, self.identifiers
        load_id = loads.next_load_id(warehouse)
        prior = loads.load_in_force(warehouse, source, result.period)
        # Record ids of earlier loads may come again (they supersede, see loads.py): only
        # a repeat within this file is refused.
        seen = validation.SeenRecords(pl.DataFrame(schema=validation.SEEN_SCHEMA))
        neighbours = DocumentNeighbours(self.pseudonymiser,
                                        self.config.ingest.document_neighbour_min_length)
        timings: dict[str, float] = defaultdict(float)
        depth = self.config.ingest.overlap_batches
        staged = staging.Staging(self.paths.out, load_id)
        try:
            # Phase 1: read, validate, clean; rows go to staging files, not the databases.
            writer = overlap.BackgroundWriter(depth)
            try:
                clock = time.perf_counter()
                batches = readers.read_batches(delivery, self.config.ingest)
                with contextlib.closing(overlap.prefetched(batches, depth)) as prefetched:
                    for batch in prefetched:
                        timings["read_wait"] += time.perf_counter() - clock
                        self._load_batch(batch, delivery, load_id, seen, neighbours, result,
                                         timings, writer, staged)
                        clock = time.perf_counter()
            finally:
                clock = time.perf_counter()
                writer.finish()
                timings["stage_wait"] += time.perf_counter() - clock
            # Phase 2: one transaction per database, identifiers first, warehouse last.
            clock = time.perf_counter()
            self._commit(delivery, load_id, prior, staged, result, run_id)
            timings["insert_and_commit"] += time.perf_counter() - clock
        finally:
            staged.remove()
        if prior is not None:
            loads.remove_orphans(warehouse, identifiers)
        result.load_id = load_id
        result.timings.update(timings)

    def _commit(
        self,
        delivery: readers.Delivery,
        load_id: int,
        prior: loads.PriorLoad | None,
        staged: staging.Staging,
        result: LoadResult,
        run_id: str,
    ) -> None:
        warehouse, identifiers = self.warehouse, self.identifiers
        identifiers_committed = False
        identifiers.execute("BEGIN TRANSACTION")
        warehouse.execute("BEGIN TRANSACTION")
        try:
            staged.insert_into(identifiers, RECORDS.qualified)
            staged.insert_into(identifiers, DOCUMENT_NEIGHBOURS.qualified)
            staged.insert_into(identifiers, QUARANTINE.qualified)
            staged.insert_into(warehouse, SOURCE_TABLES[delivery.source].qualified)
            staged.insert_into(warehouse, REJECTED.qualified)
            if prior is not None:
                loads.supersede(warehouse, delivery.source, prior.load_id, load_id)
                result.superseded_load_id = prior.load_id
            result.records_superseded = loads.supersede_records(warehouse, delivery.source,
                                                                load_id)
            self._record_load(delivery, load_id, result, run_id)
            identifiers.execute("COMMIT")
            identifiers_committed = True
            warehouse.execute("COMMIT")
        except BaseException:
            warehouse.execute("ROLLBACK")
            if not identifiers_committed:
                identifiers.execute("ROLLBACK")
            else:
                loads.remove_orphans(warehouse, identifiers)
            raise

    def _load_batch(
        self,
        batch: readers.RawBatch,
        delivery: readers.Delivery,
        load_id: int,
        seen: validation.SeenRecords,
        neighbours: DocumentNeighbours,
        result: LoadResult,
        timings: dict[str, float],
        writer: overlap.BackgroundWriter,
        staged: staging.Staging,
    ) -> None:
        source = delivery.source
        clock = time.perf_counter()
        delivered = batch.frame
        normalised = normalise_text(delivered, list(columns(source)))
        plausible = PlausibleRange.for_load(self.config.ingest, datetime.now(UTC).date())
        failures = pl.concat([
            validation.model_failures(normalised, source),
            validation.nul_failures(delivered),
            identifier_failures(normalised, source, self.config.ingest),
            date_failures(normalised, source, plausible),
            seen.failures(normalised),
            validation.structure_failures(batch.malformed),
        ])
        rejected_numbers = failures[readers.ROW_NUMBER].unique()
        valid = normalised.filter(~pl.col(readers.ROW_NUMBER).is_in(rejected_numbers.implode()))
        timings["validate"] += time.perf_counter() - clock

        clock = time.perf_counter()
        raw_rows, ident_rows, neighbour_rows = separation.separate(
            valid, source, load_id, self.pseudonymiser, plausible, self.config.ingest,
            neighbours)
        rejected = validation.rejected_rows(failures, delivered, source, load_id,
                                            delivery.path.name)
        quarantine = validation.quarantined_identifiers(
            rejected_numbers, delivered, batch.malformed, source, load_id
        )
        timings["clean_and_pseudonymise"] += time.perf_counter() - clock

        def write() -> None:
            clock = time.perf_counter()
            staged.write(RECORDS.qualified, ident_rows)
            staged.write(DOCUMENT_NEIGHBOURS.qualified, neighbour_rows)
            staged.write(QUARANTINE.qualified, quarantine)
            staged.write(SOURCE_TABLES[source].qualified, raw_rows)
            staged.write(REJECTED.qualified, rejected)
            timings["stage_write"] += time.perf_counter() - clock

        writer.submit(write)
        result.rows_read += delivered.height + batch.malformed.height
        result.rows_loaded += valid.height
        result.rows_rejected += rejected_numbers.len()

    def _record_load(
        self, delivery: readers.Delivery, load_id: int, result: LoadResult, run_id: str
    ) -> None:
        if result.rows_read != result.rows_loaded + result.rows_rejected:
            raise AssertionError(f"{delivery.path}: rows read {result.rows_read} != loaded "
                                 f"{result.rows_loaded} + rejected {result.rows_rejected}")
        result.message = "; ".join(delivery.notes())
        self.warehouse.execute(
            "INSERT INTO meta.loads (load_id, source, file_name, file_path, file_sha256, "
            "period, status, rows_read, rows_loaded, rows_rejected, message, run_id, "
            "loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [load_id, delivery.source, delivery.path.name, str(delivery.path), result.sha256,
             result.period, loads.LOADED, result.rows_read, result.rows_loaded,
             result.rows_rejected, result.message or None, run_id, loads.now_utc()],
        )
        share = result.rows_rejected / result.rows_read if result.rows_read else 0.0
        record_quality(self.warehouse, run_id, STAGE,
                       [("rows_rejected_share", share, "ratio",
                         f"{delivery.source} load {load_id} ({delivery.path.name})")])


