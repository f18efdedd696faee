"""The run folder (`--out DIR`) and the name of every file a run writes there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunPaths:
    """The files of one run folder (`--out DIR`)."""

    out: Path

    @property
    def warehouse(self) -> Path:
        return self.out / "warehouse.duckdb"

    @property
    def identifiers(self) -> Path:
        return self.out / "identifiers.duckdb"

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
        return self
