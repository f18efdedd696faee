"""`regmig bench --persons N [N ...]`: the whole pipeline on synthetic countries, measured.

See `regmig.flows.benchmark`. Runs above about 50,000 persons are heavy: on a shared
machine run them one at a time (`flock /tmp/regmig-bench.lock regmig bench ...`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

#: Where shared synthetic deliveries live when the machine has such a folder.
SHARED_DATASETS = Path("/work/datasets")
#: The package's root: in a clone (editable install) bench/results/ sits there.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def _default_datasets() -> Path:
    if "REGMIG_DATASETS" in os.environ:
        return Path(os.environ["REGMIG_DATASETS"])
    return SHARED_DATASETS if SHARED_DATASETS.is_dir() else Path("datasets")


def _default_results() -> Path:
    in_clone = PACKAGE_ROOT / "bench" / "results"
    return in_clone if in_clone.parent.is_dir() else Path("bench-results")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--persons", type=int, nargs="+", required=True, metavar="N",
                        help="sizes of the synthetic countries, e.g. 100000 300000 1000000")
    parser.add_argument("--seed", type=int, default=61, help="synthetic seed (default 61)")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="engine of `regmig run` (default duckdb)")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="TOML configuration of the measured runs (default: defaults)")
    parser.add_argument("--datasets", type=Path, default=None, metavar="DIR",
                        help="folder of synthetic deliveries, reused or generated there "
                             "(default $REGMIG_DATASETS, else /work/datasets if present, "
                             "else ./datasets)")
    parser.add_argument("--results", type=Path, default=None, metavar="DIR",
                        help="where pipeline_<engine>_<N>.json and pipeline.md go "
                             "(default bench/results/ of the clone)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="keep the run folder of the (single) run here")


def run(args: argparse.Namespace) -> int:
    from regmig.errors import RegmigError
    from regmig.flows.benchmark import bench

    if args.keep is not None and len(args.persons) > 1:
        raise RegmigError("--keep takes one --persons size")
    if any(n < 1 for n in args.persons):
        raise RegmigError("--persons must be positive")
    datasets = args.datasets or _default_datasets()
    results = args.results or _default_results()
    for persons in args.persons:
        print(f"bench: {persons:,} persons (seed {args.seed}, engine {args.engine}) ...",
              flush=True)
        r = bench(persons, args.seed, datasets, results, args.engine, args.config, args.keep)
        total = r["total"]
        print(f"  {total['wall_seconds']:.0f} s wall, {total['cpu_seconds']:.0f} CPU s, "
              f"peak {total['peak_rss_mb'] / 1024:.1f} GB; "
              + ", ".join(f"{p} {m['wall_seconds']:.0f} s"
                          for p, m in r["phases"].items()), flush=True)
    print(f"results: {results}/pipeline.md")
    return 0
