"""Benchmark of the residence rule: 10 million crossings classified, and the ratio to the
plain-Python reference on a million; optionally (--provisional) the accuracy of the
provisional estimates in backtests on a large synthetic population.

    flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_residence_rule.py
        [--crossings 10000000] [--reference-crossings 1000000] [--runs 3] [--provisional]

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
    from regmig.estimators.residence_rule import classify

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
    from regmig.estimators.reference_rule import classify_person

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
    from regmig.estimators import backtest
    from regmig.estimators.rule_run import run_rule
    from regmig.synth.generate import generate

    with tempfile.TemporaryDirectory() as folder:
        generate(SynthConfig(persons=persons, seed=31, start_year=2015, end_year=2024),
                 Path(folder))
        inputs = truth_linked_inputs(Path(folder))
    config = Config()
    est = dataclasses.replace(config.estimate, backtest_cuts=cuts,
                              backtest_min_training_days=3 * 365)
    run = run_rule(inputs, est, est.rule, config.country)
    table = backtest.revisions(inputs, run, est, config.country)
    return {
        "persons": persons,
        "crossings": inputs.crossings.height,
        "cuts": cuts,
        "coverage_of_95pct_intervals": float(table["covered"].mean()),
        "mean_abs_relative_revision": float(table["relative_revision"].abs().mean()),
        "share_within_3pct": float((table["relative_revision"].abs() <= 0.03).mean()),
        "rows": [{k: (str(v) if isinstance(v, date) else v) for k, v in r.items()}
                 for r in table.iter_rows(named=True)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crossings", type=int, default=10_000_000)
    parser.add_argument("--reference-crossings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--provisional", action="store_true")
    parser.add_argument("--provisional-persons", type=int, default=20_000)
    args = parser.parse_args()

    results: dict = {
        "benchmark": "residence_rule",
        "command": " ".join(["bench/bench_residence_rule.py", *sys.argv[1:]]),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "polars": pl.__version__,
                    "load_average": os.getloadavg()},
    }
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
    if args.provisional:
        results["provisional"] = provisional_accuracy(args.provisional_persons, cuts=8)
        results["provisional"]["recorded_at"] = results["recorded_at"]
    elif RESULTS.is_file():  # keep the last provisional measurement
        earlier = json.loads(RESULTS.read_text()).get("provisional")
        if earlier is not None:
            earlier.setdefault("recorded_at", json.loads(RESULTS.read_text())["recorded_at"])
            results["provisional"] = earlier
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "provisional"}, indent=2))
    if "provisional" in results:
        print(json.dumps({k: v for k, v in results["provisional"].items() if k != "rows"},
                         indent=2))


if __name__ == "__main__":
    main()
