"""Placeholder command: replaced by the stage's implementation."""

import argparse

from regmig.errors import RegmigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=str)


def run(args: argparse.Namespace) -> int:
    raise RegmigError("this command is not implemented yet")
