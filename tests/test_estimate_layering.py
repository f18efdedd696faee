"""The estimate chain's order, checked on the import graph of `estimators/`.

Each step of the chain (estimators/__init__.py) imports only the steps before it and the
stage's base modules (`inputs`, `ages`); `chain` (steps 1-3 at one data end) sits
between steps 3 and 4; the stage and the commands sit on top. A step that reached
forward (the rule importing the provisional model, say) would tangle the order a reader
relies on.
"""

import ast
from pathlib import Path

ESTIMATORS = Path(__file__).resolve().parent.parent / "estimators"
#: Layers from the bottom; a module may import its own layer and those below it.
LAYERS = (
    {"ages", "inputs"},
    {"step1_histories"},
    {"step2_rule"},
    {"step3_provisional"},
    {"chain"},
    {"step4_events"},
    {"step5_stocks"},
    {"step6_checks"},
    {"stage", "command", "classify_command", "__init__"},
)


def layer_of(name: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if name in names)


def estimator_imports(root: Path) -> list[tuple[str, str, str]]:
    """(file, its part, imported part) for every `regmig.estimators.*` import."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        part = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = node.module.split(".")
                if names[:2] != ["regmig", "estimators"]:
                    continue
                if len(names) > 2:
                    found.append((str(relative), part, names[2]))
                else:  # from regmig.estimators import x
                    found += [(str(relative), part, alias.name) for alias in node.names]
    return found


def violations(root: Path) -> list[str]:
    return [f"{file}: {part} imports {imported}"
            for file, part, imported in estimator_imports(root)
            if layer_of(imported) > layer_of(part)]


def test_every_module_has_a_layer():
    parts = {p.stem if p.parent == ESTIMATORS else p.relative_to(ESTIMATORS).parts[0]
             for p in ESTIMATORS.rglob("*.py")}
    assert parts <= set().union(*LAYERS), parts - set().union(*LAYERS)


def test_the_chain_imports_backwards_only():
    assert violations(ESTIMATORS) == []


def test_the_check_sees_a_step_reaching_forward(tmp_path: Path):
    (tmp_path / "step2_rule").mkdir()
    (tmp_path / "step2_rule" / "x.py").write_text(
        "from regmig.estimators.step3_provisional import training\n"
        "from regmig.estimators.step1_histories import gaps\n")
    assert violations(tmp_path) == ["step2_rule/x.py: step2_rule imports step3_provisional"]
