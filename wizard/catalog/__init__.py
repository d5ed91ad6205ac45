"""The pattern catalog: deployment patterns as data (see FORMAT.md).

``load_pattern(id)`` reads ``patterns/<id>.yaml``, checks its shape, expands the macros
of ``common.yaml`` and checks that every role it names exists.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from wizard.catalog.model import Edit, Macro, MacroUse, PackDataSource, Pattern
from wizard.errors import Where, WizardError, bad_input

CATALOG_DIR = Path(__file__).resolve().parent
PATTERNS_DIR = CATALOG_DIR / "patterns"
_MAX_MACRO_DEPTH = 4


def pattern_ids() -> list[str]:
    return sorted(p.stem for p in PATTERNS_DIR.glob("*.yaml"))


# libyaml's loader when PyYAML has it: the same data, about ten times faster
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        pass  # the pure-Python loader below reports it, in its words
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise WizardError(
            f"catalog file is not valid YAML: {exc.problem}",
            Where(
                file=str(path),
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            ),
            "fix the catalog file",
        ) from exc


@lru_cache(maxsize=1)
def _common() -> dict[str, Any]:
    return _read_yaml(CATALOG_DIR / "common.yaml") or {}


@lru_cache(maxsize=1)
def stock_datasources() -> list[PackDataSource]:
    """The datasources of a stock API-M pack (common.yaml ``pack_datasources``)."""
    path = CATALOG_DIR / "common.yaml"
    try:
        return [PackDataSource.model_validate(d) for d in _common().get("pack_datasources", [])]
    except ValidationError as exc:
        raise _shape_error(path, "pack_datasources", exc) from exc


@lru_cache(maxsize=1)
def macros() -> dict[str, Macro]:
    path = CATALOG_DIR / "common.yaml"
    data = _common()
    out: dict[str, Macro] = {}
    for name, body in (data.get("macros") or {}).items():
        try:
            out[name] = Macro.model_validate(body)
        except ValidationError as exc:
            raise _shape_error(path, f"macro {name}", exc) from exc
    return out


def _shape_error(path: Path, what: str, exc: ValidationError) -> WizardError:
    lines = [f"{'.'.join(str(x) for x in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
    return WizardError(
        f"{what} is not a valid catalog entry: " + "; ".join(lines),
        Where(file=str(path)),
        "see wizard/catalog/FORMAT.md",
    )


def _and(a: str | None, b: str | None) -> str | None:
    if a and b:
        return f"({a}) and ({b})"
    return a or b


def _expand(
    entry: dict[str, Any], path: Path, index: str, depth: int = 0, inherited: dict | None = None
) -> list[Edit]:
    if "use" not in entry:
        data = dict(entry)
        part = data.pop("part", None)
        if inherited:
            own = inherited["parts"].get(part, []) if part else []
            data["rows"] = list(dict.fromkeys(inherited["rows"] + own + data.get("rows", [])))
            data["roles"] = inherited["roles"]
            data["when"] = _and(inherited["when"], data.get("when"))
            data["params"] = inherited["params"]
            data["macro"] = inherited["macro"]
        try:
            return [Edit.model_validate(data)]
        except ValidationError as exc:
            raise _shape_error(path, f"edit {index}", exc) from exc
    if depth >= _MAX_MACRO_DEPTH:
        raise bad_input(f"edit {index}: macros nest too deep", file=str(path))
    try:
        use = MacroUse.model_validate(entry)
    except ValidationError as exc:
        raise _shape_error(path, f"edit {index}", exc) from exc
    macro = macros().get(use.use)
    if macro is None:
        raise WizardError(
            f"edit {index} uses unknown macro {use.use!r}",
            Where(file=str(path)),
            f"use one of: {', '.join(sorted(macros()))}",
        )
    params = dict(inherited["params"]) if inherited else {}
    for name, default in macro.params.items():
        if name in use.with_:
            params[name] = use.with_[name]
        elif default == "required":
            raise WizardError(
                f"edit {index}: macro {use.use} needs parameter {name!r}",
                Where(file=str(path)),
                f"add it under with: (parameters: {', '.join(macro.params)})",
            )
        else:
            params[name] = default
    unknown = set(use.with_) - set(macro.params)
    if unknown:
        raise WizardError(
            f"edit {index}: macro {use.use} has no parameter {', '.join(sorted(unknown))}",
            Where(file=str(path)),
            f"its parameters are: {', '.join(macro.params)}",
        )
    inh = {
        "rows": list(dict.fromkeys((inherited["rows"] if inherited else []) + use.rows)),
        "roles": inherited["roles"] if inherited else use.roles,
        "when": _and(inherited["when"] if inherited else None, use.when),
        "params": params,
        "macro": use.use,
        "parts": {**(inherited["parts"] if inherited else {}), **use.parts},
    }
    known_parts = {str(e.get("part")) for e in macro.edits if e.get("part")}
    if set(use.parts) - known_parts:
        raise WizardError(
            f"edit {index}: macro {use.use} has no part "
            f"{', '.join(sorted(set(use.parts) - known_parts))}",
            Where(file=str(path)),
            f"its parts are: {', '.join(sorted(known_parts)) or '(none)'}",
        )
    out: list[Edit] = []
    for i, sub in enumerate(macro.edits):
        out.extend(_expand(sub, path, f"{index}/{use.use}[{i}]", depth + 1, inh))
    return out


def _check_roles(pattern: Pattern, path: Path) -> None:
    node_roles = set(pattern.node_roles)
    problems: list[str] = []

    def check(where: str, roles: list[str], allow_all: bool = True) -> None:
        for r in roles:
            if r == "all" and allow_all:
                continue
            if r not in node_roles:
                problems.append(f"{where} names unknown role {r!r}")

    for i, e in enumerate(pattern.edits):
        check(f"edit {i} ({e.file})", e.roles)
    for key, db in pattern.databases.items():
        check(f"database {key}", db.roles, allow_all=True)
    for group_name in ("preflight", "driver"):
        group = getattr(pattern, group_name)
        if group is not None:
            check(group_name, group.roles)
    for t in pattern.trust:
        check("trust", t.roles)
    for s in pattern.symlinks:
        check("symlink", s.roles)
    if pattern.sync:
        check("sync", [pattern.sync.source, *pattern.sync.workers], allow_all=False)
    for g in pattern.start:
        check("start group", g.roles, allow_all=False)
    if pattern.loadbalancer:
        if not pattern.lb_role:
            problems.append("loadbalancer given but no role has kind: lb")
        for u in pattern.loadbalancer.upstreams:
            check(f"upstream {u.name}", [s.role for s in u.servers], allow_all=False)
    if sum(1 for r in pattern.roles.values() if r.kind == "lb") > 1:
        problems.append("more than one role has kind: lb")
    cert_ids = {c.id for c in pattern.certificates}
    for t in pattern.trust:
        if t.cert not in cert_ids:
            problems.append(f"trust names unknown certificate {t.cert!r}")
    if problems:
        raise WizardError(
            "; ".join(problems), Where(file=str(path)), "see wizard/catalog/FORMAT.md"
        )


def load_pattern_file(path: Path) -> Pattern:
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise bad_input("a pattern file must be a mapping", file=str(path))
    raw_edits = data.pop("edits", None) or []
    try:
        pattern = Pattern.model_validate(data)
    except ValidationError as exc:
        raise _shape_error(path, f"pattern {data.get('id', path.stem)}", exc) from exc
    if pattern.id != path.stem:
        raise bad_input(f"pattern id {pattern.id!r} differs from its file name", file=str(path))
    edits: list[Edit] = []
    for i, entry in enumerate(raw_edits):
        if not isinstance(entry, dict):
            raise bad_input(f"edit {i} is not a mapping", file=str(path))
        edits.extend(_expand(entry, path, str(i)))
    pattern.edits = edits
    _check_roles(pattern, path)
    return pattern


@lru_cache(maxsize=32)
def load_pattern(pattern_id: str) -> Pattern:
    known = pattern_ids()
    if pattern_id not in known:
        raise WizardError(
            f"unknown pattern {pattern_id!r}",
            Where(field="pattern"),
            f"use one of: {', '.join(known)}",
        )
    return load_pattern_file(PATTERNS_DIR / f"{pattern_id}.yaml")


def all_patterns() -> list[Pattern]:
    return [load_pattern(p) for p in pattern_ids()]
