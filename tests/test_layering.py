"""The house's layering, checked on the import graph of the package's source.

Data flows one way (docs/design.md §1): the stages import `schemas` and the warehouse
layer, never each other and never `flows`; `flows` imports the stages; nothing imports
`flows`. Imports inside functions count as much as those at the top of a module.
"""

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
STAGES = ("ingest", "linkage", "estimators", "publish")
#: What each top-level part of the package may import of the package (beyond itself).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "config": {"errors"},
    "schemas": {"config", "errors"},
    "warehouse": {"schemas", "config", "errors"},
    **{stage: {"schemas", "warehouse", "config", "errors"} for stage in STAGES},
    "synth": {"config", "errors"},
    "flows": {"schemas", "warehouse", "config", "errors", "synth", *STAGES},
    "__main__": {"flows"},
    "__init__": set(),
}
NOT_PACKAGE = {"tests", "bench", "docs", "data", ".venv", "regmig-out"}


def package_imports(root: Path) -> list[tuple[str, str, str]]:
    """(importing file, its part, imported part) for every `regmig.*` import under root."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in NOT_PACKAGE or relative.parts[0].startswith("."):
            continue
        part = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                names = module.split(".")
                if names[0] == "regmig" and len(names) > 1:
                    found.append((str(relative), part, names[1]))
                elif names[0] == "regmig" and isinstance(node, ast.ImportFrom):
                    # `from regmig import flows` imports the part named.
                    found += [(str(relative), part, alias.name) for alias in node.names]
    return found


def violations(root: Path) -> list[str]:
    return [
        f"{file}: {part} imports regmig.{imported}"
        for file, part, imported in package_imports(root)
        if imported != part and imported != "__version__"
        and imported not in ALLOWED.get(part, set())
    ]


def test_imports_run_downward_only():
    assert violations(PACKAGE_ROOT) == []


def test_every_part_of_the_package_has_a_rule():
    parts = {part for _, part, _ in package_imports(PACKAGE_ROOT)}
    assert parts <= set(ALLOWED), parts - set(ALLOWED)


def test_the_check_sees_a_stage_reaching_up_or_sideways(tmp_path: Path):
    (tmp_path / "linkage").mkdir()
    (tmp_path / "linkage" / "stage.py").write_text(
        "def f():\n    from regmig.flows.pipeline import pipeline_flow\n"
        "from regmig.estimators import stocks\nfrom regmig.warehouse.paths import RunPaths\n"
    )
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "x.py").write_text("from regmig import warehouse\n")
    assert sorted(violations(tmp_path)) == [
        "linkage/stage.py: linkage imports regmig.estimators",
        "linkage/stage.py: linkage imports regmig.flows",
        "schemas/x.py: schemas imports regmig.warehouse",
    ]
