"""Benchmark: ingest of a large border-crossings delivery (target: 10 million rows in under
3 minutes with peak memory under 6 GB).

The delivery is the sample's crossings replicated with new record ids (built by DuckDB,
in a child process). Each run ingests it into a fresh run folder in a child process whose
peak resident memory (VmHWM: its own, unlike ru_maxrss, which on Linux carries the parent's
peak across fork and exec) is reported. Writes bench/results/ingest.json.

    flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_ingest.py [--rows N] [--runs K]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from regmig.flows.benchmark import machine

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "ingest.json"
#: Only for the benchmark's own run folders; production keys come from the environment.
BENCH_KEY = "bench-key-not-for-production-0123456789abcdef"


def build_delivery(sample: Path, rows: int, target: Path) -> None:
    """`rows` crossings: the sample's, repeated with record ids made unique per copy."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    source = sample / "border_crossings.csv"
    sample_rows = con.sql(f"SELECT count(*) FROM read_csv('{source}', all_varchar = true)"
                          ).fetchall()[0][0]
    copies = -(-rows // sample_rows)
    con.execute(f"""
        COPY (
            WITH sample AS (
                SELECT row_number() OVER () AS position, *
                FROM read_csv('{source}', all_varchar = true)
            ),
            copies AS (SELECT range AS copy FROM range({copies}))
            SELECT 'B' || copy || '-' || sample.record_id AS record_id,
                   sample.* EXCLUDE (position, record_id)
            FROM copies, sample
            ORDER BY copy, position
            LIMIT {rows}
        ) TO '{target}' (HEADER, DELIMITER ',')
    """)
    con.close()


def child(out: Path, delivery: Path) -> None:
    """One measured ingest (runs in its own process)."""
    from regmig.config import Config
    from regmig.ingest.stage import ingest_file
    from regmig.warehouse.paths import RunPaths

    started = time.perf_counter()
    result = ingest_file(RunPaths(out), Config(), "border_crossings", delivery, "bench")
    seconds = time.perf_counter() - started
    print(json.dumps({
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_rss_kb() / 1024, 1),
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "step_seconds": {k: round(v, 2) for k, v in result.timings.items()},
    }))


def peak_rss_kb() -> int:
    """Peak resident set size of this process image (VmHWM), in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=Path, default=REPO / "data" / "sample")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.build:
        build_delivery(args.sample, args.rows, args.build)
        return

    info = machine()
    work = Path(tempfile.mkdtemp(prefix="regmig-bench-ingest-"))
    try:
        delivery = work / "border_crossings.csv"
        started = time.perf_counter()
        # In a child process: DuckDB's memory would otherwise stay with this one.
        subprocess.run([sys.executable, __file__, "--build", str(delivery), "--rows",
                        str(args.rows), "--sample", str(args.sample)], check=True)
        build_seconds = time.perf_counter() - started
        env = dict(os.environ, REGMIG_PSEUDONYM_KEY=BENCH_KEY)
        runs = []
        for run in range(args.runs):
            out = work / f"run{run}"
            completed = subprocess.run(
                [sys.executable, __file__, "--child", str(out), str(delivery)],
                env=env, capture_output=True, text=True, check=True,
            )
            runs.append(json.loads(completed.stdout.strip().splitlines()[-1]))
            print(f"run {run + 1}: {runs[-1]}", flush=True)
            shutil.rmtree(out)
        results = {
            "benchmark": "ingest of border crossings (sample replicated with new record ids)",
            "command": "flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_ingest.py "
                       f"--rows {args.rows} --runs {args.runs}",
            "rows": args.rows,
            "file_mb": round(delivery.stat().st_size / 1e6, 1),
            "build_seconds": round(build_seconds, 1),
            "median_seconds": statistics.median(r["seconds"] for r in runs),
            "median_peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
            "max_peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "targets": {"seconds": 180, "peak_rss_mb": 6144},
            "runs": runs,
            "machine": info,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps({k: results[k] for k in ("rows", "median_seconds",
                                                  "median_peak_rss_mb")}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
