"""Benchmark of `regmig classify`: the residence rule alone on the 1,000,000-crossing file
(about 100,000 persons), as a process, against Stats NZ's migrbc, with its agreement to
the rule before this work and to the plain-Python reference.

    flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_classify.py [--runs 5]
        [--file /work/datasets/classify-1000000/crossings.csv]
        [--previous /work/datasets/classify-1000000/classified-main-6822eba.csv]

The file holds alternating histories of 1 to 19 crossings per person over about 12 years
(`bench_residence_rule.histories(1_000_000, seed=2)`; written if absent). migrbc took
102.5 s on a file of this size (issue 16); it is not installed here, so the ratio is to
that figure. Each run is a fresh `regmig classify` process (wall and CPU seconds); one
more run in-process splits the time into reading, repairing and classifying, and
writing. The output must equal, column for column, the output of the rule as it was
before (`--previous`, written by main at 6822eba), and agree with the plain-Python
reference rule (tests/reference_rule.py) on every flag and status.

Writes bench/results/classify.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
RESULTS = HERE / "results" / "classify.json"
DATASETS = Path(os.environ.get("REGMIG_DATASETS", "/work/datasets"))
#: Seconds migrbc took on the 1M-crossing file (issue 16).
MIGRBC_SECONDS = 102.5


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_runs(file: Path, out: Path, runs: int) -> list[dict]:
    regmig = Path(sys.executable).parent / "regmig"
    measured = []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), children_cpu()
        subprocess.run([str(regmig), "classify", "--crossings", str(file), "--out", str(out)],
                       check=True, capture_output=True)
        measured.append({"wall_seconds": time.perf_counter() - wall,
                         "cpu_seconds": children_cpu() - cpu})
    return measured


def in_process_split(file: Path, out: Path) -> dict:
    """Seconds (wall, cpu) of reading, repairing and classifying, and writing."""
    from regmig.config import Config
    from regmig.estimators.classify_command import read_crossings
    from regmig.estimators.step2_rule.classify import classify_histories

    split = {}
    wall, cpu = time.perf_counter(), self_cpu()
    crossings = read_crossings(file)
    split["read"] = (time.perf_counter() - wall, self_cpu() - cpu)
    wall, cpu = time.perf_counter(), self_cpu()
    config = Config().estimate
    result = classify_histories(crossings, None, config.rule, crossings["crossing_date"].max(),
                                config.repair_policy, str(file))
    split["repair_and_rule"] = (time.perf_counter() - wall, self_cpu() - cpu)
    wall, cpu = time.perf_counter(), self_cpu()
    result.crossings.select(
        "person_id", "crossing_date", "direction", "seq", "res_status_before",
        "res_status_after", pl.col("is_long_term_migration").cast(pl.Int8),
        pl.col("resolved").cast(pl.Int8), "date_finalised_ltm", "date_finalised_res_after",
        pl.col("imputed").cast(pl.Int8)).write_csv(out)
    split["write"] = (time.perf_counter() - wall, self_cpu() - cpu)
    return {k: {"wall_seconds": w, "cpu_seconds": c} for k, (w, c) in split.items()}


def agreement_with_reference(classified: pl.DataFrame, file: Path) -> dict:
    """Crossings whose statuses, flag and finalisation date differ from the plain-Python
    reference (resolved crossings: the reference assumes the person stays put)."""
    from reference_rule import classify_person

    from regmig.config import ResidenceRule

    crossings = pl.read_csv(file, try_parse_dates=True).sort("person_id", "crossing_date")
    rule = ResidenceRule()
    expected: dict[tuple[int, int], tuple] = {}
    for (pid,), rows in crossings.group_by("person_id", maintain_order=True):
        history = [(d, a == "arrival") for d, a in rows.select("crossing_date",
                                                               "direction").iter_rows()]
        initial = 1 if history[0][1] is False else 0
        for seq, r in enumerate(classify_person(history, initial, rule), start=1):
            expected[(pid, seq)] = (r.res_status_before, r.res_status_after,
                                    int(r.is_long_term_migration), r.date_finalised_ltm)
    differing = 0
    for r in classified.filter(pl.col("resolved") == 1).iter_rows(named=True):
        e = expected[(r["person_id"], r["seq"])]
        got = (r["res_status_before"], r["res_status_after"], r["is_long_term_migration"],
               r["date_finalised_ltm"])
        differing += got != e
    return {"compared": int((classified["resolved"] == 1).sum()), "differing": differing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--file", type=Path,
                        default=DATASETS / "classify-1000000" / "crossings.csv")
    parser.add_argument("--previous", type=Path,
                        default=DATASETS / "classify-1000000" / "classified-main-6822eba.csv")
    args = parser.parse_args()
    if not args.file.exists():
        from bench_residence_rule import histories

        args.file.parent.mkdir(parents=True, exist_ok=True)
        histories(1_000_000, seed=2)[0].select(
            "person_id", "crossing_date", "direction").write_csv(args.file)
    out = args.file.parent / "classified.csv"
    load_before = os.getloadavg()
    runs = process_runs(args.file, out, args.runs)
    split = in_process_split(args.file, out)
    classified = pl.read_csv(out, try_parse_dates=True)
    results = {
        "benchmark": "classify",
        "command": " ".join(["bench/bench_classify.py", *sys.argv[1:]]),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "polars": pl.__version__,
                    "load_average_before": load_before,
                    "load_average_after": os.getloadavg()},
        "file": str(args.file), "crossings": classified.height,
        "persons": classified["person_id"].n_unique(),
        "process_runs": runs,
        "median_wall_seconds": statistics.median(r["wall_seconds"] for r in runs),
        "median_cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
        "in_process": split,
        "migrbc_seconds": MIGRBC_SECONDS,
    }
    results["times_migrbc"] = MIGRBC_SECONDS / results["median_wall_seconds"]
    if args.previous.exists():
        previous = pl.read_csv(args.previous, try_parse_dates=True)
        results["equals_previous_rule"] = classified.drop("imputed").equals(previous)
    results["reference_agreement"] = agreement_with_reference(classified, args.file)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
