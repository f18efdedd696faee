"""`regmig synth`: write a synthetic delivery with its ground truth (with `--monthly`, one
delivery folder per month, as the agencies send them: synth/monthly.py)."""

from __future__ import annotations

import argparse

from regmig.errors import RegmigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--persons", type=int, required=True, help="persons to simulate")
    parser.add_argument("--out", type=str, required=True,
                        help="folder to write the deliveries and truth/ into")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 1)")
    parser.add_argument("--start", type=int, default=None, help="first year of the data")
    parser.add_argument("--end", type=int, default=None, help="last year of the data")
    parser.add_argument("--noise-scale", type=float, default=None,
                        help="multiply every identifier-noise rate (0 = no noise)")
    parser.add_argument("--noise", choices=("default", "hard"), default=None,
                        help="noise profile: default (gentle; data/sample/) or hard (every "
                             "kind of error real registers carry; rates in config.py)")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv",
                        help="file format of the deliveries (truth is always Parquet)")
    parser.add_argument("--config", type=str, default=None,
                        help="TOML config file; its [synth] table sets the defaults "
                             "([monthly] those of --monthly)")
    parser.add_argument("--monthly", action="store_true",
                        help="one delivery folder per month, DIR/YYYY-MM/, with late "
                             "records and corrections; truth/ for the whole span")


def run(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from regmig.config import load_config
    from regmig.synth.generate import generate

    config = load_config(args.config)
    overrides = {"persons": args.persons, "seed": args.seed, "start_year": args.start,
                 "end_year": args.end, "noise_scale": args.noise_scale,
                 "noise_profile": args.noise}
    synth = dataclasses.replace(config.synth,
                                **{k: v for k, v in overrides.items() if v is not None})
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise RegmigError(f"{out}: exists and is not a folder")
    if args.monthly:
        from regmig.synth.monthly import generate_monthly

        summary = generate_monthly(synth, config.monthly, out, args.format, config.country)
    else:
        summary = generate(synth, out, args.format, config.country)
    for line in summary.lines():
        print(line)
    return 0
