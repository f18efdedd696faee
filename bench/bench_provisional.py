"""Benchmark of the provisional estimates: backtests over several synthetic populations
with different trends, against a naive baseline measured in the same run; and the final
figures against the truth, per year and kind, first year included.

    flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_provisional.py
        [--persons 200000] [--cuts 8] [--start 2015 --end 2024] [--profiles NAME ...]
        [--results bench/results/provisional.json] [--set KEY=VALUE ...]

Each population (one per profile: default, a rising emigration, a falling immigration, a
shock year, and both trends at once; a seed each) is generated once into
/work/datasets/synth-<persons>-s<seed>-<start>-<end>-<profile>/ (or $REGMIG_DATASETS) and
linked by its truth, so that the figures measure the estimation, not the linkage. For
each population: the estimate chain on all the data, then at each of `--cuts` cut dates
the first estimate of the 12, 3 and 1 months ending on the cut (the stage's backtest),
against the final figure.

Per direction (and period), over every population and cut: mean and 90th percentile of
|first - final| / final, the share within 3%, the coverage and mean half-width of the
95% intervals, the mean chance and model standard deviations; and the same for the naive
baseline: last year's count as the data stood at the cut (final events plus the rule's
provisional outcomes, no model), scaled by the ratio of this year's crossings in the
direction to last year's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
RESULTS = HERE / "results" / "provisional.json"
#: Year-kind cells with at least this many true events count in the worst final error.
LARGE_CELL = 300
DATASETS = Path(os.environ.get("REGMIG_DATASETS", "/work/datasets"))

#: profile -> (seed, SynthConfig trend settings)
PROFILES: dict[str, tuple[int, dict]] = {
    "default": (41, {}),
    "emigration-rising": (42, {"emigration_trend": 0.15}),
    "immigration-falling": (43, {"immigration_trend": -0.12}),
    "shock-2020": (44, {"shock_year": 2020, "shock_factor": 2.5}),
    "emigration-rising-immigration-falling": (45, {"emigration_trend": 0.10,
                                                   "immigration_trend": -0.08}),
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def population(persons: int, profile: str, start: int, end: int) -> Path:
    """The population's folder, generated if absent."""
    from regmig.config import SynthConfig
    from regmig.synth.generate import generate

    seed, trend = PROFILES[profile]
    folder = DATASETS / f"synth-{persons}-s{seed}-{start}-{end}-{profile}"
    if not (folder / "truth" / "parameters.json").exists():
        generate(SynthConfig(persons=persons, seed=seed, start_year=start, end_year=end,
                             **trend), folder)
    return folder


def naive_baseline(run, inputs, config, cuts: list[date]) -> pl.DataFrame:
    """cut_date, kind, baseline: last year's count as the data stood at the cut, times
    this year's crossings in the direction over last year's."""
    from regmig.estimators.chain import KINDS
    from regmig.estimators.step3_provisional import training
    from regmig.estimators.step3_provisional.features import days

    rows = []
    crossings = inputs.crossings.select("crossing_date", "direction")
    for cut in cuts:
        this_start = cut - timedelta(days=config.backtest_period_days - 1)
        last_start = this_start - timedelta(days=config.backtest_period_days)
        last_end = this_start - timedelta(days=1)
        view = training.view_at(run.known, inputs, config, "ARM", days(cut))
        unresolved = view.states.select("person_id", "seq", "flag")
        made = run.known.filter(pl.col("crossing_date").is_between(last_start, last_end)
                                & (pl.col("seen_from") <= days(cut)))
        counted = made.join(unresolved, on=["person_id", "seq"], how="left").select(
            "arrival", n=pl.coalesce("flag", pl.col("is_long_term_migration").fill_null(False)
                                     .cast(pl.Float64)))
        for arrival, kind in ((True, KINDS["arrival"]), (False, KINDS["departure"])):
            last = counted.filter(pl.col("arrival") == arrival)["n"].sum()
            direction = "arrival" if arrival else "departure"
            of_direction = crossings.filter(pl.col("direction") == direction)
            now = of_direction.filter(pl.col("crossing_date").is_between(this_start, cut)).height
            before = of_direction.filter(
                pl.col("crossing_date").is_between(last_start, last_end)).height
            rows.append({"cut_date": cut, "kind": kind,
                         "baseline": float(last) * now / before if before else None})
    return pl.DataFrame(rows)


def finals_against_truth(run, folder: Path) -> list[dict]:
    """Final events per year and kind against the truth's events that the data decide."""
    from regmig.estimators.step4_events.totals import candidate_events

    mine = candidate_events(run).filter(pl.col("status") == "final").group_by(
        year=pl.col("crossing_date").dt.year(), kind="kind").agg(final=pl.len())
    truth = (pl.read_parquet(folder / "truth" / "migration_events.parquet")
             .filter("decided_by_data_end")
             .group_by(year=pl.col("event_date").dt.year(), kind="kind")
             .agg(truth=pl.len()))
    both = truth.join(mine, on=["year", "kind"], how="left").with_columns(
        pl.col("final").fill_null(0)).with_columns(
        # counts are unsigned: subtract as signed integers
        relative_error=(pl.col("final").cast(pl.Int64) - pl.col("truth").cast(pl.Int64))
        / pl.col("truth"))
    return both.sort("year", "kind").to_dicts()


def measure(folder: Path, profile: str, cuts: int, settings: dict[str, float]
            ) -> tuple[dict, pl.DataFrame]:
    from fixtures.estimate import truth_linked_inputs

    from regmig.config import Config
    from regmig.estimators.chain import run_rule
    from regmig.estimators.step6_checks import backtest

    inputs = truth_linked_inputs(folder)
    config = Config()
    est = dataclasses.replace(config.estimate, backtest_cuts=cuts, **settings)
    wall, cpu = time.perf_counter(), cpu_seconds()
    run = run_rule(inputs, est, est.rule, config.country)
    chain = {"wall_seconds": time.perf_counter() - wall, "cpu_seconds": cpu_seconds() - cpu}
    wall, cpu = time.perf_counter(), cpu_seconds()
    table = backtest.revision_details(inputs, run, est, config.country)
    backtests = {"wall_seconds": time.perf_counter() - wall, "cpu_seconds": cpu_seconds() - cpu}
    baseline = naive_baseline(run, inputs, est, backtest.cut_dates(inputs, est))
    table = table.join(baseline, on=["cut_date", "kind"], how="left").with_columns(
        population=pl.lit(folder.name), profile=pl.lit(profile),
        baseline=pl.when(pl.col("period") == "year").then("baseline"))
    info = {"folder": str(folder), "profile": profile, "crossings": inputs.crossings.height,
            "chain": chain, "backtest": backtests,
            "pool_rows": run.pool.rows.height,
            "model_error": run.model.model_error if run.model else None,
            "finals_against_truth": finals_against_truth(run, folder)}
    return info, table


def summarise(table: pl.DataFrame) -> list[dict]:
    relative = (pl.col("first_estimate") - pl.col("final")).abs() / pl.col("final")
    naive = (pl.col("baseline") - pl.col("final")).abs() / pl.col("final")
    half = (pl.col("upper") - pl.col("lower")) / 2 / pl.col("first_estimate")
    return table.group_by("period", "kind").agg(
        backtests=pl.len(),
        mean_abs_relative_error=relative.mean(),
        p90_abs_relative_error=relative.quantile(0.9),
        share_within_3pct=(relative <= 0.03).mean(),
        mean_signed_relative_error=((pl.col("first_estimate") - pl.col("final"))
                                    / pl.col("final")).mean(),
        coverage_95=pl.col("covered").mean(),
        mean_half_width=half.mean(),
        mean_chance_sd=(pl.col("chance_sd") / pl.col("first_estimate")).mean(),
        mean_model_sd=(pl.col("model_sd") / pl.col("first_estimate")).mean(),
        mean_final=pl.col("final").mean(),
        baseline_mean_abs_relative_error=naive.mean(),
        baseline_p90_abs_relative_error=naive.quantile(0.9),
        baseline_share_within_3pct=(naive <= 0.03).mean(),
    ).sort("period", "kind").to_dicts()


def estimate_settings(pairs: list[str]) -> dict[str, float]:
    """KEY=VALUE pairs as EstimateConfig fields, each of the field's own type."""
    from regmig.config import EstimateConfig

    fields = {f.name: f for f in dataclasses.fields(EstimateConfig)}
    settings = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in fields:
            raise SystemExit(f"--set: EstimateConfig has no setting {key!r}")
        settings[key] = type(getattr(EstimateConfig(), key))(value)
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--cuts", type=int, default=8)
    parser.add_argument("--start", type=int, default=2015)
    parser.add_argument("--end", type=int, default=2024)
    parser.add_argument("--profiles", nargs="+", default=list(PROFILES))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="EstimateConfig settings to try instead of the defaults")
    args = parser.parse_args()
    settings = estimate_settings(args.set)
    results: dict = {
        "benchmark": "provisional",
        "command": " ".join(["bench/bench_provisional.py", *sys.argv[1:]]),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "polars": pl.__version__,
                    "load_average_start": os.getloadavg()},
        "persons": args.persons, "span": [args.start, args.end], "cuts": args.cuts,
        "settings": settings,
        "populations": [],
    }
    tables = []
    for profile in args.profiles:
        folder = population(args.persons, profile, args.start, args.end)
        info, table = measure(folder, profile, args.cuts, settings)
        results["populations"].append(info)
        tables.append(table)
        print(f"{profile}: chain {info['chain']['wall_seconds']:.0f} s, backtest "
              f"{info['backtest']['wall_seconds']:.0f} s", flush=True)
        print(table.filter(pl.col("period") == "year").select(
            "cut_date", "kind", "first_estimate", "final", "baseline", "covered"), flush=True)
    everything = pl.concat(tables)
    results["summary"] = summarise(everything)
    results["rows"] = [{k: (str(v) if isinstance(v, date) else v) for k, v in row.items()}
                       for row in everything.iter_rows(named=True)]
    results["machine"]["load_average_end"] = os.getloadavg()
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results["summary"], indent=2))
    errors = [abs(r["relative_error"]) for p in results["populations"]
              for r in p["finals_against_truth"] if r["truth"] >= LARGE_CELL]
    if errors:
        print(f"finals against truth: worst |error| {max(errors):.2%} over the "
              f"{len(errors)} year-kind cells of {LARGE_CELL}+ events")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
