"""The pipeline benchmark: one `regmig run` on a synthetic country, measured stage by stage.

A synthetic delivery of N persons (`regmig synth`, reused from the datasets folder when
it is there) goes through the real command line, `python -m regmig run`, in a child
process, exactly as a user runs it: Prefect's temporary server, every stage, the report.
While it runs, a sampler reads /proc every `SAMPLE_SECONDS` for the whole process tree
(the command, Prefect's server, a Spark JVM): resident memory and CPU seconds. Afterwards
the run's own records (meta.runs: when each stage started and finished, its steps and
rows; meta.quality: Splink's comparisons) cut the samples into phases:

    startup (imports, Prefect server) | ingest | link | estimate | publish | report |
    shutdown (Prefect server stop)

with `orchestration` the time between stages (Prefect creating sub-flow runs). Each
phase gets wall seconds, CPU seconds and the peak memory of the tree. A phase's peak is
sampled, so a spike shorter than the sampling interval can be missed; the whole run's
peak also comes from the kernel (the child's ru_maxrss) for comparison.

Results: one JSON per size and engine (`pipeline_<engine>_<N>.json`) and a markdown
table over every size measured (`pipeline.md`), in the results folder.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from regmig.errors import RegmigError

#: Seconds between two samples of the process tree's memory and CPU time.
SAMPLE_SECONDS = 0.5
#: The key the benchmark pseudonymises with when none is set: synthetic data only.
BENCH_KEY = "bench-key-not-for-production-0123456789abcdef"
#: Phases of a run, in order (stages between startup and report).
STAGES = ("ingest", "link", "estimate", "publish")
#: Targets of issue 16 for 1,000,000 persons on this machine (2 cores, 24 GB).
TARGETS = {"persons": 1_000_000, "wall_seconds": 600, "peak_rss_gb": 10}
_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


def dataset_name(persons: int, seed: int) -> str:
    """The shared name of a synthetic delivery: synth-<persons>-s<seed>-default."""
    return f"synth-{persons}-s{seed}-default"


def synthetic_delivery(persons: int, seed: int, root: Path) -> tuple[Path, float | None]:
    """The delivery of `persons` at `seed` under `root`, generated if absent; returns it
    and the seconds generation took (None when it was reused)."""
    target = root / dataset_name(persons, seed)
    if (target / "truth" / "parameters.json").is_file():
        return target, None
    root.mkdir(parents=True, exist_ok=True)
    partial = root / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "regmig", "synth", "--persons", str(persons),
                    "--seed", str(seed), "--out", str(partial)], check=True,
                   stdout=subprocess.DEVNULL)
    partial.rename(target)  # whole or not at all: another run may be reading the folder
    return target, time.perf_counter() - started


@dataclass
class Sample:
    at: float  # time.time()
    rss_bytes: int
    cpu_seconds: float


def _tree_usage(root_pid: int) -> tuple[int, float]:
    """Resident bytes and CPU seconds (own and reaped children's) of `root_pid` and every
    process below it."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                raw = handle.read().decode(errors="replace")
        except OSError:
            continue
        # The command name (field 2) may hold spaces: split after its closing bracket.
        fields = raw[raw.rfind(")") + 2:].split()
        pid = int(entry.name)
        stats[pid] = fields
        children.setdefault(int(fields[1]), []).append(pid)
    rss, ticks, frontier = 0, 0, [root_pid]
    while frontier:
        pid = frontier.pop()
        fields = stats.get(pid)
        if fields is None:
            continue
        # After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
        # ... rss(21, pages).
        ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))
        rss += int(fields[21]) * _PAGE
        frontier += children.get(pid, [])
    return rss, ticks / _TICKS


class TreeSampler(threading.Thread):
    """Samples a process tree's memory and CPU time until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[Sample] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            rss, cpu = _tree_usage(self.pid)
            if rss:
                self.samples.append(Sample(time.time(), rss, cpu))
            self._halt.wait(SAMPLE_SECONDS)

    def stop(self) -> list[Sample]:
        self._halt.set()
        self.join()
        return self.samples


@dataclass
class Phase:
    name: str
    start: float
    end: float

    def measure(self, samples: list[Sample]) -> dict[str, float]:
        inside = [s for s in samples if self.start <= s.at <= self.end]
        nearest = inside or [min(samples, key=lambda s: abs(s.at - self.start))]
        return {
            "wall_seconds": round(self.end - self.start, 2),
            "cpu_seconds": round(_cpu_at(samples, self.end) - _cpu_at(samples, self.start), 2),
            "peak_rss_mb": round(max(s.rss_bytes for s in nearest) / 2**20),
        }


def _cpu_at(samples: list[Sample], moment: float) -> float:
    """CPU seconds of the tree at `moment`, interpolated between the samples around it."""
    before = [s for s in samples if s.at <= moment]
    after = [s for s in samples if s.at >= moment]
    if not before:
        return after[0].cpu_seconds if after else 0.0
    if not after:
        return before[-1].cpu_seconds
    a, b = before[-1], after[0]
    if b.at == a.at:
        return a.cpu_seconds
    return a.cpu_seconds + (b.cpu_seconds - a.cpu_seconds) * (moment - a.at) / (b.at - a.at)


@dataclass
class BenchRun:
    """One measured `regmig run`."""

    persons: int
    seed: int
    engine: str
    delivery: Path
    result: dict[str, Any] = field(default_factory=dict)


def run_pipeline(delivery: Path, out_dir: Path, engine: str = "duckdb",
                 config_file: Path | None = None) -> dict[str, Any]:
    """Run `regmig run` on `delivery` in a child process and measure it."""
    env = dict(os.environ)
    env.setdefault("REGMIG_PSEUDONYM_KEY", BENCH_KEY)
    env.setdefault("PREFECT_HOME", str(out_dir.parent / ".prefect-home"))
    command = [sys.executable, "-m", "regmig", "run", "--input", str(delivery),
               "--out", str(out_dir)]
    if config_file is not None:
        command += ["--config", str(config_file)]
    if engine != "duckdb":
        command += ["--engine", engine]
    log = out_dir.parent / f"{out_dir.name}.log"
    started = time.time()
    with open(log, "w", encoding="utf-8") as output:
        child = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        sampler = TreeSampler(child.pid)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        finished = time.time()
    samples = sampler.stop()
    if child.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise RegmigError(f"regmig run failed (exit {child.returncode}); its last lines:\n"
                          + "\n".join(tail))
    measured = _from_warehouse(out_dir, started, finished, samples)
    measured["kernel_peak_rss_mb_of_child"] = round(usage.ru_maxrss / 1024)
    measured["cpu_seconds_by_kernel"] = round(usage.ru_utime + usage.ru_stime, 1)
    measured["samples"] = len(samples)
    measured["command"] = " ".join(command[1:])
    return measured


def _epoch(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


def _from_warehouse(out_dir: Path, started: float, finished: float,
                    samples: list[Sample]) -> dict[str, Any]:
    """Phases, rows and Splink figures of the run, from its meta.runs and meta.quality."""
    con = duckdb.connect(str(out_dir / "warehouse.duckdb"), read_only=True)
    try:
        runs = {
            stage: (_epoch(start), _epoch(end), status, json.loads(timings or "{}"),
                    json.loads(counts or "{}"))
            for stage, start, end, status, timings, counts in con.sql(
                "SELECT stage, started_at, finished_at, status, timings, row_counts "
                "FROM meta.runs WHERE run_id = (SELECT run_id FROM meta.runs "
                "WHERE stage = 'pipeline' ORDER BY started_at DESC LIMIT 1)"
            ).fetchall()
        }
        rows = _rows(con)
        splink = _splink(con)
        flows = _flows(con)
    finally:
        con.close()
    pipeline_start, pipeline_end = runs["pipeline"][0], runs["pipeline"][1]
    phases = [Phase("startup", started, pipeline_start)]
    previous_end, between = pipeline_start, 0.0
    for stage in STAGES:
        start, end = runs[stage][0], runs[stage][1]
        between += max(0.0, start - previous_end)
        phases.append(Phase(stage, start, end))
        previous_end = end
    phases += [Phase("report", previous_end, pipeline_end),
               Phase("shutdown", pipeline_end, finished)]
    whole = Phase("total", started, finished).measure(samples)
    return {
        "total": whole,
        "phases": {p.name: p.measure(samples) for p in phases},
        "orchestration_seconds": round(between, 2),
        "stage_status": {stage: runs[stage][2] for stage in STAGES},
        "stage_steps": {stage: runs[stage][3] for stage in STAGES},
        "row_counts": {stage: runs[stage][4] for stage in STAGES},
        "rows": rows,
        "splink": splink,
        "flows": flows,
    }


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _rows(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Rows into and out of each stage (records for ingest and link, crossings for the
    rule, events and stock rows for publish, cells out of publish)."""
    read = con.sql("SELECT coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0) "
                   "FROM meta.loads").fetchall()[0]
    raw = sum(_count(con, f"raw.{s}")
              for s in ("border_crossings", "population_register", "permits"))
    release = con.sql(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'release' "
        "AND table_name NOT IN ('table_metadata', 'information_loss')").fetchall()
    cells = sum(_count(con, f"release.{name}") for (name,) in release)
    return {
        "ingest": {"in": int(read[0]), "out": int(read[1])},
        "link": {"in": raw, "out_persons": _count(con, "core.persons"),
                 "out_records": _count(con, "core.person_map")},
        "estimate": {"in": _count(con, "core.crossings"),
                     "out_crossings": _count(con, "derived.crossing_status"),
                     "out_events": _count(con, "derived.migration_events"),
                     "out_stock": _count(con, "derived.resident_stock")},
        "publish": {"in": _count(con, "derived.migration_events")
                    + _count(con, "derived.resident_stock"), "out_cells": cells},
    }


def _splink(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Comparisons scored and the blocking rules kept or dropped (meta.quality)."""
    rows = con.sql(
        "SELECT indicator, value, detail FROM meta.quality WHERE stage = 'link' "
        "AND run_id = (SELECT run_id FROM meta.runs WHERE stage = 'link' "
        "ORDER BY started_at DESC LIMIT 1)").fetchall()
    out: dict[str, Any] = {"blocking_rules": {}}
    for indicator, value, detail in rows:
        if indicator == "comparisons_scored":
            out["comparisons"] = int(value)
        elif indicator == "blocking_comparisons" and detail:
            out["blocking_rules"][detail] = int(value)
        elif indicator == "pairs_above_predict_threshold":
            out["pairs_above_predict_threshold"] = int(value)
    out["rules_dropped"] = sum("dropped" in d for d in out["blocking_rules"])
    return out


def _flows(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Final events per year and kind plus the expected provisional ones (the figures
    compared with the truth)."""
    return [
        {"year": year, "kind": kind, "final": int(final), "provisional": round(prov or 0, 1)}
        for year, kind, final, prov in con.sql("""
            SELECT year(event_date), kind, count(*) FILTER (WHERE status = 'final'),
                   sum(probability) FILTER (WHERE status = 'provisional')
            FROM derived.migration_events GROUP BY ALL ORDER BY ALL
        """).fetchall()
    ]


def _truth_flows(delivery: Path) -> dict[tuple[int, str], int]:
    truth = delivery / "truth" / "migration_events.parquet"
    con = duckdb.connect()
    try:
        columns = {r[0] for r in con.sql(f"DESCRIBE SELECT * FROM '{truth}'").fetchall()}
        date_column = "event_date" if "event_date" in columns else "crossing_date"
        return {(int(y), k): int(n) for y, k, n in con.sql(
            f"SELECT year({date_column}), kind, count(*) FROM '{truth}' GROUP BY ALL"
        ).fetchall()}
    finally:
        con.close()


def machine() -> dict[str, Any]:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(pages / 1e9, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def bench(persons: int, seed: int, datasets: Path, results: Path, engine: str = "duckdb",
          config_file: Path | None = None, keep: Path | None = None) -> dict[str, Any]:
    """Generate (or reuse) the country, run and measure the pipeline, write the results."""
    delivery, synth_seconds = synthetic_delivery(persons, seed, datasets)
    work = Path(tempfile.mkdtemp(prefix=f"regmig-bench-{persons}-"))
    out_dir = keep if keep is not None else work / "run"
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        measured = run_pipeline(delivery, out_dir, engine, config_file)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    truth = _truth_flows(delivery)
    for row in measured["flows"]:
        row["truth"] = truth.get((row["year"], row["kind"]))
    result = {
        "benchmark": "the whole pipeline (regmig run) on a synthetic country",
        "persons": persons,
        "seed": seed,
        "engine": engine,
        "dataset": str(delivery),
        "synth_seconds": round(synth_seconds, 1) if synth_seconds is not None else None,
        "crossings": measured["rows"]["estimate"]["in"],
        "records": measured["rows"]["ingest"]["in"],
        **measured,
        "targets": TARGETS,
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    results.mkdir(parents=True, exist_ok=True)
    (results / f"pipeline_{engine}_{persons}.json").write_text(
        json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (results / "pipeline.md").write_text(markdown(results), encoding="utf-8")
    return result


def _gb(mb: float) -> str:
    return f"{mb / 1024:.1f}"


def markdown(results: Path) -> str:
    """A table over every pipeline_*.json in `results`: per-stage wall, CPU and peak."""
    runs = sorted(
        (json.loads(p.read_text(encoding="utf-8")) for p in results.glob("pipeline_*.json")),
        key=lambda r: (r["engine"], r["persons"]))
    phases = ("startup", *STAGES, "report", "shutdown")
    lines = [
        "# The whole pipeline on synthetic countries",
        "",
        "Written by `regmig bench` (flows/benchmark.py); one row per measured run. Seconds",
        "are wall time, CPU is user + system seconds of the whole process tree, peak is",
        "the tree's largest resident memory (sampled every "
        f"{SAMPLE_SECONDS} s). 2 cores, 24 GB, shared with other work.",
        "",
        "| engine | persons | records | crossings | comparisons | rules dropped | "
        "total s | CPU s | peak GB | "
        + " | ".join(f"{p} s" for p in phases) + " | load after | measured |",
        "|" + "---|" * (11 + len(phases)),
    ]
    for r in runs:
        cells = [r["engine"], f"{r['persons']:,}", f"{r['records']:,}", f"{r['crossings']:,}",
                 f"{r['splink'].get('comparisons', 0):,}", str(r["splink"]["rules_dropped"]),
                 f"{r['total']['wall_seconds']:.0f}", f"{r['total']['cpu_seconds']:.0f}",
                 _gb(r["total"]["peak_rss_mb"])]
        cells += [f"{r['phases'][p]['wall_seconds']:.0f}" for p in phases]
        # The machine's 1-minute load at the end: wall time on a busy machine measures the
        # other work too, CPU seconds much less.
        cells.append(str(r.get("load_average_after", ["?"])[0]))
        cells.append(r["measured_at"][:10])
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Peak memory per stage (GB) and CPU seconds per stage:", "",
              "| engine | persons | " + " | ".join(f"{p} GB / CPU s" for p in phases) + " |",
              "|" + "---|" * (2 + len(phases))]
    for r in runs:
        cells = [r["engine"], f"{r['persons']:,}"] + [
            f"{_gb(r['phases'][p]['peak_rss_mb'])} / {r['phases'][p]['cpu_seconds']:.0f}"
            for p in phases]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Time against size (wall and CPU seconds per million crossings):", "",
              "| engine | persons | wall s / M crossings | CPU s / M crossings |",
              "|---|---|---|---|"]
    for r in runs:
        millions = r["crossings"] / 1e6
        lines.append(f"| {r['engine']} | {r['persons']:,} | "
                     f"{r['total']['wall_seconds'] / millions:.0f} | "
                     f"{r['total']['cpu_seconds'] / millions:.0f} |")
    return "\n".join(lines) + "\n"
