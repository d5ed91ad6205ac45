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
    "wizard.planning.build",
    "wizard.planning.online",
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


def _modules() -> dict[str, Path]:
    out = {}
    for root in ("wizard", "screens"):
        for path in (ROOT / root).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            if "pack" in rel.parts and "files" in rel.parts:
                continue
            out[".".join(rel.parts).removesuffix(".__init__")] = path
    return out


def _edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Every import of one of our modules by another, inside functions too (an import
    moved into a function to dodge a cycle is still one), but not under TYPE_CHECKING."""

    def ours(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(n)
            for top in tree.body
            if isinstance(top, ast.If) and "TYPE_CHECKING" in ast.unparse(top.test)
            for n in ast.walk(top)
        }
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                names = [f"{base}.{a.name}" for a in node.names]
            for name in names:
                target = ours(name)
                if target and target != mod and not mod.startswith(target + "."):
                    edges[mod].add(target)
    return edges


def test_no_import_cycles() -> None:
    modules = _modules()
    edges = _edges(modules)
    cycles = []
    for start in sorted(modules):
        for first in sorted(edges[start]):
            seen, stack = set(), [(first, [start, first])]
            while stack:
                node, path = stack.pop()
                if node == start:
                    cycles.append(" -> ".join(path))
                    break
                if node in seen:
                    continue
                seen.add(node)
                stack.extend((n, [*path, n]) for n in edges[node])
    assert not cycles, "\n".join(cycles[:10])


def test_no_optional_imports_of_our_own_modules() -> None:
    """``try: import ... except ModuleNotFoundError`` could silently drop a command. (The
    fake Carbon's files also run as the fake pack's bin/ scripts, next to each other.)"""
    offenders = [
        str(p.relative_to(ROOT))
        for p in _modules().values()
        if not p.name.startswith("fakecarbon")
        and any(
            e in p.read_text(encoding="utf-8")
            for e in ("except ModuleNotFoundError", "except ImportError")
        )
    ]
    assert not offenders, offenders
