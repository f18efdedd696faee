"""The run folder (`--out DIR`) and the name of every file a run writes there.

Restricted files (names, exact dates of birth, whole quarantined lines) live in the
folder `DIR/restricted/`, readable by its owner only (0700), so that file permissions
separate them from the analysts' warehouse beside it. A folder is needed, not only a file
mode: DuckDB writes a database's changes first to a `.wal` file beside it, created with
the process's default mode, which a restricted folder keeps out of others' reach too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

RESTRICTED_FOLDER = "restricted"
IDENTIFIERS_FILE = "identifiers.duckdb"
STATS_FILE = "stats.duckdb"
#: Owner-only modes of restricted folders and files.
RESTRICTED_FOLDER_MODE = 0o700
RESTRICTED_FILE_MODE = 0o600


@dataclass(frozen=True)
class RunPaths:
    """The files of one run folder (`--out DIR`)."""

    out: Path

    @property
    def warehouse(self) -> Path:
        return self.out / "warehouse.duckdb"

    @property
    def restricted(self) -> Path:
        """The owner-only folder of the restricted databases."""
        return self.out / RESTRICTED_FOLDER

    @property
    def identifiers(self) -> Path:
        return self.restricted / IDENTIFIERS_FILE

    @property
    def stats(self) -> Path:
        """The unprotected aggregates (`stats.*`), restricted like the identifiers."""
        return self.restricted / STATS_FILE

    @property
    def release(self) -> Path:
        """The latest release: a link to one of `releases` (publish/vintages.py)."""
        return self.out / "release"

    @property
    def releases(self) -> Path:
        """Every release vintage, one folder each, never overwritten."""
        return self.out / "releases"

    @property
    def report(self) -> Path:
        return self.out / "report.html"

    @property
    def linkage_report(self) -> Path:
        return self.out / "linkage_report.html"

    def ensure(self) -> RunPaths:
        self.out.mkdir(parents=True, exist_ok=True)
        if not self.restricted.exists():
            self.restricted.mkdir(mode=RESTRICTED_FOLDER_MODE)
            os.chmod(self.restricted, RESTRICTED_FOLDER_MODE)  # whatever the umask
        self._move_legacy_identifiers()
        return self

    def _move_legacy_identifiers(self) -> None:
        """A run folder of an earlier version kept identifiers.duckdb beside the
        warehouse: move it (and its WAL) into the restricted folder, owner-only."""
        legacy = self.out / IDENTIFIERS_FILE
        if not legacy.exists() or self.identifiers.exists():
            return
        for suffix in ("", ".wal"):
            old = legacy.with_name(legacy.name + suffix)
            if old.exists():
                os.chmod(old, RESTRICTED_FILE_MODE)
                os.replace(old, self.identifiers.with_name(self.identifiers.name + suffix))
