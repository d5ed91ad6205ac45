"""Render catalog values: Jinja2 strings, ``$for`` lists, ``when`` expressions."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jinja2

from wizard.catalog import lookup
from wizard.errors import Where, WizardError
from wizard.templating import expr_env, render_value

_FOR_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+in\s+(.+)$", re.S)


@lru_cache(maxsize=2048)
def _expression(source: str) -> Any:
    return expr_env().compile_expression(source, undefined_to_none=False)


def _fail(where: str, source: str, exc: Exception) -> WizardError:
    msg = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
    return WizardError(
        f"catalog expression {source!r} failed: {msg}",
        Where(file=where),
        "fix the catalog entry (see wizard/catalog/FORMAT.md) or the answer it uses",
    )


def evaluate(source: str, ctx: dict[str, Any], where: str) -> Any:
    """Evaluate a Jinja2 expression (no braces) to a native value."""
    found = lookup.value(source, ctx)
    if found is not lookup.MISS:
        return found
    try:
        return _expression(source)(**ctx)
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError, KeyError) as exc:
        raise _fail(where, source, exc) from exc


def when(source: str | None, ctx: dict[str, Any], where: str) -> bool:
    if source is None:
        return True
    return bool(evaluate(source, ctx, where))


def text(source: str, ctx: dict[str, Any], where: str) -> str:
    if "{{" in source:
        found = lookup.text(source, ctx)
        if found is not lookup.MISS:
            return str(found)
    try:
        return render_value(source, ctx, where=where)
    except WizardError as exc:
        exc.where = Where(file=where)
        raise
    except (jinja2.TemplateError, TypeError, ValueError) as exc:
        raise _fail(where, source, exc) from exc


def render(value: Any, ctx: dict[str, Any], where: str) -> Any:
    """Render every string inside ``value``; expand ``$for`` mappings into lists."""
    if isinstance(value, str):
        return text(value, ctx, where)
    if isinstance(value, dict):
        if "$for" in value:
            return _expand_for(value, ctx, where)
        out: dict[str, Any] = {}
        for k, v in value.items():
            r = render(v, ctx, where)
            out[str(k)] = r
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for v in value:
            if isinstance(v, dict) and "$for" in v:
                items.extend(_expand_for(v, ctx, where))
            else:
                items.append(render(v, ctx, where))
        return items
    return value


def _expand_for(spec: dict[str, Any], ctx: dict[str, Any], where: str) -> list[Any]:
    m = _FOR_RE.match(str(spec["$for"]))
    if not m:
        raise WizardError(
            f"bad $for {spec['$for']!r}",
            Where(file=where),
            "write $for: 'name in expression'",
        )
    var, expr = m.group(1), m.group(2)
    seq = evaluate(expr, ctx, where)
    if seq is None:
        return []
    item = spec["$item"] if "$item" in spec else {k: v for k, v in spec.items() if k != "$for"}
    out: list[Any] = []
    for x in seq:
        inner = dict(ctx)
        inner[var] = x
        out.append(render(item, inner, where))
    return out
