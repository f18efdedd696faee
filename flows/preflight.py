"""Checks made before Prefect starts or anything is written: a run that cannot succeed
stops in a second, with one line, and leaves no half-made run folder behind.

What can be known before the first stage: the settings (already built by
run_settings.build_config), the delivery folder and its files, the run folder (a folder,
writable), the restricted files' modes, the pseudonymisation key (present, strong, the one
an existing warehouse was built with) and the reference year (a year the data can cover).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from regmig.config import Config
from regmig.errors import RegmigError
from regmig.flows.monthly import month_folders
from regmig.ingest.pseudonyms import checked_key
from regmig.ingest.stage import delivery_files
from regmig.warehouse.connection import check_restricted
from regmig.warehouse.paths import RunPaths


def preflight(
    config: Config, input_dir: Path | None, out_dir: Path, reference_year: int | None = None
) -> None:
    """Raise RegmigError (one line) for the first thing that would make the run fail."""
    if input_dir is not None:
        # A folder of month folders (a monthly schedule) or one delivery.
        for folder in month_folders(Path(input_dir)) or [Path(input_dir)]:
            delivery_files(folder)
    check_run_folder(Path(out_dir))
    checked_key(config.ingest, RunPaths(Path(out_dir)).warehouse)
    if reference_year is not None:
        check_reference_year(reference_year, config)


def check_run_folder(out_dir: Path) -> None:
    """The run folder is a folder (or can be made), writable, its restricted files private."""
    if out_dir.exists() and not out_dir.is_dir():
        raise RegmigError(f"{out_dir}: the run folder is a file, not a folder")
    existing = next(p for p in (out_dir, *out_dir.parents) if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RegmigError(f"{existing}: not writable, so the run folder {out_dir} cannot be "
                          f"written")
    paths = RunPaths(out_dir)
    check_restricted(paths.identifiers)
    check_restricted(paths.stats)


def check_reference_year(year: int, config: Config) -> None:
    """A year after the earliest plausible date and not after the current one."""
    earliest = date.fromisoformat(config.ingest.earliest_plausible_date).year
    latest = datetime.now(UTC).year
    if not earliest <= year <= latest:
        raise RegmigError(f"--reference-year {year}: expected a year from {earliest} to "
                          f"{latest}")
