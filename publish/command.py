"""`regmig publish --out DIR --year Y [--config FILE]`: tables, disclosure control with an
audit, and the release exports."""

from __future__ import annotations

import argparse
from pathlib import Path

from regmig.errors import RegmigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path,
                        help="run folder holding warehouse.duckdb (after `regmig estimate`)")
    parser.add_argument("--year", required=True, type=int,
                        help="reference year: flows in the year, stocks on 1 January")
    parser.add_argument("--config", type=Path, help="TOML configuration file")


def run(args: argparse.Namespace) -> int:
    from regmig.config import load_config
    from regmig.publish.stage import STAGE, publish
    from regmig.warehouse.paths import RunPaths
    from regmig.warehouse.runs import run_recorded_stage

    paths = RunPaths(args.out)
    if not paths.warehouse.is_file():
        raise RegmigError(f"{args.out}: no warehouse.duckdb here; run `regmig ingest`, "
                          "`regmig link` and `regmig estimate` first")
    config = load_config(args.config)
    summary = run_recorded_stage(
        paths, STAGE, {"year": args.year, "config": config.as_dict()},
        lambda run_id: publish(paths, config, run_id, args.year),
    )
    print("\n".join(summary.lines()))
    return 0
