"""Benchmark: publish with the heuristic alone (solver_time_limit = 0) against the
optimiser's default, with and without the tables by age reached (AGEDEF REACH).

    .venv/bin/python bench/bench_publish_heuristic.py [--persons 300] [--seed 11]
        [--output bench/results/publish_heuristic.json]

The delivery is the linkage matrix test's hardest one (tests/test_linkage_matrix.py):
`regmig synth --noise hard`, the crossings without dates of birth. It is ingested,
linked and estimated once; then each variant publishes a copy of that run in a process
of its own (one worker, so that CPU seconds are the protection's and the audit's), and
the outsider's audit (publish/audit) is run again on the release it wrote to count
exposures. "Without REACH" empties `eurostat.REACH_DATASETS` in that process: the table
set as it was before AGEDEF REACH. Run it with another checkout's interpreter (e.g.
/work/main/.venv/bin/python) to measure that checkout's code on the same delivery.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

#: (name, solver_time_limit or None for the default, with the REACH tables)
VARIANTS = (
    ("heuristic", 0.0, True),
    ("heuristic_without_reach", 0.0, False),
    ("optimiser", None, True),
    ("optimiser_without_reach", None, False),
)
#: The year the pipeline publishes for this delivery (its last complete year).
YEAR = 2024


def build_delivery(folder: Path, persons: int, seed: int) -> Path:
    """The hard-noise delivery with the crossings' dates of birth dropped."""
    import polars as pl

    from regmig.config import SynthConfig
    from regmig.synth.generate import generate

    base = folder / "synth"
    generate(SynthConfig(persons=persons, seed=seed, noise_profile="hard"), base)
    delivery = folder / "delivery"
    delivery.mkdir()
    for source in ("border_crossings", "population_register", "permits"):
        frame = pl.read_csv(base / f"{source}.csv", infer_schema_length=0)
        if source == "border_crossings":
            frame = frame.drop("date_of_birth")
        frame.write_csv(delivery / f"{source}.csv")
    return delivery


def estimated_run(folder: Path, delivery: Path) -> Path:
    from regmig.flows.cli import main

    out = folder / "estimated"
    for argv in (["ingest", "--input", str(delivery)], ["link"], ["estimate"]):
        if main([*argv, "--out", str(out)]) != 0:
            raise SystemExit(f"bench: regmig {argv[0]} failed")
    return out


def publish_variant(run: Path, limit: float | None, reach: bool) -> dict:
    """In this process: publish the run and audit its release again."""
    import dataclasses

    import regmig.publish.tables.eurostat as eurostat
    from regmig.config import Config
    from regmig.publish.audit.verdict import audit_release, exposure_counts
    from regmig.publish.stage import STAGE, protection, publish
    from regmig.warehouse.connection import open_warehouse
    from regmig.warehouse.paths import RunPaths
    from regmig.warehouse.runs import run_recorded_stage

    if not reach:
        eurostat.REACH_DATASETS = ()
    config = Config()
    disclosure = dataclasses.replace(config.disclosure, workers=1)
    if limit is not None:
        disclosure = dataclasses.replace(disclosure, solver_time_limit=limit)
    config = dataclasses.replace(config, disclosure=disclosure)
    paths = RunPaths(run)
    wall, cpu = time.perf_counter(), time.process_time()
    summary = run_recorded_stage(paths, STAGE, {"year": YEAR},
                                 lambda run_id: publish(paths, config, run_id, YEAR))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    meta = json.loads((paths.release / "metadata.json").read_text())
    with open_warehouse(paths, read_only=True) as con:
        loss = con.sql("SELECT * FROM stats.information_loss").pl()
        truth = {t["table_id"]: con.sql(f"SELECT * FROM stats.{t['table_id']}").pl().select(
                     *[d["name"] for d in t["dimensions"]], "value")
                 for t in meta["tables"] if t["available"]}
    report = audit_release(paths.release, truth, protection(config.disclosure))
    return {
        "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
        "timings_s": {k: round(v, 2) for k, v in summary.timings.items()},
        "tables": summary.tables, "cells": summary.cells,
        "cells_suppressed": summary.cells_suppressed,
        "units_suppressed": int(loss["units_suppressed"].sum()),
        "primary_cells_audited": report.findings.height,
        "exposures": exposure_counts(report),
        "per_table": loss.select("table_id", "cells", "cells_suppressed",
                                 "units_suppressed").sort("table_id").to_dicts(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--output", type=Path,
                        default=Path("bench/results/publish_heuristic.json"))
    parser.add_argument("--variant-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:   # the child process of one variant
        _, limit, reach = next(v for v in VARIANTS if v[0] == args.variant)
        print(json.dumps(publish_variant(args.variant_of, limit, reach)))
        return 0
    os.environ.setdefault("REGMIG_PSEUDONYM_KEY", "bench-key-not-for-production-0123456789")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-publish-heuristic-") as tmp:
        folder = Path(tmp)
        run = estimated_run(folder, build_delivery(folder, args.persons, args.seed))
        for name, _, _ in VARIANTS:
            copy = folder / name
            shutil.copytree(run, copy)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(
                [sys.executable, __file__, "--variant", name, "--variant-of", str(copy)],
                capture_output=True, text=True, check=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            results[name] = json.loads(done.stdout.strip().splitlines()[-1]) | {
                "process_cpu_s": round(after.ru_utime + after.ru_stime
                                       - before.ru_utime - before.ru_stime, 2)}
            print(name, {k: v for k, v in results[name].items() if k != "per_table"},
                  flush=True)
    import regmig

    code = Path(regmig.__file__).parent
    commit = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    record = {
        "bench": "publish_heuristic", "persons": args.persons, "seed": args.seed,
        "delivery": "synth --noise hard, border_crossings without date_of_birth",
        "year": YEAR, "code": f"{code} at {commit}",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average": os.getloadavg()},
        "variants": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
