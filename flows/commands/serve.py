"""`regmig serve`: the monthly scheduled pipeline, run by a long-lived process."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from regmig.flows.deployment import MONTHLY_CRON, SCHEDULE_TIMEZONE

    parser.add_argument("--input", type=Path, required=True, metavar="DIR",
                        help="delivery folder the monthly deliveries are dropped into")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="run folder")
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")
    parser.add_argument("--cron", default=MONTHLY_CRON,
                        help=f"when to run (cron, default {MONTHLY_CRON!r}: monthly)")
    parser.add_argument("--timezone", default=SCHEDULE_TIMEZONE,
                        help=f"time zone of the schedule (default {SCHEDULE_TIMEZONE})")


def run(args: argparse.Namespace) -> int:
    from regmig.flows import prefect_setup
    from regmig.flows.preflight import preflight
    from regmig.flows.run_settings import build_config

    preflight(build_config(args.config), args.input, args.out)
    prefect_setup.prepare()
    from regmig.flows.deployment import serve_monthly

    serve_monthly(args.input, args.out, args.config, args.cron, args.timezone)
    return 0
