"""`generate`: the synthetic population end to end, written as a delivery folder with its
ground truth in `truth/`."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pycountry

from regmig.config import SynthConfig
from regmig.errors import RegmigError
from regmig.synth import truth as truth_tables
from regmig.synth.countries import LAND_NEIGHBOURS, CountryIndex
from regmig.synth.deliveries import (
    Delivered,
    crossing_records,
    permit_records,
    register_records,
)
from regmig.synth.documents import issue_documents
from regmig.synth.names import build_name_table
from regmig.synth.noise import NoiseRates
from regmig.synth.permits import permit_applications
from regmig.synth.population import Population, draw_population, persona_counts
from regmig.synth.register import ensure_consistent, register_spells
from regmig.synth.timeline import Span, to_date
from regmig.synth.travel import (
    TREND_SETTINGS,
    Crossings,
    LifeEvents,
    Trends,
    simulate_travel,
)
from regmig.synth.truth_rule import RuleResult

SOURCES = ("border_crossings", "population_register", "permits")
FILE_FORMATS = ("csv", "parquet")
#: Independent random streams, one per step, so changing one step leaves the others alone.
_STREAMS = ("population", "travel", "documents", "register", "permits", "crossing_records",
            "register_records", "permit_records")


@dataclass
class SynthSummary:
    row_counts: dict[str, int]
    timings: dict[str, float]
    input_hashes: dict[str, str] = field(default_factory=dict)
    out_dir: Path | None = None

    def lines(self) -> list[str]:
        out = [f"synthetic delivery written to {self.out_dir}"]
        out += [f"  {name}: {count:,} rows" for name, count in self.row_counts.items()]
        out.append(f"  time: {sum(self.timings.values()):.1f} s")
        return out


@dataclass
class Built:
    """Everything one simulation produced, in memory (tests measure noise with it)."""

    config: SynthConfig
    country: str
    span: Span
    codes: tuple[str, ...]
    population: Population
    events: LifeEvents
    crossings: Crossings
    rule: RuleResult
    deliveries: dict[str, Delivered]
    truth: dict[str, pl.DataFrame]
    rates: dict[str, NoiseRates]  # by source
    timings: dict[str, float]


def check_config(config: SynthConfig, country: str) -> None:
    if config.persons < 1:
        raise RegmigError(f"--persons must be at least 1, got {config.persons}")
    if config.end_year < config.start_year:
        raise RegmigError(f"--end {config.end_year} is before --start {config.start_year}")
    if not 1900 < config.start_year < 2200:
        raise RegmigError(f"--start {config.start_year} is not a plausible year")
    if config.noise_scale < 0:
        raise RegmigError(f"--noise-scale must be 0 or more, got {config.noise_scale}")
    for name in ("edge_case_share", "emigrant_never_deregisters"):
        if not 0 <= getattr(config, name) <= 1:
            raise RegmigError(f"synth.{name} must be between 0 and 1")
    if sum(persona_counts(config.persons, config.edge_case_share).values()) != config.persons \
            or min(persona_counts(config.persons, config.edge_case_share).values()) < 0:
        raise RegmigError(f"--persons {config.persons} is too few for the persona mix")
    if pycountry.countries.get(alpha_3=country) is None:
        raise RegmigError(f"{country!r} is not an ISO 3166-1 alpha-3 country code")


class FolderWriter:
    """Writes each table as soon as it is made, so `build` need not hold them all."""

    def __init__(self, out_dir: Path, file_format: str) -> None:
        if file_format not in FILE_FORMATS:
            raise RegmigError(f"--format must be csv or parquet, got {file_format!r}")
        self.out_dir = Path(out_dir)
        self.file_format = file_format
        self.rows: dict[str, int] = {}
        self.seconds = 0.0
        self._parquet: dict[str, pq.ParquetWriter] = {}
        try:
            (self.out_dir / "truth").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RegmigError(
                f"{self.out_dir}: cannot create the output folder ({exc.strerror})") from None
        for source in SOURCES:
            for old in FILE_FORMATS:  # never leave a stale file of the other format behind
                (self.out_dir / f"{source}.{old}").unlink(missing_ok=True)

    def delivery(self, source: str, frame: pl.DataFrame) -> None:
        """Write a delivery, or append a chunk of it (the first chunk starts the file)."""
        clock = time.perf_counter()
        path = self.out_dir / f"{source}.{self.file_format}"
        first = source not in self.rows
        if self.file_format == "csv":
            with path.open("w" if first else "a", encoding="utf-8", newline="") as out:
                frame.write_csv(out, date_format="%Y-%m-%d", include_header=first)
        else:
            table = frame.to_arrow()
            if first:
                self._parquet[source] = pq.ParquetWriter(path, table.schema,
                                                         write_statistics=False)
            self._parquet[source].write_table(table)
        self.rows[source] = self.rows.get(source, 0) + frame.height
        self.seconds += time.perf_counter() - clock

    def close(self) -> None:
        for writer in self._parquet.values():
            writer.close()
        self._parquet.clear()

    def truth(self, name: str, frame: pl.DataFrame) -> None:
        clock = time.perf_counter()
        frame.write_parquet(self.out_dir / "truth" / f"{name}.parquet", statistics=False,
                            compression="zstd")
        self.rows[f"truth/{name}"] = frame.height
        self.seconds += time.perf_counter() - clock

    def parameters(self, values: dict) -> None:
        (self.out_dir / "truth" / "parameters.json").write_text(
            json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def build(config: SynthConfig, country: str = "ARM",
          writer: FolderWriter | None = None) -> Built:
    """Simulate the population, its histories, records and truth. With a `writer`, each
    table is written as soon as it is made and not kept (the returned deliveries then hold
    only record ids, and `truth` is empty); without one, everything stays in memory."""
    check_config(config, country)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    written = 0.0

    def lap(name: str) -> None:
        """Time of the step, less the time spent writing files during it."""
        nonlocal clock, written
        now = time.perf_counter()
        writing = writer.seconds - written if writer is not None else 0.0
        timings[name] = round(now - clock - writing, 3)
        written += writing
        clock = now

    streams = dict(zip(_STREAMS, (np.random.default_rng(s) for s in
                                  np.random.SeedSequence(config.seed).spawn(len(_STREAMS))),
                       strict=True))
    rule = config.rule
    span = Span(config.start_year, config.end_year,
                rule.window_days + config.extra_days_after_window)
    countries = CountryIndex(country)
    codes = countries.codes
    home = countries.home
    names = build_name_table()
    rates = {source: NoiseRates.from_config(config, source) for source in SOURCES}

    pop = draw_population(streams["population"], config.persons, config.edge_case_share, span,
                          countries, names)
    lap("population")
    crossings, events = simulate_travel(streams["travel"], pop, span, countries,
                                        rule.threshold_days, rule.window_days,
                                        Trends.from_config(config))
    lap("travel")
    docs = issue_documents(streams["documents"], pop, span, home)
    spells = register_spells(streams["register"], pop, events, span,
                             config.emigrant_never_deregisters, home)
    ensure_consistent(spells, pop, span)
    apps = permit_applications(streams["permits"], pop, events, span)
    lap("documents_register_permits")

    deliveries: dict[str, Delivered] = {}

    def deliver(source: str, delivered: Delivered) -> None:
        if writer is not None:
            writer.delivery(source, delivered.frame)
            delivered = Delivered(delivered.frame.select("record_id"), delivered.person, {},
                                  None)
        deliveries[source] = delivered

    border, crossing_truth = crossing_records(
        streams["crossing_records"], crossings, pop, events, docs, span, codes, names,
        rates["border_crossings"], home,
        emit=None if writer is None else partial(writer.delivery, "border_crossings"))
    if writer is not None:
        border.clean = None  # only tests measuring noise need the true details per record
    deliveries["border_crossings"] = border
    del border
    deliver("population_register", register_records(
        streams["register_records"], spells, pop, docs, span, codes, names,
        rates["population_register"], country))
    deliver("permits", permit_records(streams["permit_records"], apps, pop, docs, codes,
                                      names, rates["permits"]))
    lap("records")
    result = truth_tables.classify(crossings, pop, span, rule.threshold_days,
                                   rule.window_days)
    lap("residence_rule")
    truth: dict[str, pl.DataFrame] = {}
    tables = _truth(span, codes, home, pop, crossings, result, deliveries, crossing_truth)
    del crossing_truth  # the generator holds the only reference and drops it when done
    for name, frame in tables:
        if writer is None:
            truth[name] = frame
        else:
            writer.truth(name, frame)
        del frame
    lap("truth")
    built = Built(config, country, span, codes, pop, events, crossings, result, deliveries,
                  truth, rates, timings)
    if writer is not None:
        writer.parameters(parameters(built))
        timings["write"] = round(writer.seconds, 3)
    return built


def _truth(span: Span, codes: tuple[str, ...], home: int, pop: Population,
           crossings: Crossings, result: RuleResult, deliveries: dict[str, Delivered],
           crossing_truth: pl.DataFrame) -> Iterator[tuple[str, pl.DataFrame]]:
    """The truth tables, one at a time (so a writer can drop each after writing it)."""
    yield "record_person", pl.concat([
        pl.DataFrame({"source": pl.repeat(source, d.frame.height, dtype=pl.String,
                                          eager=True),
                      "record_id": d.frame["record_id"],
                      "person_id": (d.person + 1).astype(np.int64)})
        for source, d in deliveries.items()
    ])
    in_register = np.zeros(len(pop), dtype=bool)
    in_register[deliveries["population_register"].person] = True
    yield "persons", truth_tables.persons_table(pop, span, codes, home, in_register)
    yield "crossings", crossing_truth.with_columns(
        person_id=pl.col("person_index") + 1
    ).sort("person_id", "crossed_at").select(
        "person_id", "crossing_date", "direction", "recorded", "record_id",
        "origin_destination", "document_country")
    del crossing_truth
    yield "initial_residence", truth_tables.initial_table(pop, span)
    status, events = truth_tables.crossing_tables(crossings, result, pop, span, codes, home)
    yield "crossing_status", status
    del status
    yield "migration_events", events
    yield "stock", truth_tables.stock_table(crossings, result, pop, span, codes, home)


def parameters(built: Built) -> dict:
    config = built.config
    synth_config = dataclasses.asdict(config)
    if config.noise_profile == "default":  # as before the hard profile existed
        synth_config.pop("noise_profile")
        synth_config.pop("hard_noise")
    for name in TREND_SETTINGS:  # as before trends existed, when there are none
        if synth_config[name] == getattr(SynthConfig, name):
            synth_config.pop(name)
    return {
        "synth_config": synth_config,
        "country": built.country,
        "data_start": to_date(built.span.start).isoformat(),
        "data_end": to_date(built.span.end).isoformat(),
        "history_horizon": to_date(built.span.horizon).isoformat(),
        "rule": {"threshold_days": config.rule.threshold_days,
                 "window_days": config.rule.window_days},
        "noise_rates_applied": {source: rates.as_dict()
                                for source, rates in built.rates.items()},
        "persona_counts": persona_counts(config.persons, config.edge_case_share),
        "land_neighbours": sorted(LAND_NEIGHBOURS),
        "definitions": {
            "initial_residence": "1 for everyone in the register at the start (all truly "
                                 "resident then) and for the newborn from birth; else 0",
            "decided_by_data_end": "the crossing's window closed by the data end, or the "
                                   "days observed up to it already reach V or can no longer "
                                   "reach V (days in for an arrival, out for a departure)",
            "stock": truth_tables.STOCK_CONVENTION,
            "in_register": "the person has at least one row in population_register",
            "crossings": "true crossings dated in the delivery span; histories were "
                         "simulated to history_horizon so every window closes",
        },
    }


def generate(config: SynthConfig, out_dir: Path, file_format: str = "csv",
             country: str = "ARM") -> SynthSummary:
    """Simulate `config.persons` persons and write the three deliveries and `truth/`."""
    check_config(config, country)
    writer = FolderWriter(Path(out_dir), file_format)
    try:
        built = build(config, country, writer)
    finally:
        writer.close()
    config_json = json.dumps(dataclasses.asdict(config), sort_keys=True)
    hashes = {"synth_config": hashlib.sha256(config_json.encode()).hexdigest()}
    return SynthSummary(writer.rows, dict(built.timings), hashes, Path(out_dir))
