"""The one typed configuration object of regmig, and the one place its defaults live.

A run's configuration is `Config`, built from these defaults and, optionally, a TOML file
whose tables mirror the sections below (`[residence]`, `[linkage]`, ...). Unknown keys are
an error, so a typo in a config file never silently falls back to a default.

Example `regmig.toml`::

    [residence]
    threshold_days = 274    # a 9/12 rule
    window_days = 365

    [disclosure]
    threshold = 10
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from regmig.errors import RegmigError

RepairPolicy = Literal["midpoint", "drop", "refuse", "evidence"]
DisclosureMethod = Literal["suppression", "rounding"]
AgeClassification = Literal["five_year", "single_year"]
Engine = Literal["duckdb", "spark"]


@dataclass(frozen=True)
class ResidenceRule:
    """A V/W residence rule: V days in (or out) within the W days after a crossing."""

    threshold_days: int = 365
    window_days: int = 487

    @property
    def label(self) -> str:
        return f"{round(self.threshold_days / 30.4375)}/{round(self.window_days / 30.4375)}"


#: Rules reported side by side in the sensitivity table (12/16, 12/12, 9/12).
SENSITIVITY_RULES: tuple[ResidenceRule, ...] = (
    ResidenceRule(365, 487),
    ResidenceRule(365, 365),
    ResidenceRule(274, 365),
)


@dataclass(frozen=True)
class IngestConfig:
    #: Environment variable holding the HMAC-SHA256 pseudonymisation key.
    pseudonym_key_env: str = "REGMIG_PSEUDONYM_KEY"
    #: Alternatively a file holding the key (readable by its owner only).
    pseudonym_key_file: Path | None = None
    #: Shortest document number (characters, after cleaning) given a neighbourhood of
    #: pseudonyms one character apart (ingest/document_neighbours.py); shorter numbers
    #: have too many strangers' numbers one character away.
    document_neighbour_min_length: int = 6
    #: Earliest plausible date in any delivery: an earlier optional date is set empty and
    #: flagged, an earlier required date (crossed_at, registered_from) quarantines its row.
    earliest_plausible_date: str = "1900-01-01"
    #: Days after the day a delivery is loaded (UTC) that a delivered event date (a
    #: crossing, registration, deregistration, application or decision; not a permit's
    #: validity) may lie: later is implausible, like a date before the earliest. One day
    #: allows for local times ahead of UTC.
    event_date_horizon_days: int = 1
    #: Values that stand for "no identifier" in a document number, personal id or permit
    #: id, compared after the identifier is reduced to upper-case letters and digits
    #: ("n/a" is "NA"). They get no pseudonym: one shared key would link strangers.
    identifier_placeholders: tuple[str, ...] = (
        "NULL", "NONE", "NIL", "NA", "NAN", "UNKNOWN", "UNK", "NOTKNOWN", "MISSING",
        "EMPTY", "NOTAPPLICABLE", "TBD", "TEST",
    )
    #: A reduced identifier made of one character repeated (0, 000000, XXXX, 9999) is a
    #: placeholder too.
    repeated_character_is_placeholder: bool = True
    #: Bytes of CSV parsed per batch (bounds memory: about 0.5 million crossings).
    csv_block_bytes: int = 64 * 1024 * 1024
    #: Rows per batch read from a Parquet delivery.
    parquet_batch_rows: int = 500_000
    #: Batches read ahead, and batches written behind, while one is being cleaned.
    overlap_batches: int = 2
    #: DuckDB memory limit of each database while ingest loads it (DuckDB's default, 80%
    #: of RAM per database, lets its page cache grow with the size of the delivery).
    duckdb_memory_limit: str = "1GB"


@dataclass(frozen=True)
class LinkageConfig:
    #: Pairs at or above this match probability are joined into one person.
    cluster_threshold: float = 0.95
    #: A profile alone in its cluster joins the one cluster all its links at or above
    #: this probability point into (linkage/clustering.py); None turns it off.
    attach_threshold: float | None = 0.5
    #: A crossing profile alone in its cluster whose crossings each fill a gap in the
    #: travel history of exactly one cluster it links to at or above this probability (an
    #: arrival between two departures, or a departure between two arrivals) joins that
    #: cluster (linkage/clustering.py); None turns it off. The travel history is the
    #: evidence here, so the names need only make the candidate plausible.
    travel_attach_threshold: float | None = 0.01
    #: Pairs scored below this are not kept at all: the lowest probability any step above
    #: reads (the travel-history attachment).
    predict_threshold: float = 0.01
    #: Comparisons (pairs scored) always allowed, whatever the size of the delivery ...
    comparison_budget: int = 5_000_000
    #: ... plus this many per profile, so the budget grows with the data. When the
    #: blocking passes need more, the largest blocks of every pass are left out (one cap
    #: on block size, reported in meta.quality); no pass is ever dropped whole.
    comparisons_per_profile: float = 8.0
    #: Share of profiles that must carry a column for the model to compare it, block on
    #: it or train on it (below it the column counts as absent from the delivery).
    min_column_coverage: float = 0.01
    #: Pairs an EM training pass must find to be used (fewer: the pass is skipped).
    em_min_pairs: int = 500
    #: Comparisons an EM pass must leave free (not read by its blocking keys) to be used.
    #: A latent-class model needs three conditionally independent indicators to be
    #: identified: with one or two, EM reproduces the split of a free comparison (a pair
    #: that differs on it becomes a non-match) instead of learning how often matches differ.
    em_min_free_comparisons: int = 3
    #: Prior when no near-certain rule finds pairs: expected matches per profile.
    default_matches_per_profile: float = 1.0
    #: Pairs sampled to estimate u probabilities.
    u_max_pairs: int = 1_000_000
    #: Pairs used in each EM training pass.
    em_max_pairs: int = 1_000_000
    #: Random seed for sampling in training, so a retrain is repeatable.
    seed: int = 42
    #: Retrain the model even when a trained one is stored in the warehouse.
    retrain: bool = False
    #: Width of the band around the threshold sampled for clerical review.
    review_band: tuple[float, float] = (0.5, 0.99)
    review_sample_size: int = 200
    #: Recall assumed for the deterministic rules that estimate the prior match
    #: probability (exact name, date of birth; same document).
    deterministic_rule_recall: float = 0.8
    #: Smallest m probability of any comparison level after training: no single
    #: disagreement (a mistyped sex, a wrong country) may veto a match on its own.
    m_probability_floor: float = 0.002
    #: Scored pairs per prediction chunk: more pairs, more chunks (bounds memory).
    predict_pairs_per_chunk: int = 15_000_000
    #: Memory the in-memory Splink database may use before spilling to disk.
    duckdb_memory_limit: str = "8GB"
    #: Threads of the Splink database (0 = all cores).
    duckdb_threads: int = 0
    #: Pairs shown in the waterfall chart of the linkage report.
    report_waterfall_pairs: int = 10


@dataclass(frozen=True)
class EstimateConfig:
    rule: ResidenceRule = field(default_factory=ResidenceRule)
    #: What to do with two consecutive crossings in the same direction.
    repair_policy: RepairPolicy = "evidence"
    #: Coverage of the interval carried by provisional totals.
    interval_level: float = 0.95
    #: Number of earlier cut-off dates used to backtest the provisional model.
    backtest_cuts: int = 4
    #: Reference dates of stocks: 1 January of each year (month, day).
    stock_reference_month_day: tuple[int, int] = (1, 1)
    #: Provisional model: one logistic model per lag band (days after the crossing) and
    #: direction; bands are this many days wide, from 0 to W.
    provisional_lag_step_days: int = 61
    #: Fewest crossings whose window has closed needed to train the provisional model.
    provisional_min_training: int = 100
    #: Ridge penalty of the provisional logistic model.
    provisional_ridge: float = 1.0
    #: Time blocks used to estimate the provisional model's error on totals.
    provisional_cv_folds: int = 3
    #: Training rows per band and direction of crossings that look like failing, a seeded
    #: sample (weighted up) when there are more; those that look like qualifying are all
    #: kept.
    provisional_max_training_rows: int = 40_000
    provisional_seed: int = 7
    #: Training crossings weigh half as much for every this many days they are older
    #: than the newest of their band (0: all alike), so the model follows a changing
    #: population; those older than provisional_training_days are left out.
    provisional_half_life_days: int = 730
    #: Training crossings made more than this many days before the data end are not used.
    provisional_training_days: int = 1461
    #: Backtests: earliest cut = start of data + W + this many days (training needs
    #: crossings whose window has closed); latest cut = end of data - W.
    backtest_min_training_days: int = 60
    #: Length of the period whose total each backtest compares (days, ending on the cut).
    backtest_period_days: int = 365
    #: `regmig classify`: bad rows of an input file reported (one line each) before the
    #: rest are counted only.
    classify_errors_shown: int = 20
    #: Threads numpy's BLAS may use in the provisional model's fits (0: BLAS's default,
    #: one per core). One: a multithreaded BLAS busy-waits for cores a shared machine is
    #: running other work on, and takes 15 times as long as one thread (measured).
    blas_threads: int = 1


@dataclass(frozen=True)
class DisclosureConfig:
    #: Cells with 1..threshold-1 units are primary-suppressed; the audit requires every
    #: primary cell's deducible interval to be at least this wide.
    threshold: int = 5
    #: Whether a cell of exactly `threshold` units is protected too (cells 1..threshold
    #: primary, every interval at least threshold + 1 wide): the IOM tables' "up to 5".
    threshold_inclusive: bool = False
    #: What the CSV and XLSX show for a confidential cell ("c" as Eurostat; "*" as the
    #: IOM tables). SDMX-CSV always says CONF_STATUS C.
    symbol: str = "c"
    zeros_disclosive: bool = False
    method: DisclosureMethod = "suppression"
    #: Base of the (unbiased random) rounding used when method = "rounding".
    rounding_base: int = 5
    #: Seed of the random rounding, so a re-run releases the same numbers.
    rounding_seed: int = 20070711
    #: Seconds per table family the integer program may spend improving on the fast
    #: repaired pattern (0: keep the repaired pattern). Only a guard: the search is
    #: bounded by work (rounds and nodes below), so that a re-run finds the same pattern
    #: whatever the machine's load; a search this cuts short depends on the machine.
    solver_time_limit: float = 300.0
    #: Branch-and-bound nodes per solve of the integer program.
    solver_max_nodes: int = 100
    #: Rounds of (solve, attack, add cuts) of the integer program; the best pattern the
    #: attacker could not break is kept.
    max_suppression_rounds: int = 4
    #: Processes protecting independent table families at once (1: one after another).
    workers: int = 2
    #: The audit bounds a component of at most this many unknown cells exactly over the
    #: integers (a small mixed-integer program); larger ones by the LP bound rounded in.
    audit_integer_max_cells: int = 40
    #: Age breakdown of the Eurostat tables: "five_year" (Y_LT5 ... Y_GE85) or
    #: "single_year" (Y_LT1, Y1 ... Y_GE100).
    age_classification: AgeClassification = "five_year"

    @property
    def primary_max(self) -> int:
        """Largest count that is primary (suppressed for being small)."""
        return self.threshold if self.threshold_inclusive else self.threshold - 1

    @property
    def protection_width(self) -> int:
        """Width every primary cell's deducible interval must reach: primary_max + 1."""
        return self.primary_max + 1


NoiseProfile = Literal["default", "hard"]


@dataclass(frozen=True)
class HardNoise:
    """Identifier noise of `regmig synth --noise hard`: as hard as real registers.

    Each rate is the share of records hit by that kind of error, in every source (times
    noise_scale and the per-source scales of SynthConfig). The first eight replace the
    default profile's rates of the same name; the others exist only in this profile.
    """

    #: A keyboard slip (neighbouring key, dropped, doubled or swapped letter) in a name.
    typo: float = 0.08
    #: Another Latin transliteration (-yan/-ian, kh/h/x, ...) or Cyrillic script.
    transliteration: float = 0.20
    #: Given name and surname exchanged.
    name_swap: float = 0.03
    #: Day and month of birth exchanged.
    dob_day_month_swap: float = 0.02
    #: Date of birth not recorded.
    dob_missing: float = 0.12
    sex_missing: float = 0.05
    #: Another country's code as citizenship.
    citizenship_wrong: float = 0.03
    #: Document number not recorded (register and permits; crossings always show one).
    document_missing: float = 0.05
    #: A scanner's confusion in a name (rn/m, cl/d, h/b, u/v, e/c, O/0, I/l).
    ocr_typo: float = 0.03
    #: A spelling by ear (f/ph, k/c, v/w, i/y, a doubled or single consonant, ...).
    phonetic: float = 0.05
    #: The given name as a diminutive or its equivalent in another language (Aleksandr/
    #: Sasha, Mariya/Masha, Hovhannes/Ivan: the table in synth/name_variants.py).
    nickname: float = 0.06
    #: A name cut short (the first letters, or only the initial).
    name_truncated: float = 0.02
    #: Given name and surname written together into the surname field.
    name_merged: float = 0.015
    #: Both names in the script of their language: Armenian, Georgian, else Cyrillic.
    native_script: float = 0.10
    #: Date of birth replaced by a default: 1 January of the year, or the 1st of the month.
    dob_default: float = 0.03
    #: A typo in the year of birth (a digit off by one, or two digits swapped).
    dob_year_typo: float = 0.02
    #: The date of birth of another member of the household (same surname) copied in.
    dob_household: float = 0.01
    #: One character of the document number mistyped.
    document_typo: float = 0.02
    #: The other sex code.
    sex_wrong: float = 0.01


@dataclass(frozen=True)
class SynthConfig:
    persons: int = 5_000
    seed: int = 1
    start_year: int = 2022
    end_year: int = 2024
    #: Share of emigrants who never deregister from the population register.
    emigrant_never_deregisters: float = 0.60
    #: Share of persons whose stays sit at the residence rule's edges.
    edge_case_share: float = 0.03
    #: Identifier noise: the share of records hit by each kind, in every source (times
    #: noise_scale and the source's own scale below). Missing document numbers apply to
    #: the register and permits only: a crossing always shows its document.
    noise_typo: float = 0.02
    noise_transliteration: float = 0.10
    noise_name_swap: float = 0.01
    noise_dob_day_month_swap: float = 0.01
    noise_dob_missing: float = 0.02
    noise_sex_missing: float = 0.02
    noise_citizenship_wrong: float = 0.005
    noise_document_missing: float = 0.01
    #: Share of true crossings never recorded (e.g. an exit missing).
    crossing_not_recorded: float = 0.005
    #: "default" (the rates above; data/sample/ is built with it) or "hard" (the rates of
    #: `hard_noise`, with every kind of error real registers carry).
    noise_profile: NoiseProfile = "default"
    hard_noise: HardNoise = field(default_factory=HardNoise)
    #: Multiplies every noise rate above (0 turns all noise off).
    noise_scale: float = 1.0
    #: Per-source multipliers of the identifier-noise rates.
    noise_scale_border_crossings: float = 1.0
    noise_scale_population_register: float = 1.0
    noise_scale_permits: float = 1.0
    #: The residence rule the truth's migration events follow (same default as estimate).
    rule: ResidenceRule = field(default_factory=ResidenceRule)
    #: Days the true histories run beyond the data end, on top of the rule's window, so
    #: every crossing in the delivery span is decided in truth.
    extra_days_after_window: int = 30
    #: Trends of the flows (0 and 0: none, the default profile). Immigrants' arrivals
    #: (work, study and family immigrants, asylum seekers, returning citizens) and
    #: emigrants' departures (emigrating citizens, foreign residents leaving) grow by this
    #: share a year over the span (-0.1: a tenth fewer each year); the people are the
    #: same, only when they move changes.
    immigration_trend: float = 0.0
    emigration_trend: float = 0.0
    #: A shock year (0: none) in which those arrivals and departures are this many times
    #: as frequent as in the years around it.
    shock_year: int = 0
    shock_factor: float = 1.0


@dataclass(frozen=True)
class MonthlyConfig:
    """Monthly runs, and the monthly deliveries `regmig synth --monthly` writes (kept
    apart from [synth], whose values the sample's truth records)."""

    #: Share of crossings the border agency delivers late, in a later month's file.
    late_crossing_share: float = 0.02
    #: A late crossing arrives 1 to this many months after the month it was made in.
    late_months_max: int = 3
    #: Share of records first delivered with an identifying error (a surname typo, a date
    #: of birth a day off, a mistyped document number) that a later month's file corrects.
    correction_share: float = 0.01
    #: A correction arrives 1 to this many months after the erroneous record.
    correction_months_max: int = 2
    #: A run on a folder whose warehouse holds persons links only the new records
    #: (linkage/incremental.py); every this many months of data after the last full link
    #: it links everything again (0: only when asked, `regmig run --full-relink`).
    full_relink_every_months: int = 12


@dataclass(frozen=True)
class SparkConfig:
    """Spark, when `engine = "spark"`: linkage (Splink's Spark backend) and the
    tabulation SQL of estimate and publish run there (docs/operations.md)."""

    #: Spark master URL: local[N] runs Spark inside this machine on N cores (local[*]:
    #: all); a cluster's URL (spark://host:7077, yarn, k8s://https://host:443) sends the
    #: work to that cluster.
    master: str = "local[*]"
    #: Memory of the Spark driver JVM, e.g. "4g". In local mode the executors run inside
    #: the driver, so this is all the memory Spark has.
    driver_memory: str = "4g"
    #: Memory of each executor JVM on a cluster (not used in local mode).
    executor_memory: str = "4g"
    #: Partitions of Spark's shuffles (joins, aggregations): two or three per core the
    #: work runs on.
    shuffle_partitions: int = 8
    #: Folder of Spark's spill files and Splink's checkpoints, which hold names and dates
    #: of birth (restricted, like identifiers.duckdb); empty: spark_tmp/ in the run folder.
    local_dir: Path | None = None
    #: Where the warehouse tables the tabulation SQL reads are written as Parquet and
    #: declared to Spark under their own names (core.persons, ...); empty: spark_warehouse/
    #: in the run folder. On a cluster: a folder every node reads (HDFS, a shared mount).
    warehouse_dir: Path | None = None
    #: Further Spark settings passed as they are ("spark.key" = "value"): a catalog, a
    #: cluster's resources.
    conf: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    #: The reporting country, ISO 3166-1 alpha-3: its citizens are "citizens", the
    #: rest "foreign citizens"; the synthetic population lives there.
    country: str = "ARM"
    ingest: IngestConfig = field(default_factory=IngestConfig)
    linkage: LinkageConfig = field(default_factory=LinkageConfig)
    estimate: EstimateConfig = field(default_factory=EstimateConfig)
    disclosure: DisclosureConfig = field(default_factory=DisclosureConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    monthly: MonthlyConfig = field(default_factory=MonthlyConfig)
    #: Where linkage and the tabulation SQL run: "duckdb" on this machine, or "spark"
    #: (local mode or a cluster, see [spark]); `regmig run --engine` overrides it.
    engine: Engine = "duckdb"
    spark: SparkConfig = field(default_factory=SparkConfig)

    def with_rule(self, rule: ResidenceRule) -> Config:
        return dataclasses.replace(
            self, estimate=dataclasses.replace(self.estimate, rule=rule)
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready values: recorded with every run in meta.runs."""
        return _jsonable(dataclasses.asdict(self))


def load_config(path: Path | str | None = None) -> Config:
    """Defaults, overridden by the TOML file at `path` if one is given."""
    if path is None:
        return Config()
    path = Path(path)
    if not path.is_file():
        raise RegmigError(f"{path}: config file not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RegmigError(f"{path}: not a valid TOML config file ({exc})") from None
    return _build(Config, data, f"{path}")


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RegmigError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, raw in data.items():
        values[name] = _coerce(hints[name], raw, f"{where} [{name}]")
    return cls(**values)


def _coerce(hint: Any, raw: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        if not isinstance(raw, dict):
            raise RegmigError(f"{where}: expected a table of settings")
        return _build(hint, raw, where)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        if raw not in args:
            raise RegmigError(f"{where}: {raw!r} is not one of {', '.join(map(str, args))}")
        return raw
    if origin in (typing.Union, types.UnionType):
        if raw is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)][0]
        return _coerce(inner, raw, where)
    if origin is dict:
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise RegmigError(f"{where}: expected a table of text values")
        return dict(raw)
    if origin is tuple:
        if not isinstance(raw, list | tuple) or len(raw) != len(args):
            raise RegmigError(f"{where}: expected a list of {len(args)} values")
        return tuple(_coerce(a, v, where) for a, v in zip(args, raw, strict=True))
    if hint is Path:
        return Path(raw)
    if hint is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if hint in (int, float, str, bool) and not (
        isinstance(raw, hint) and not (hint is int and isinstance(raw, bool))
    ):
        raise RegmigError(f"{where}: expected {hint.__name__}, got {raw!r}")
    return raw


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
