"""`regmig ingest`: validate and load deliveries into the warehouse of a run folder.

    regmig ingest --out DIR --input DELIVERY_DIR [--config FILE]
    regmig ingest --out DIR --source border_crossings --file PATH [--period P] [--config FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from regmig.errors import RegmigError

SOURCE_CHOICES = ("border_crossings", "population_register", "permits")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="run folder")
    parser.add_argument("--input", type=Path, help="delivery folder (every source in it)")
    parser.add_argument("--source", choices=SOURCE_CHOICES, help="source of --file")
    parser.add_argument("--file", type=Path, help="one delivery file (CSV or Parquet)")
    parser.add_argument("--period", help="period the file covers (default: from the file "
                        "name, e.g. border_crossings_2024-03.csv -> 2024-03)")
    parser.add_argument("--config", type=Path, help="TOML configuration file")


def run(args: argparse.Namespace) -> int:
    from regmig.config import load_config
    from regmig.ingest.pseudonyms import checked_key
    from regmig.ingest.stage import (
        FilesRefused,
        IngestSummary,
        delivery_files,
        ingest_file,
        ingest_folder,
    )
    from regmig.warehouse.connection import open_warehouse
    from regmig.warehouse.paths import RunPaths
    from regmig.warehouse.runs import RunRecord, new_run_id, recorded_run

    single = args.file is not None or args.source is not None
    if args.input is not None and single:
        raise RegmigError("ingest: give either --input DIR or --source and --file, not both")
    if args.input is None and not (args.file is not None and args.source is not None):
        raise RegmigError("ingest: give --input DIR, or --source SOURCE with --file PATH")
    if args.period and args.input is not None:
        raise RegmigError("ingest: --period applies to one --file only")

    config = load_config(args.config)
    paths = RunPaths(args.out)
    # Checked before anything is written: the key, and the delivery folder.
    checked_key(config.ingest, paths.warehouse)
    if args.input is not None:
        delivery_files(args.input)
    run_id = new_run_id()
    parameters = {"input": str(args.input) if args.input else None,
                  "source": args.source, "file": str(args.file) if args.file else None,
                  "period": args.period, "config": config.as_dict()}
    con = open_warehouse(paths)
    try:
        record = RunRecord(run_id=run_id, stage="ingest", parameters=parameters)
        # The stage opens the warehouse itself; this connection only writes meta.runs, and
        # DuckDB allows several connections of one process to one file.
        with recorded_run(con, record):
            try:
                if args.input is not None:
                    summary = ingest_folder(paths, config, args.input, run_id)
                else:
                    summary = IngestSummary()
                    summary.add(ingest_file(paths, config, args.source, args.file, run_id,
                                            period=args.period))
            except FilesRefused as refused:
                _report(record, refused.summary)
                raise
            _report(record, summary)
    finally:
        con.close()
    return 0


def _report(record, summary) -> None:
    record.row_counts = summary.row_counts
    record.timings = summary.timings
    record.input_hashes = summary.input_hashes
    for line in summary.lines():
        print(line)
