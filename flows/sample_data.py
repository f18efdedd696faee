"""The sample delivery installed with regmig (data/sample/), wherever pip put it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from regmig.errors import RegmigError

SOURCES = ("border_crossings", "population_register", "permits")


def sample_dir() -> Path:
    """The bundled sample delivery folder, with its ground truth in truth/."""
    # The package's own folder: the repository in an editable install, site-packages
    # otherwise (package-data in pyproject.toml installs data/sample/ with it).
    path = Path(str(resources.files("regmig"))) / "data" / "sample"
    if not any(next(path.glob(f"{source}.*"), None) for source in SOURCES):
        raise RegmigError(f"{path}: the bundled sample delivery is missing from this "
                          "installation (reinstall regmig)")
    return path
