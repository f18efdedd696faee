"""Benchmark: the estimate stage alone on a linked run folder, step by step.

Each run copies the run folder (warehouse.duckdb and restricted/) to a scratch folder
and runs the estimate stage in a child process, so that the original is never written
and every run starts from the same warehouse. The child is any Python with regmig
installed (`--python`), so that two versions of the code (main's and a branch's) can be
measured in one session on the same data; runs of the versions alternate.

Per run: wall and CPU seconds (user + system of the child, from the kernel), the
kernel's peak resident memory (ru_maxrss), and per step of the stage (read, rule,
events_and_stocks, sensitivity, backtest, write) wall, CPU and peak resident memory
sampled every SAMPLE_SECONDS in the child. After each run, a content hash of every table
the stage writes (run ids left out), so that the versions' results can be compared.

    flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_estimate.py \\
        --run /work/datasets/run-1000000-s61-default-linked --scratch /work/scratch-est \\
        --code main=/work/wt/main/.venv/bin/python --code branch=.venv/bin/python \\
        --runs 1 --results bench/results/estimate_1000000.json

Writes the JSON named by --results (default bench/results/estimate_<persons>.json).
"""

from __future__ import annotations

import argparse
import cProfile
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

#: Seconds between two samples of the child's resident memory.
SAMPLE_SECONDS = 0.05
#: The tables the estimate stage writes, whose content the versions must agree on.
OUTPUT_TABLES = (
    "derived.crossing_status", "derived.initial_residence", "derived.migration_events",
    "derived.residence_spells", "derived.resident_stock", "stats.migration_totals",
    "stats.sensitivity", "stats.provisional_revisions",
)
_PAGE = os.sysconf("SC_PAGE_SIZE")


def child(run: Path, config: Path | None, out: Path, profile: Path | None = None) -> None:
    """Run the estimate stage on `run` in this process; write step figures to `out` (and
    cProfile statistics to `profile`)."""
    from regmig.config import load_config
    from regmig.estimators.stage import estimate
    from regmig.warehouse import progress
    from regmig.warehouse.paths import RunPaths
    from regmig.warehouse.runs import run_recorded_stage

    peak = {"now": 0}
    done = threading.Event()

    def rss() -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE

    def sample() -> None:
        while not done.is_set():
            peak["now"] = max(peak["now"], rss())
            time.sleep(SAMPLE_SECONDS)

    steps: dict[str, dict[str, float]] = {}
    started: dict[str, tuple[float, float]] = {}

    def watch(step: progress.Step) -> None:
        if step.total is not None:
            return
        if not step.finished:
            peak["now"] = rss()
            started[step.name] = (time.perf_counter(), time.process_time())
            return
        wall0, cpu0 = started.pop(step.name)
        steps[step.name] = {
            "wall_seconds": round(time.perf_counter() - wall0, 2),
            "cpu_seconds": round(time.process_time() - cpu0, 2),
            "peak_rss_gb": round(max(peak["now"], rss()) / 2**30, 2),
        }

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    paths = RunPaths(run)
    cfg = load_config(config)
    profiler = cProfile.Profile() if profile else None
    with progress.watching(watch):
        if profiler:
            profiler.enable()
        run_recorded_stage(paths, "estimate", {"config": cfg.as_dict()},
                           lambda run_id: estimate(paths, cfg, run_id))
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
    done.set()
    out.write_text(json.dumps(steps))


def output_hashes(run: Path) -> dict[str, str]:
    """Content hash of each table the stage wrote (run ids left out)."""
    from regmig.warehouse.connection import open_warehouse
    from regmig.warehouse.hashes import table_hash
    from regmig.warehouse.paths import RunPaths

    con = open_warehouse(RunPaths(run), read_only=True)
    try:
        return {t: table_hash(con, [t], ignore=("run_id",)) for t in OUTPUT_TABLES}
    finally:
        con.close()


def export_outputs(run: Path, folder: Path) -> None:
    """The tables the stage wrote, as Parquet files in `folder` (run ids left out)."""
    from regmig.warehouse.catalog import column_names
    from regmig.warehouse.connection import open_warehouse
    from regmig.warehouse.paths import RunPaths

    folder.mkdir(parents=True, exist_ok=True)
    con = open_warehouse(RunPaths(run), read_only=True)
    try:
        for table in OUTPUT_TABLES:
            listed = ", ".join(f'"{c}"' for c in column_names(con, table) if c != "run_id")
            con.execute(f"COPY (SELECT {listed} FROM {table}) TO '{folder / table}.parquet'")
    finally:
        con.close()


def compare_outputs(base: Path, other: Path) -> dict[str, dict]:
    """Per table: rows, whether every column other than floating-point ones is equal,
    and the largest absolute and relative difference of each floating-point column, the
    rows of both sorted alike (by the exact columns, then the floats)."""
    import polars as pl

    out = {}
    for table in OUTPUT_TABLES:
        a, b = (pl.read_parquet(f / f"{table}.parquet") for f in (base, other))
        floats = [c for c, t in a.schema.items() if t.is_float()]
        exact = [c for c in a.columns if c not in floats]
        a, b = (f.sort([*exact, *floats], nulls_last=True) for f in (a, b))
        same_shape = a.shape == b.shape and a.columns == b.columns
        entry: dict = {"rows": [a.height, b.height],
                       "exact_columns_equal": same_shape and a.select(exact).equals(
                           b.select(exact))}
        if same_shape:
            for c in floats:
                diff = (a[c] - b[c]).abs()
                scale = a[c].abs().clip(lower_bound=1e-300)
                entry[c] = {"max_abs_diff": diff.max(),
                            "max_rel_diff": (diff / scale).max(),
                            "nulls_equal": a[c].is_null().equals(b[c].is_null())}
        out[table] = entry
    return out


def copy_run(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy2(source / "warehouse.duckdb", target / "warehouse.duckdb")
    shutil.copytree(source / "restricted", target / "restricted",
                    ignore=shutil.ignore_patterns(".ingest-staging"))


def measure(label: str, python: str, source: Path, scratch: Path,
            config: Path | None, profile: bool = False) -> dict:
    target = scratch / f"estimate-{label}"
    copy_run(source, target)
    steps_file = scratch / f"steps-{label}.json"
    command = [python, str(Path(__file__).resolve()), "--child", str(target),
               "--steps", str(steps_file)]
    if config:
        command += ["--config", str(config)]
    if profile:
        command += ["--profile-to", str(scratch / f"profile-{label}.pstats")]
    env = dict(os.environ, PYTHONHASHSEED="0")
    wall0 = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - wall0
    if status != 0:
        raise SystemExit(f"{label}: the estimate stage failed (status {status})")
    code = subprocess.run(
        [python, "-c", "import regmig, pathlib; print(pathlib.Path(regmig.__file__).parent)"],
        capture_output=True, text=True, check=True).stdout.strip()
    commit = subprocess.run(["git", "-C", code, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()
    result = {
        "code": label,
        "python": python,
        "commit": commit,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_gb_kernel": round(usage.ru_maxrss / 2**20, 2),
        "steps": json.loads(steps_file.read_text()),
        "output_hashes": output_hashes(target),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps({k: v for k, v in result.items() if k != "output_hashes"}), flush=True)
    outputs = scratch / f"outputs-{label}"
    if not outputs.exists():
        export_outputs(target, outputs)
    shutil.rmtree(target)
    return result


@contextmanager
def bench_lock(path: Path | None) -> Iterator[None]:
    """Hold the machine's benchmark lock (flock) for one run, when given."""
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def summary(args: argparse.Namespace, codes: list[list[str]], runs: list[dict]) -> dict:
    """The results file: every run so far, and the versions' outputs compared."""
    hashes: dict[str, set[str]] = {}
    for run in runs:
        for table, digest in run["output_hashes"].items():
            hashes.setdefault(table, set()).add(digest)
    first = codes[0][0]
    done = {r["code"] for r in runs}
    compared = {label: compare_outputs(args.scratch / f"outputs-{first}",
                                       args.scratch / f"outputs-{label}")
                for label, _ in codes[1:] if label in done and first in done}
    return {
        "benchmark": "the estimate stage alone on a linked run folder, in a child process",
        "warehouse": str(args.run),
        "command": " ".join(sys.argv),
        "machine": f"{os.cpu_count()} cores, shared with other work (see each run's "
                   "load_average_before)",
        "kernel_peak_note": "peak_rss_gb_kernel: ru_maxrss of the child",
        "runs": runs,
        "outputs_identical_across_versions": {t: len(h) == 1 for t, h in hashes.items()},
        f"outputs_against_{first}": compared,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a linked run folder (left unchanged)")
    parser.add_argument("--scratch", type=Path, help="folder for the runs' copies")
    parser.add_argument("--code", action="append", default=[],
                        help="LABEL=PYTHON: a Python with the regmig to measure "
                             "(repeatable; default: this one)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each version")
    parser.add_argument("--config", type=Path, help="TOML configuration for every run")
    parser.add_argument("--results", type=Path, help="JSON file to write")
    parser.add_argument("--profile", action="store_true",
                        help="write cProfile statistics of each version to the scratch "
                             "folder (profile-LABEL.pstats); its figures then include "
                             "the profiler's cost")
    parser.add_argument("--lock", type=Path,
                        help="a lock file (flock) held for each run, not between runs")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.config, args.steps, args.profile_to)
        return 0
    codes = [c.split("=", 1) for c in args.code] or [["this", sys.executable]]
    args.scratch.mkdir(parents=True, exist_ok=True)
    for label, _ in codes:  # each version's outputs of this session only
        shutil.rmtree(args.scratch / f"outputs-{label}", ignore_errors=True)
    path = args.results or Path(__file__).parent / "results" / "estimate.json"
    runs: list[dict] = []
    for _ in range(args.runs):
        for label, python in codes:
            with bench_lock(args.lock):
                load = os.getloadavg()[0]
                runs.append(measure(label, python, args.run, args.scratch, args.config,
                                    args.profile) | {"load_average_before": load})
            # Written after every run: a session cut short keeps what it measured.
            results = summary(args, codes, runs)
            path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results["outputs_identical_across_versions"]))
    print(json.dumps(results[f"outputs_against_{codes[0][0]}"], indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
