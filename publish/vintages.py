"""Release vintages: every release is kept, named by the data it describes and the run
that made it.

A vintage is one release as published, in `RUN_DIR/releases/<vintage>/`, named
`<data end>_<run id>`: the last day the data cover, then the publish run (whose id starts
with its UTC time), so the folders sort by what they describe and then by when they were
made. A vintage is written once (to a new folder, moved into place whole) and never
changed or removed.

`RUN_DIR/release` is a symbolic link to the latest vintage, not a copy: switching it is
one atomic rename, so a reader opening `release/` sees the old vintage or the new one,
never a mix of both, and the disk holds each release once. A `release/` that is a plain
folder (written by a regmig that had no vintages, or a copy of a run folder made by
following links) is kept: as the vintage it copies if that exists, else moved under
`releases/` as `unversioned_<run id>`.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import duckdb

from regmig.errors import RegmigError
from regmig.warehouse.paths import RunPaths

#: Name of the vintage a plain `release/` folder of a run before vintages becomes.
UNVERSIONED = "unversioned_{run_id}"


def vintage_name(data_end: date, run_id: str) -> str:
    return f"{data_end.isoformat()}_{run_id}"


def data_end(con: duckdb.DuckDBPyConnection) -> date:
    """The last day the linked crossings cover: the date a vintage describes."""
    return con.sql("SELECT max(crossing_date) FROM core.crossings").fetchall()[0][0]


def new_vintage_folder(paths: RunPaths, name: str) -> Path:
    """The folder a new vintage is written to; a vintage is never overwritten."""
    folder = paths.releases / name
    if folder.exists():
        raise RegmigError(f"{folder}: this vintage exists already; a vintage is never "
                          "overwritten")
    paths.releases.mkdir(parents=True, exist_ok=True)
    return folder


def point_latest(paths: RunPaths, folder: Path) -> None:
    """Make `release` point to the vintage `folder` (atomically)."""
    link = paths.release
    if link.is_dir() and not link.is_symlink():
        _keep_plain_release(paths)
    switch = link.with_name(link.name + ".switch")
    switch.unlink(missing_ok=True)
    switch.symlink_to(Path(folder.parent.name) / folder.name, target_is_directory=True)
    os.replace(switch, link)


def latest_vintage(paths: RunPaths) -> str | None:
    """The vintage `release` points to, if it is one."""
    link = paths.release
    return Path(os.readlink(link)).name if link.is_symlink() else None


def _keep_plain_release(paths: RunPaths) -> None:
    plain = paths.release
    try:
        header = json.loads((plain / "metadata.json").read_text(encoding="utf-8"))["release"]
        run_id = str(header["run_id"])
    except (OSError, KeyError, ValueError):
        run_id = "unknown"
    if any(v.name.endswith(f"_{run_id}") for v in paths.releases.glob("*")):
        shutil.rmtree(plain)  # a copy of a vintage that is kept
        return
    target = paths.releases / UNVERSIONED.format(run_id=run_id)
    paths.releases.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.rmtree(plain)
    else:
        plain.rename(target)
