"""The `regmig` command line (docs/design.md §6).

Each command lives in the folder of the stage it runs, as a module with
`add_arguments(parser)` and `run(args) -> int`; this file only wires them together and
turns a user's mistake (`RegmigError`) into one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from regmig import __version__
from regmig.errors import RegmigError

#: command -> (module implementing it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("regmig.flows.commands.demo", "run the whole pipeline on the bundled sample"),
    "run": ("regmig.flows.commands.run", "run the pipeline flow on a delivery folder"),
    "serve": ("regmig.flows.commands.serve", "serve the monthly scheduled pipeline deployment"),
    "ingest": ("regmig.ingest.command", "validate and load deliveries into the warehouse"),
    "link": ("regmig.linkage.command", "link cases to persons with Splink"),
    "estimate": ("regmig.estimators.command", "apply the residence rule: flows and stocks"),
    "publish": ("regmig.publish.command", "tabulate, protect, audit and export the release"),
    "classify": ("regmig.estimators.classify_command", "the residence rule alone on a CSV"),
    "synth": ("regmig.synth.command", "write a synthetic delivery with its ground truth"),
    "bench": ("regmig.flows.commands.bench", "measure the whole pipeline on synthetic countries"),
}


DESCRIPTION = (
    "International-migration statistics from linked administrative registers: "
    "ingest, link, estimate and publish. `regmig COMMAND --help` lists a command's options."
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage dump
        raise RegmigError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="regmig", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"regmig {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def _release_frames(error: BaseException | None) -> None:
    """Drop the local variables of the frames an error passed through.

    Prefect keeps a failed run's exception, and with it every frame of its traceback,
    until the process exits: their DuckDB connections and relations would then outlive
    the DuckDB module, which reports each of them as leaked ("nanobind: leaked ...").
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        traceback.clear_frames(error.__traceback__)
        error = error.__cause__ or error.__context__


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args._run(args) or 0)
    except RegmigError as exc:
        print(f"regmig: error: {exc}", file=sys.stderr)
        _release_frames(exc)
        return 2
    except KeyboardInterrupt:
        print("regmig: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
