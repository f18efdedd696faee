"""Speed, memory and scaling of `regmig synth`.

    flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_synth.py \
        [--scale 50000 200000 1000000] [--runs 3] [--large-runs 1]

Each run is a child process (so its peak memory is its own) that generates a delivery of
that many persons over 2022-2024 at the default noise into a temporary folder and reports
its wall time, stage timings, rows and peak RSS. Sizes up to 200,000 persons run `--runs`
times, larger ones `--large-runs` times; the medians are written to
bench/results/synth.json with the machine's description.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "synth.json"
LARGE = 200_000

CHILD = """
import json, resource, sys, time
from pathlib import Path
from regmig.config import SynthConfig
from regmig.synth.generate import generate
persons, out = int(sys.argv[1]), Path(sys.argv[2])
clock = time.perf_counter()
summary = generate(SynthConfig(persons=persons, seed=1, start_year=2022, end_year=2024), out)
seconds = time.perf_counter() - clock
size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
print(json.dumps({"seconds": seconds, "timings": summary.timings,
                  "rows": summary.row_counts, "bytes_written": size,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def machine() -> dict[str, object]:
    import numpy
    import polars

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "polars": polars.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
        "load_average_at_start": os.getloadavg(),
    }


def one_run(persons: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="regmig-bench-synth-") as tmp:
        done = subprocess.run([sys.executable, "-c", CHILD, str(persons), tmp],
                              capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[50_000, 200_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large-runs", type=int, default=1)
    args = parser.parse_args()
    results = {"machine": machine(), "command": "bench/bench_synth.py " + " ".join(
        sys.argv[1:]), "scales": []}
    for persons in args.scale:
        runs = [one_run(persons) for _ in range(args.runs if persons <= LARGE else
                                                args.large_runs)]
        seconds = [r["seconds"] for r in runs]
        median = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
        crossings = median["rows"]["border_crossings"]
        entry = {
            "persons": persons,
            "runs": len(runs),
            "seconds_each": [round(s, 2) for s in seconds],
            "median_seconds": round(statistics.median(seconds), 2),
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs)),
            "recorded_crossings": crossings,
            "crossings_per_person": round(crossings / persons, 2),
            "seconds_per_million_crossings": round(statistics.median(seconds) / crossings * 1e6,
                                                   2),
            "mb_written": round(median["bytes_written"] / 1e6, 1),
            "stage_seconds_of_median_run": median["timings"],
            "rows": median["rows"],
        }
        results["scales"].append(entry)
        print(json.dumps({k: entry[k] for k in ("persons", "median_seconds", "peak_rss_mb",
                                                 "recorded_crossings")}), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
