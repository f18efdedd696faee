"""`regmig run`: the pipeline flow on a delivery folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `run` and `demo`: settings that override the config file."""
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="TOML configuration file (see README: Configuration)")
    parser.add_argument("--reference-year", type=int, metavar="Y",
                        help="year to estimate and publish (default: the last full year)")
    parser.add_argument("--threshold-days", type=int, metavar="V",
                        help="residence rule: days in (or out) that make a migration")
    parser.add_argument("--window-days", type=int, metavar="W",
                        help="residence rule: days after a crossing that are counted")
    parser.add_argument("--disclosure-threshold", type=int, metavar="N",
                        help="cells with fewer than N persons are suppressed")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default=None,
                        help="where linkage and tabulation run (default: the config's "
                             "engine, duckdb); spark: local mode or the cluster of [spark]")
    parser.add_argument("--force", action="store_true",
                        help="re-run linkage and estimation even if their inputs are unchanged")
    parser.add_argument("--full-relink", action="store_true",
                        help="link every record again, not only the new ones (on a run "
                             "folder that holds persons)")
    parser.add_argument("--verbose", action="store_true", help="show Prefect's own log lines")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", type=Path, required=True, metavar="DIR",
                        help="delivery folder: border_crossings.*, population_register.*, "
                             "permits.* (CSV or Parquet)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="run folder: warehouse, identifiers, release/, report.html")
    add_pipeline_options(parser)


def pipeline_arguments(args: argparse.Namespace) -> dict:
    return {
        "reference_year": args.reference_year,
        "threshold_days": args.threshold_days,
        "window_days": args.window_days,
        "disclosure_threshold": args.disclosure_threshold,
        "config_file": args.config,
        "force": args.force,
        "engine": args.engine,
        "full_relink": args.full_relink,
    }


def run(args: argparse.Namespace) -> int:
    from regmig.flows import prefect_setup
    from regmig.flows.preflight import preflight
    from regmig.flows.run_settings import build_config

    # Everything checkable is checked before Prefect starts, so a typo, a missing key or
    # a key that is not the warehouse's fails in a second and writes nothing.
    config = build_config(args.config, args.threshold_days, args.window_days,
                          args.disclosure_threshold, engine=args.engine)
    preflight(config, args.input, args.out, args.reference_year)
    prefect_setup.prepare(quiet=not args.verbose, temporary_server=True)
    from regmig.flows.pipeline import pipeline_flow

    result = pipeline_flow(input_dir=args.input, out_dir=args.out, **pipeline_arguments(args))
    release = result.paths.release
    print(f"release: {release}" if release.exists() else "release: none yet")
    return 0
