"""The repository root is the package, so tools that guess the package from the folder
name (ruff's import sorting) must give the same verdict whatever the clone is called:
`git clone` names it `regmig`, CI and developers name it anything."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "*.py",
                             "pyproject.toml"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.fail(f"git ls-files failed: {listed.stderr}")
    return [f for f in listed.stdout.splitlines() if (ROOT / f).is_file()]


@pytest.mark.parametrize("folder", ["regmig", "x"])
def test_ruff_passes_in_a_clone_of_any_name(tmp_path: Path, folder: str):
    clone = tmp_path / folder
    for name in _tracked_files():
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "--no-cache", "."], cwd=clone,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:]
