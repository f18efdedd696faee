"""`regmig link --out DIR [--config FILE] [--retrain] [--review-export FILE]
[--review-labels FILE]`: cases to persons with Splink."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from regmig.errors import RegmigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path,
                        help="run folder holding warehouse.duckdb and identifiers.duckdb")
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--retrain", action="store_true",
                        help="train a new model instead of reusing the stored one")
    parser.add_argument("--review-export", type=Path, metavar="FILE",
                        help="write a sample of pairs near the threshold to label (CSV; "
                             "restricted: holds names, keep it next to identifiers.duckdb)")
    parser.add_argument("--review-labels", type=Path, metavar="FILE",
                        help="a labelled review file: report precision and recall")


def run(args: argparse.Namespace) -> int:
    from regmig.config import load_config
    from regmig.linkage.stage import STAGE, link
    from regmig.warehouse.paths import RunPaths
    from regmig.warehouse.runs import run_recorded_stage

    paths = RunPaths(args.out)
    if not paths.warehouse.is_file() or not paths.identifiers.is_file():
        raise RegmigError(
            f"{args.out}: no warehouse.duckdb and identifiers.duckdb here; run "
            "`regmig ingest --input DIR --out DIR` first"
        )
    if args.review_labels is not None and not args.review_labels.is_file():
        raise RegmigError(f"{args.review_labels}: review labels file not found")
    config = load_config(args.config)
    if args.retrain:
        config = dataclasses.replace(
            config, linkage=dataclasses.replace(config.linkage, retrain=True)
        )
    summary = run_recorded_stage(
        paths, STAGE,
        {
            "config": config.as_dict(),
            "review_export": str(args.review_export) if args.review_export else None,
            "review_labels": str(args.review_labels) if args.review_labels else None,
        },
        lambda run_id: link(paths, config, run_id, review_export=args.review_export,
                            review_labels=args.review_labels),
    )
    print("\n".join(summary.lines()))
    return 0
