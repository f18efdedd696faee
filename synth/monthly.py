"""Monthly deliveries, as the agencies send them: `regmig synth --monthly`.

The population, its histories and its records come from the one generator
(`generate.build`); this module only decides *when* each record reaches the statistical
office, and in which version:

- the border agency delivers each month the crossings of that month, and a share of
  crossings late, in the file of one of the next months (`late_crossing_share`);
- the population register delivers its changes: the register as it stands at the start
  in the first month, then each month the new registrations, and the deregistrations as a
  new version of the registration record (same record_id, `deregistered_on` filled);
- the migration service delivers new applications as pending, and each decision as a new
  version of the application record (same record_id, decision and validity filled);
- a share of records of every source is first delivered with an identifying error (a
  surname typo, a date of birth a day off, a mistyped document number) and corrected by
  a later version (`correction_share`).

A later version of a record_id supersedes the earlier one. The last version of every
record is the record of the single delivery `regmig synth` writes for the same settings,
except corrections that would arrive after the last month: those records keep their
error. Folders: `DIR/YYYY-MM/<source>_YYYY-MM.csv|parquet` (a source with no rows that
month has no file), the truth of the whole span in `DIR/truth/` (as `regmig synth`
writes it) and `truth/deliveries.parquet`, one row per delivered version.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import time
from pathlib import Path

import numpy as np
import polars as pl

from regmig.config import MonthlyConfig, SynthConfig
from regmig.errors import RegmigError
from regmig.synth.generate import (
    FILE_FORMATS,
    SOURCES,
    FolderWriter,
    SynthSummary,
    build,
    parameters,
)
from regmig.synth.names import with_typos

#: Name of a month's delivery folder.
MONTH_FOLDER = re.compile(r"\d{4}-\d{2}")
#: The identifying errors a correction repairs (drawn with equal chance).
ERRORS = ("surname", "date_of_birth", "document_number")
#: The random stream of delivery timing, apart from the generator's streams.
_STREAM = 17
#: Internal columns of the version rows (never written).
_FIRST, _CHANGE, _CORRECT, _ERROR, _MONTH = "_first", "_change", "_correct", "_error_kind", "_month"

#: Each source: the columns a pending state empties, and the date that ends it.
_STATE_CHANGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "population_register": ("deregistered_on", ("deregistered_on", "deregistration_reason")),
    "permits": ("decision_date", ("decision", "decision_date", "valid_from", "valid_to")),
}


def month_label(index: int) -> str:
    """'YYYY-MM' of a month index (year * 12 + month - 1)."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _month_labels(index: pl.Expr) -> pl.Expr:
    return pl.format("{}-{}", index // 12, (index % 12 + 1).cast(pl.String).str.zfill(2))


def _month_of(column: str) -> pl.Expr:
    date = pl.col(column).str.slice(0, 10).str.to_date() \
        if column == "crossed_at" else pl.col(column)
    return (date.dt.year().cast(pl.Int64) * 12 + date.dt.month().cast(pl.Int64) - 1)


def check_monthly(monthly: MonthlyConfig) -> None:
    for name in ("late_crossing_share", "correction_share"):
        if not 0 <= getattr(monthly, name) <= 1:
            raise RegmigError(f"monthly.{name} must be between 0 and 1")
    for name in ("late_months_max", "correction_months_max"):
        if getattr(monthly, name) < 1:
            raise RegmigError(f"monthly.{name} must be at least 1")


def monthly_versions(frames: dict[str, pl.DataFrame], first_month: int, last_month: int,
                     monthly: MonthlyConfig, seed: int) -> dict[str, pl.DataFrame]:
    """Every delivered version of every record, per source: the delivery's columns plus
    `_month` (the month index it is delivered in), `_version` (1, 2, ...), and what the
    version is (`_late`, `_error`, `_pending`)."""
    rng = np.random.default_rng([seed, _STREAM])
    out = {}
    for source in SOURCES:
        frame = frames[source]
        n = frame.height
        if source == "border_crossings":
            late = rng.random(n) < monthly.late_crossing_share
            delay = np.where(late, rng.integers(1, monthly.late_months_max + 1, size=n), 0)
            first = frame.select(_month_of("crossed_at")).to_series() + delay
        else:
            start = "registered_from" if source == "population_register" else \
                "application_date"
            first = frame.select(_month_of(start)).to_series()
            late = np.zeros(n, dtype=bool)
        first = first.clip(lower_bound=first_month, upper_bound=last_month)
        corrected = rng.random(n) < monthly.correction_share
        correct_at = first + rng.integers(1, monthly.correction_months_max + 1, size=n)
        error = rng.integers(0, len(ERRORS), size=n)
        timed = frame.with_columns(
            pl.Series(_FIRST, first),
            pl.when(pl.Series(corrected)).then(pl.Series(correct_at)).alias(_CORRECT),
            pl.Series(_ERROR, error),
            pl.Series("_late", late),
        )
        if source in _STATE_CHANGES:
            ended, _ = _STATE_CHANGES[source]
            timed = timed.with_columns(_month_of(ended).alias(_CHANGE))
        else:
            timed = timed.with_columns(pl.lit(None, dtype=pl.Int64).alias(_CHANGE))
        out[source] = _versions(timed, source, last_month, rng)
    return out


def _versions(timed: pl.DataFrame, source: str, last_month: int,
              rng: np.random.Generator) -> pl.DataFrame:
    """One row per (record, month it is delivered in), with the values of that version."""
    months = pl.concat_list(
        pl.col(_FIRST),
        pl.when(pl.col(_CHANGE) > pl.col(_FIRST)).then(pl.col(_CHANGE)),
        pl.when(pl.col(_CORRECT) <= last_month).then(pl.col(_CORRECT)),
    ).list.drop_nulls().list.unique().list.sort()
    rows = timed.with_columns(months.alias(_MONTH)).explode(_MONTH).with_columns(
        pl.int_range(1, pl.len() + 1).over("record_id").alias("_version"))
    in_error = pl.col(_CORRECT).is_not_null() & (pl.col(_MONTH) < pl.col(_CORRECT))
    pending = pl.col(_CHANGE).is_not_null() & (pl.col(_MONTH) < pl.col(_CHANGE))
    rows = rows.with_columns(in_error.alias("_in_error"), pending.alias("_pending"))
    # errors: a surname typo, a date of birth a day off, the document's last digit
    n = rows.height
    typo = with_typos(rows["surname"].fill_null(""), rng.random(n), rng.random(n))
    wrong = {
        "surname": typo,
        "date_of_birth": rows.select(pl.col("date_of_birth") + pl.duration(days=1)
                                     ).to_series(),
        "document_number": rows.select(
            pl.col("document_number").str.slice(0, pl.col("document_number").str.len_chars()
                                                - 1)
            + ((pl.col("document_number").str.slice(-1).cast(pl.Int64, strict=False)
                .fill_null(0) + 1) % 10).cast(pl.String)).to_series(),
    }
    # a record whose erroneous field is empty is delivered right the first time
    hit = {column: pl.col("_in_error") & (pl.col(_ERROR) == k) & pl.col(column).is_not_null()
           for k, column in enumerate(ERRORS)}
    rows = rows.with_columns(
        pl.coalesce(*(pl.when(hit[c]).then(pl.lit(c)) for c in ERRORS)).alias("_error"),
        *(pl.when(hit[c]).then(wrong[c]).otherwise(pl.col(c)).alias(c) for c in ERRORS))
    if source in _STATE_CHANGES:
        _, emptied = _STATE_CHANGES[source]
        rows = rows.with_columns(
            (pl.when(pl.col("_pending")).then(pl.lit("pending")).otherwise(pl.col(c))
             if c == "decision" else
             pl.when(pl.col("_pending")).then(None).otherwise(pl.col(c))).alias(c)
            for c in emptied)
    return rows.select(*[c for c in timed.columns if not c.startswith("_")],
                       _MONTH, "_version", "_late", "_error", "_pending")


def generate_monthly(config: SynthConfig, monthly: MonthlyConfig, out_dir: Path,
                     file_format: str = "csv", country: str = "ARM") -> SynthSummary:
    """Write one delivery folder per month of the span and the truth beside them."""
    check_monthly(monthly)
    if file_format not in FILE_FORMATS:
        raise RegmigError(f"--format must be csv or parquet, got {file_format!r}")
    out_dir = Path(out_dir)
    built = build(config, country)
    clock = time.perf_counter()
    first_month, last_month = config.start_year * 12, config.end_year * 12 + 11
    frames = {source: built.deliveries[source].frame for source in SOURCES}
    versions = monthly_versions(frames, first_month, last_month, monthly, config.seed)
    built.timings["monthly_versions"] = round(time.perf_counter() - clock, 3)

    writer = FolderWriter(out_dir, file_format)
    for old in out_dir.iterdir():  # month folders of an earlier, longer span
        if old.is_dir() and MONTH_FOLDER.fullmatch(old.name):
            shutil.rmtree(old)
    clock = time.perf_counter()
    rows: dict[str, int] = {}
    order = {"border_crossings": ["crossed_at", "record_id"]}
    for month in range(first_month, last_month + 1):
        label = month_label(month)
        folder = out_dir / label
        folder.mkdir()
        for source in SOURCES:
            part = versions[source].filter(pl.col(_MONTH) == month).sort(
                order.get(source, ["record_id"])).select(frames[source].columns)
            if part.height == 0:
                continue
            path = folder / f"{source}_{label}.{file_format}"
            if file_format == "csv":
                part.write_csv(path, date_format="%Y-%m-%d")
            else:
                part.write_parquet(path, statistics=False)
            rows[source] = rows.get(source, 0) + part.height
    for name, frame in built.truth.items():
        writer.truth(name, frame)
    writer.truth("deliveries", pl.concat([
        versions[source].select(
            pl.lit(source).alias("source"), "record_id",
            _month_labels(pl.col(_MONTH)).alias("delivered_in"),
            pl.col("_version").cast(pl.Int32).alias("version"),
            pl.col("_late").alias("late"), pl.col("_error").alias("error"),
            pl.col("_pending").alias("pending"))
        for source in SOURCES]))
    values = parameters(built)
    values["monthly"] = {
        **dataclasses.asdict(monthly),
        "months": [month_label(first_month), month_label(last_month)],
        "layout": "one folder per month, YYYY-MM/<source>_YYYY-MM.<format>; a later "
                  "version of a record_id supersedes the earlier one",
    }
    writer.parameters(values)
    built.timings["write"] = round(time.perf_counter() - clock, 3)
    months = last_month - first_month + 1
    return SynthSummary({**{f"{s} (all {months} months, versions)": n for s, n in rows.items()},
                         **writer.rows}, dict(built.timings), {}, out_dir)
