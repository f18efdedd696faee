"""Benchmark: the whole pipeline (`regmig run`) at 100k, 300k and 1M persons.

Targets (issue 16, this machine: 2 cores, 24 GB): 1,000,000 persons (about 10 million
crossings over three years) through the whole pipeline in under 10 minutes with peak
memory under 10 GB, every blocking rule kept, time close to linear in size. Writes
bench/results/pipeline_<engine>_<N>.json and bench/results/pipeline.md.

    flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_pipeline.py [--persons N ...]

The same as `regmig bench --persons 100000 300000 1000000`.
"""

import sys

from regmig.flows.cli import main

SIZES = ("100000", "300000", "1000000")

if __name__ == "__main__":
    arguments = sys.argv[1:]
    if "--persons" not in arguments:
        arguments = ["--persons", *SIZES, *arguments]
    sys.exit(main(["bench", *arguments]))
