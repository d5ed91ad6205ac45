"""A shortcut for the commonest catalog values: text such as ``{{ db.host }}:{{ db.port }}``
and expressions such as ``dbs[p.key].jndi``, over the plain dicts of the context.

A plan renders thousands of values, and Jinja2 builds a context for each. Here a value
made only of literal text and dotted or subscripted names is looked up the way Jinja2's
sandbox looks it up on dicts (``a.b``: the key ``b`` when ``b`` is no dict attribute;
``a[k]``: the key ``k``), with no context. Anything else, or a lookup Jinja2 could
resolve in another way (a missing key, a dict method's name, an object that is not a
dict, a value that is not a plain scalar), gives :data:`MISS`, and Jinja2 does it as
ever, with its errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

MISS: Any = object()  # "not here: ask Jinja2"

_TOKENS = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\.)|(\[)|(\]))")
_OUTPUT = re.compile(r"\{\{(.*?)\}\}", re.S)
_SCALARS = (str, int, float, bool, type(None))
_CONSTANTS = {"true", "false", "none", "True", "False", "None"}  # Jinja2 literals, no names

# a path: (first name, ((True, attribute name) | (False, path of the key), ...))
Path = tuple[str, tuple[tuple[bool, Any], ...]]


def _parse(source: str) -> Path | None:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(source):
        m = _TOKENS.match(source, pos)
        if m is None or m.end() == pos:
            if source[pos:].strip():
                return None
            break
        pos = m.end()
        name, dot, opening, closing = m.groups()
        tokens.append(("name", name) if name else (dot or opening or closing, ""))
    path, end = _path(tokens, 0)
    return path if path is not None and end == len(tokens) else None


def _path(tokens: list[tuple[str, str]], i: int) -> tuple[Path | None, int]:
    if i >= len(tokens) or tokens[i][0] != "name" or tokens[i][1] in _CONSTANTS:
        return None, i
    first, trailers = tokens[i][1], list[tuple[bool, Any]]()
    i += 1
    while i < len(tokens):
        kind = tokens[i][0]
        if kind == "." and i + 1 < len(tokens) and tokens[i + 1][0] == "name":
            trailers.append((True, tokens[i + 1][1]))
            i += 2
        elif kind == "[":
            key, i = _path(tokens, i + 1)
            if key is None or i >= len(tokens) or tokens[i][0] != "]":
                return None, i
            trailers.append((False, key))
            i += 1
        else:
            break
    return (first, tuple(trailers)), i


def _lookup(path: Path, ctx: Mapping[str, Any]) -> Any:
    first, trailers = path
    if first not in ctx:
        return MISS
    obj = ctx[first]
    for is_attr, arg in trailers:
        if type(obj) is not dict:
            return MISS
        if is_attr:
            if hasattr(dict, arg) or arg not in obj:
                return MISS
            obj = obj[arg]
        else:
            key = _lookup(arg, ctx)
            if key is MISS or not isinstance(key, str | int) or key not in obj:
                return MISS
            obj = obj[key]
    return obj


@lru_cache(maxsize=4096)
def _expression(source: str) -> Path | None:
    return _parse(source)


@lru_cache(maxsize=4096)
def _template(source: str) -> tuple[tuple[str, Path | None], ...] | None:
    """(literal text before, path) pairs, the last with path None; None: not simple."""
    parts: list[tuple[str, Path | None]] = []
    last = 0
    for m in _OUTPUT.finditer(source):
        path = _parse(m.group(1))
        literal = source[last : m.start()]
        if path is None or not _plain(literal):
            return None
        parts.append((literal, path))
        last = m.end()
    tail = source[last:]
    if not parts or not _plain(tail):
        return None
    parts.append((tail, None))
    return tuple(parts)


def _plain(literal: str) -> bool:
    """Text Jinja2 outputs as it is (no markup, no carriage return to normalise)."""
    return not any(c in literal for c in "{}\r")


def value(source: str, ctx: Mapping[str, Any]) -> Any:
    """The value of expression ``source``, or MISS."""
    path = _expression(source)
    return MISS if path is None else _lookup(path, ctx)


def text(source: str, ctx: Mapping[str, Any]) -> Any:
    """Template ``source`` rendered, or MISS."""
    parts = _template(source)
    if parts is None:
        return MISS
    out: list[str] = []
    for literal, path in parts:
        out.append(literal)
        if path is not None:
            found = _lookup(path, ctx)
            if found is MISS or not isinstance(found, _SCALARS):
                return MISS
            out.append(str(found))
    return "".join(out)
