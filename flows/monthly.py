"""The monthly run: which month folders of the input folder are new.

The agencies' deliveries are dropped into one input folder, one sub-folder per month
(`YYYY-MM/`, as `regmig synth --monthly` writes them; any sub-folder holding delivery
files counts, in name order). A scheduled run takes the month folders that hold a file
ingest has not loaded yet, oldest first, and runs the pipeline on each in turn, each
under its own run id, so each month becomes its own release vintage. A month folder into
which a late or corrected file is dropped later is new again, and only that file is
loaded. A folder that holds delivery files itself is one delivery, run as it is.

A file counts as loaded when meta.loads has a load of its path finished after the file
was last modified, or else a load of the same bytes (a folder copied or moved keeps its
months loaded): only files unknown by path are hashed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from regmig.ingest.stage import delivery_files
from regmig.schemas.classifications import SOURCES
from regmig.warehouse.hashes import file_sha256


def month_folders(input_dir: Path) -> list[Path]:
    """Sub-folders holding delivery files, in name order; [] when `input_dir` holds
    delivery files itself (one delivery)."""
    input_dir = Path(input_dir)
    if not input_dir.is_dir() or _holds_deliveries(input_dir):
        return []
    return sorted(p for p in input_dir.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and _holds_deliveries(p))


def pending_months(con: duckdb.DuckDBPyConnection, folders: list[Path]) -> list[Path]:
    """The month folders holding a file that meta.loads has not taken in (see the module
    docstring)."""
    loaded = dict(con.sql(
        "SELECT file_path, max(loaded_at) FROM meta.loads GROUP BY file_path").fetchall())
    hashes = {r[0] for r in con.sql("SELECT file_sha256 FROM meta.loads").fetchall()}

    def new(path: Path) -> bool:
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
        if str(path) in loaded and loaded[str(path)] >= modified:
            return False
        return file_sha256(path) not in hashes

    return [folder for folder in folders
            if any(new(path) for _source, path in delivery_files(folder))]


def _holds_deliveries(folder: Path) -> bool:
    return any(path.is_file() and not path.name.startswith(".")
               for source in SOURCES for path in folder.glob(f"{source}*"))
