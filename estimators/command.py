"""`regmig estimate --out DIR [--config FILE] [--reference-year Y]`: the residence rule,
migration flows and stocks, provisional estimates, sensitivity and revisions."""

from __future__ import annotations

import argparse
from pathlib import Path

from regmig.errors import RegmigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path,
                        help="run folder holding warehouse.duckdb (after ingest and link)")
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--reference-year", type=int, default=None,
                        help="year reported in the summary and the sensitivity table "
                             "(default: the last complete year of the data)")


def run(args: argparse.Namespace) -> int:
    from regmig.config import load_config
    from regmig.estimators.stage import estimate
    from regmig.warehouse.paths import RunPaths
    from regmig.warehouse.runs import run_recorded_stage

    paths = RunPaths(args.out)
    if not paths.warehouse.is_file():
        raise RegmigError(
            f"{args.out}: no warehouse.duckdb here; run `regmig ingest` and `regmig link` "
            "first"
        )
    config = load_config(args.config)
    summary = run_recorded_stage(
        paths, "estimate",
        {"config": config.as_dict(), "reference_year": args.reference_year},
        lambda run_id: estimate(paths, config, run_id, args.reference_year),
    )
    print("\n".join(summary.lines()))
    return 0
