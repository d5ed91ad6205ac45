"""Secret tokens in plans: ``⟦secret:<answer path>⟧``.

A plan never holds a secret value, nor its reference. Where a catalog value uses a
secret (``{{ db.password }}``), the context holds a *token* naming the answer path
(``⟦secret:db.password⟧``); the executor substitutes the resolved value at apply time
with :func:`substitute`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from wizard.errors import bad_input

_OPEN = "\u27e6"  # ⟦
_CLOSE = "\u27e7"  # ⟧
TOKEN_RE = re.compile(_OPEN + r"secret:([A-Za-z0-9_.\-]+)(\|url)?" + _CLOSE)


def token(path: str, encoding: str | None = None) -> str:
    """The placeholder for the secret at answer path ``path`` (e.g. ``db.password``).

    ``encoding="url"`` marks a value inside a URL (e.g. the AMQP URL of jndi.properties):
    :func:`substitute` percent-encodes it.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", path):
        raise ValueError(f"not an answer path: {path!r}")
    if encoding not in (None, "url"):
        raise ValueError(f"unknown token encoding {encoding!r}")
    suffix = "|url" if encoding else ""
    return f"{_OPEN}secret:{path}{suffix}{_CLOSE}"


def paths(text: str) -> list[str]:
    """The answer paths of every token in ``text``, in order, without repeats."""
    seen: list[str] = []
    for m in TOKEN_RE.finditer(text):
        if m.group(1) not in seen:
            seen.append(m.group(1))
    return seen


def paths_in(value: object) -> list[str]:
    """:func:`paths` of every string inside ``value`` (nested dicts, keys included, lists,
    tuples), in the order ``json.dumps`` would write them: no text to build."""
    seen: dict[str, None] = {}
    _collect(value, seen)
    return list(seen)


def _collect(value: object, seen: dict[str, None]) -> None:
    if isinstance(value, str):
        if _OPEN in value:
            for m in TOKEN_RE.finditer(value):
                seen.setdefault(m.group(1), None)
    elif isinstance(value, dict):
        for k, v in value.items():
            _collect(k, seen)
            _collect(v, seen)
    elif isinstance(value, list | tuple):
        for v in value:
            _collect(v, seen)


def has_token(value: object) -> bool:
    """True when ``value`` (a string, or nested lists/dicts of them) holds a token."""
    if isinstance(value, str):
        return _OPEN + "secret:" in value
    if isinstance(value, dict):
        return any(has_token(k) or has_token(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_token(v) for v in value)
    return False


def substitute(text: str, resolve: Callable[[str], str]) -> str:
    """Replace every token in ``text`` by ``resolve(path)``.

    ``resolve`` returns the plain value (e.g. ``Secret.reveal()``); an unknown path is
    the resolver's error to raise. The result holds secrets: pass it only to the
    target (file, stdin), never to a log.
    """
    cache: dict[str, str] = {}

    def _one(m: re.Match[str]) -> str:
        path = m.group(1)
        if path not in cache:
            value = resolve(path)
            if not isinstance(value, str):
                raise bad_input(f"secret {path} did not resolve to text", field=path)
            cache[path] = value
        return quote(cache[path], safe="") if m.group(2) else cache[path]

    return TOKEN_RE.sub(_one, text)
