"""`regmig demo`: the whole pipeline on the bundled sample, with a closing summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from regmig.flows.commands.run import add_pipeline_options, pipeline_arguments

DEMO_OUT = Path("regmig-out")
KEY_FILE_NAME = "pseudonym.key"
SETTINGS_FILE_NAME = "demo.toml"
#: The demo's settings, written to its run folder when no --config is given: only its
#: key differs from the defaults.
DEMO_SETTINGS = """\
# Settings of `regmig demo` (every other setting is the default of regmig/config.py).
# The demo's own pseudonymisation key, so that `regmig run` or `regmig serve` with
# --config this file pseudonymises the same way.
[ingest]
pseudonym_key_file = {key_file}
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DEMO_OUT, metavar="DIR",
                        help=f"run folder (default ./{DEMO_OUT}/)")
    add_pipeline_options(parser)


def run(args: argparse.Namespace) -> int:
    from regmig.flows import prefect_setup
    from regmig.flows.preflight import check_run_folder, preflight
    from regmig.flows.run_settings import build_config
    from regmig.flows.sample_data import sample_dir
    from regmig.ingest.pseudonyms import create_key_file
    from regmig.warehouse.paths import RunPaths

    sample = sample_dir()
    build_config(args.config, args.threshold_days, args.window_days, args.disclosure_threshold)
    check_run_folder(args.out)
    paths = RunPaths(args.out).ensure()
    key_file = paths.out / KEY_FILE_NAME
    if not key_file.exists():
        # The demo's own key, kept with its run folder: pseudonyms stay the same when
        # the demo runs again. A production key lives elsewhere (README: pseudonyms).
        create_key_file(key_file)
    config = build_config(args.config, args.threshold_days, args.window_days,
                          args.disclosure_threshold, key_file)
    preflight(config, sample, paths.out, args.reference_year)
    prefect_setup.prepare(quiet=not args.verbose, temporary_server=True)
    from regmig.flows.demo_summary import summary_lines
    from regmig.flows.pipeline import pipeline_flow
    from regmig.warehouse.connection import open_warehouse

    options = pipeline_arguments(args)
    if options["config_file"] is None:
        options["config_file"] = paths.out / SETTINGS_FILE_NAME
        options["config_file"].write_text(
            DEMO_SETTINGS.format(key_file=json.dumps(str(key_file.resolve()))),
            encoding="utf-8")
    print(f"regmig demo: the sample delivery {sample}, settings {options['config_file']}")
    result = pipeline_flow(input_dir=sample, out_dir=paths.out, pseudonym_key_file=key_file,
                           **options)
    con = open_warehouse(paths)
    try:
        lines = summary_lines(con, paths, sample / "truth")
    finally:
        con.close()
    print()
    print(f"Finished in {result.seconds:.0f} s (run {result.run_id}, published year "
          f"{result.year})")
    for line in lines:
        print(line)
    return 0
