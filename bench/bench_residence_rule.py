"""Benchmark of the residence rule: 10 million crossings classified, and the ratio to the
plain-Python reference on a million; optionally (--provisional) the accuracy of the
provisional estimates in backtests on a large synthetic population.

    flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_residence_rule.py
        [--crossings 10000000] [--reference-crossings 1000000] [--runs 3] [--provisional]
        [--provisional-persons 100000] [--flows] [--accuracy-only]

--provisional: the revision table of 8 backtest cuts on a 2015-2024 population (100,000
persons by default: at 20,000 a year has under 200 events of a kind, and the Bernoulli
noise of the open crossings alone makes 3% revisions common), with mean |revision|,
share within 3%, coverage of the 95% intervals and the Bernoulli floor, per row too.

--flows: final immigration and emigration per year against the truth on larger
synthetic populations (default noise, linked by the truth), repair policies "midpoint"
and "evidence" side by side. --accuracy-only: skip the speed runs (keep their last
figures).

Writes bench/results/residence_rule.json (medians of the runs, peak RSS, machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "residence_rule.json"


def histories(n_crossings: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Alternating histories of 1 to 19 crossings per person over about 12 years, with
    gaps from same-day returns to multi-year absences (stays near the thresholds too)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 20, size=n_crossings // 5)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n_crossings) + 1]
    sizes[-1] -= sizes.sum() - n_crossings
    sizes = sizes[sizes > 0]
    person = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    n = len(person)
    first = np.r_[True, person[1:] != person[:-1]]
    gap = rng.choice(np.array([0, 2, 7, 20, 60, 120, 200, 330, 364, 365, 366, 500, 900]),
                     size=n) + rng.integers(0, 5, size=n)
    gap[first] = 0
    start = rng.integers(0, 1500, size=len(sizes))
    day = np.cumsum(gap)
    day = day - np.repeat(day[first], sizes) + np.repeat(start, sizes) + 15_000
    seq = np.arange(n) - np.repeat(np.flatnonzero(first), sizes) + 1
    first_is_arrival = np.repeat(rng.integers(0, 2, size=len(sizes)).astype(bool), sizes)
    arrival = ((seq - 1) % 2 == 0) == first_is_arrival
    crossings = pl.DataFrame({
        "person_id": person,
        "crossing_date": pl.Series(day.astype(np.int32)).cast(pl.Date),
        "direction": np.where(arrival, "arrival", "departure"),
        "seq": seq.astype(np.int32),
    })
    initial = pl.DataFrame({
        "person_id": np.arange(len(sizes), dtype=np.int64),
        "res_status_initial": rng.integers(0, 2, size=len(sizes)).astype(np.int8),
    })
    return crossings, initial


def time_vectorised(crossings: pl.DataFrame, initial: pl.DataFrame, data_end: date,
                    runs: int) -> list[float]:
    from regmig.config import ResidenceRule
    from regmig.estimators.step2_rule.residence_rule import classify

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = classify(crossings, initial, ResidenceRule(), data_end)
        times.append(time.perf_counter() - start)
        assert result.height == crossings.height
        del result
    return times


def time_reference(crossings: pl.DataFrame, initial: pl.DataFrame) -> float:
    from regmig.config import ResidenceRule
    sys.path.insert(0, str(HERE.parent / "tests"))
    from reference_rule import classify_person

    rule = ResidenceRule()
    status = dict(initial.iter_rows())
    start = time.perf_counter()
    current, history = None, []
    for pid, day, direction, _ in crossings.iter_rows():
        if pid != current:
            if history:
                classify_person(history, status[current], rule)
            current, history = pid, []
        history.append((day, direction == "arrival"))
    if history:
        classify_person(history, status[current], rule)
    return time.perf_counter() - start


def provisional_accuracy(persons: int, cuts: int) -> dict:
    """Backtests on a synthetic population linked by its truth (2015-2024)."""
    import dataclasses

    sys.path.insert(0, str(HERE.parent / "tests"))
    from fixtures.estimate import truth_linked_inputs

    from regmig.config import Config, SynthConfig
    from regmig.estimators.chain import run_rule
    from regmig.estimators.step6_checks import backtest
    from regmig.synth.generate import generate

    with tempfile.TemporaryDirectory() as folder:
        generate(SynthConfig(persons=persons, seed=31, start_year=2015, end_year=2024),
                 Path(folder))
        inputs = truth_linked_inputs(Path(folder))
    config = Config()
    est = dataclasses.replace(config.estimate, backtest_cuts=cuts,
                              backtest_min_training_days=3 * 365)
    start = time.perf_counter()
    run = run_rule(inputs, est, est.rule, config.country)
    table = backtest.revision_details(inputs, run, est, config.country)
    seconds = time.perf_counter() - start
    absolute = table["relative_revision"].abs()
    # What even a perfectly calibrated model would miss by: the mean |revision| of a sum
    # of independent Bernoulli outcomes with the model's probabilities.
    floor = table["bernoulli_sd"] * (2 / np.pi) ** 0.5 / table["final"]
    return {
        "persons": persons,
        "crossings": inputs.crossings.height,
        "cuts": cuts,
        "seconds": seconds,
        "coverage_of_95pct_intervals": float(table["covered"].mean()),
        "mean_abs_relative_revision": float(absolute.mean()),
        "max_abs_relative_revision": float(absolute.max()),
        "share_within_3pct": float((absolute <= 0.03).mean()),
        "mean_signed_relative_revision": float(table["relative_revision"].mean()),
        "by_kind": {
            kind: {
                "mean_abs_relative_revision": float(rows["relative_revision"].abs().mean()),
                "mean_signed_relative_revision": float(rows["relative_revision"].mean()),
                "share_within_3pct": float((rows["relative_revision"].abs() <= 0.03).mean()),
                "coverage_of_95pct_intervals": float(rows["covered"].mean()),
            }
            for (kind,), rows in table.group_by("kind", maintain_order=True)
        },
        "bernoulli_floor_mean_abs_relative_revision": float(floor.mean()),
        "model_error": run.model.model_error if run.model is not None else None,
        "rows": [{**{k: (str(v) if isinstance(v, date) else v) for k, v in r.items()},
                  "bernoulli_floor_abs_relative_revision": f}
                 for r, f in zip(table.iter_rows(named=True), floor.to_list(), strict=True)],
    }


def flows_accuracy(persons: int, seeds: list[int]) -> dict:
    """Final events per year and kind against the truth's settled events, per policy."""
    import dataclasses

    sys.path.insert(0, str(HERE.parent / "tests"))
    from fixtures.estimate import truth_linked_inputs

    from regmig.config import Config, SynthConfig
    from regmig.estimators.chain import run_rule
    from regmig.estimators.step4_events.totals import candidate_events
    from regmig.synth.generate import generate

    config = Config()
    policies = ("midpoint", "evidence")
    out: dict = {"persons": persons, "seeds": seeds, "noise": "default",
                 "linkage": "truth", "min_events_per_cell": 300, "runs": []}
    for seed in seeds:
        with tempfile.TemporaryDirectory() as folder:
            generate(SynthConfig(persons=persons, seed=seed), Path(folder))
            inputs = truth_linked_inputs(Path(folder))
            truth = (pl.read_parquet(Path(folder) / "truth" / "migration_events.parquet")
                     .filter("decided_by_data_end")
                     .group_by(year=pl.col("event_date").dt.year(), kind="kind")
                     .agg(truth=pl.len().cast(pl.Int64)))
        cells = truth
        for policy in policies:
            est = dataclasses.replace(config.estimate, repair_policy=policy)
            run = run_rule(inputs, est, est.rule, config.country)
            mine = candidate_events(run).filter(pl.col("status") == "final").group_by(
                year=pl.col("crossing_date").dt.year(), kind="kind").agg(
                pl.len().cast(pl.Int64).alias(policy))
            cells = cells.join(mine, on=["year", "kind"], how="left")
        cells = cells.fill_null(0).sort("year", "kind")
        full = cells.filter(pl.col("truth") >= out["min_events_per_cell"])
        out["runs"].append({
            "seed": seed,
            "max_abs_relative_error": {
                p: float(((full[p] - full["truth"]).abs() / full["truth"]).max())
                for p in policies},
            "mean_abs_relative_error": {
                p: float(((full[p] - full["truth"]).abs() / full["truth"]).mean())
                for p in policies},
            "cells_within_1pct": {
                p: int((((full[p] - full["truth"]).abs() / full["truth"]) <= 0.01).sum())
                for p in policies},
            "full_cells": full.height,
            "total_relative_error": {
                p: float((cells[p].sum() - cells["truth"].sum()) / cells["truth"].sum())
                for p in policies},
            "cells": cells.to_dicts(),
        })
    out["summary"] = {p: {
        "cells_within_1pct": sum(r["cells_within_1pct"][p] for r in out["runs"]),
        "cells": sum(r["full_cells"] for r in out["runs"]),
        "seeds_all_cells_within_1pct": sum(
            r["cells_within_1pct"][p] == r["full_cells"] for r in out["runs"]),
        "mean_abs_relative_error": float(np.mean(
            [r["mean_abs_relative_error"][p] for r in out["runs"]])),
    } for p in policies}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crossings", type=int, default=10_000_000)
    parser.add_argument("--reference-crossings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--provisional", action="store_true")
    parser.add_argument("--provisional-persons", type=int, default=100_000)
    parser.add_argument("--flows", action="store_true")
    parser.add_argument("--flows-persons", type=int, default=30_000)
    parser.add_argument("--flows-seeds", type=int, nargs="+", default=[3, 4, 5, 6, 7, 8, 9])
    parser.add_argument("--accuracy-only", action="store_true")
    args = parser.parse_args()
    earlier_results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}

    results: dict = {
        "benchmark": "residence_rule",
        "command": " ".join(["bench/bench_residence_rule.py", *sys.argv[1:]]),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "polars": pl.__version__,
                    "load_average": os.getloadavg()},
    }
    if args.accuracy_only:
        for key in ("vectorised", "reference_comparison"):
            if key in earlier_results:
                results[key] = {**earlier_results[key], "recorded_at": earlier_results[key]
                                .get("recorded_at", earlier_results["recorded_at"])}
    else:
        speed(args, results)
    accuracy(args, results, earlier_results)
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items()
                      if k not in ("provisional", "flows_accuracy")}, indent=2))
    if "provisional" in results:
        print(json.dumps({k: v for k, v in results["provisional"].items() if k != "rows"},
                         indent=2))
    if "flows_accuracy" in results:
        print(json.dumps([{k: v for k, v in r.items() if k != "cells"}
                          for r in results["flows_accuracy"]["runs"]], indent=2))
        print(json.dumps(results["flows_accuracy"].get("summary"), indent=2))


def speed(args: argparse.Namespace, results: dict) -> None:
    big, big_initial = histories(args.crossings, seed=1)
    data_end = big["crossing_date"].max()
    times = time_vectorised(big, big_initial, data_end, args.runs)
    results["vectorised"] = {"crossings": big.height, "persons": big_initial.height,
                             "seconds": times, "median_seconds": statistics.median(times)}
    del big, big_initial

    small, small_initial = histories(args.reference_crossings, seed=2)
    small_end = small["crossing_date"].max()
    vec_small = time_vectorised(small, small_initial, small_end, args.runs)
    ref = time_reference(small, small_initial)
    results["reference_comparison"] = {
        "crossings": small.height,
        "vectorised_median_seconds": statistics.median(vec_small),
        "plain_python_seconds": ref,
        "speedup": ref / statistics.median(vec_small),
    }
    results["vectorised"]["recorded_at"] = results["recorded_at"]
    results["reference_comparison"]["recorded_at"] = results["recorded_at"]


def accuracy(args: argparse.Namespace, results: dict, earlier_results: dict) -> None:
    """Run the accuracy measurements asked for; keep the last figures of the others."""
    measured = {
        "provisional": (args.provisional,
                        lambda: provisional_accuracy(args.provisional_persons, cuts=8)),
        "flows_accuracy": (args.flows,
                           lambda: flows_accuracy(args.flows_persons, args.flows_seeds)),
    }
    for key, (wanted, measure) in measured.items():
        if wanted:
            results[key] = {**measure(), "recorded_at": results["recorded_at"],
                            "command": results["command"]}
        elif key in earlier_results:
            earlier = earlier_results[key]
            earlier.setdefault("recorded_at", earlier_results["recorded_at"])
            results[key] = earlier


if __name__ == "__main__":
    main()
