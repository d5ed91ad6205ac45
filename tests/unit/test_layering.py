"""The engine must not depend on the front ends."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("textual", "questionary")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_wizard_sources_never_import_front_ends() -> None:
    offenders = []
    files = sorted((ROOT / "wizard").rglob("*.py"))
    assert files, "no engine sources found"
    for path in files:
        bad = _imports(path) & set(FORBIDDEN)
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_importing_every_engine_module_loads_no_front_end() -> None:
    modules = []
    for path in sorted((ROOT / "wizard").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        if "pack" in rel.parts and "files" in rel.parts:
            continue  # product files of the fake pack, not modules
        if rel.name in {"__main__", "fakecarbon"} or rel.name.startswith("fakecarbon"):
            continue
        modules.append(".".join(rel.parts).removesuffix(".__init__"))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"front-end modules loaded by the engine: {out.stdout}"


# What the screens may use of the engine: the application layer (wizard.flow), the models
# and the question definitions. Connectors, step handlers, the runner and the executor
# are the Flow's business (docs/architecture.md).
SCREENS_FORBIDDEN = (
    "wizard.connectors",
    "wizard.steps",
    "wizard.runner",
    "wizard.executor",
    "wizard.planner",
    "wizard.plan_online",
)


def _wizard_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("wizard"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("wizard"):
            out.add(node.module)
    return out


def test_screens_reach_the_engine_only_through_the_flow() -> None:
    offenders = []
    for path in sorted((ROOT / "screens").rglob("*.py")):
        for module in sorted(_wizard_imports(path)):
            if any(module == f or module.startswith(f + ".") for f in SCREENS_FORBIDDEN):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offenders, "\n".join(offenders)
