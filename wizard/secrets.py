"""Secrets: references in answers, values resolved late, one redaction point.

An answers file never holds a password. It holds a *reference*:

- ``env:NAME``   the value of environment variable NAME,
- ``file:PATH``  the contents of PATH (trailing newline stripped),
- ``prompt``     asked at run time (by the front end, through a callback).

Resolved values are wrapped in :class:`Secret`, whose ``str``/``repr`` are masked.
Every text that leaves the engine (logs, journal, diffs, screens) passes
through :func:`redact`, which replaces every secret value resolved so far.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

from wizard.errors import bad_input

MASK = "********"
REF_SYNTAX = "env:NAME, file:/path/to/file or prompt"
_REF_RE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+|prompt)$")

_known: set[str] = set()
_lock = threading.Lock()


class Secret:
    """A resolved secret value. ``str()`` and ``repr()`` never show it."""

    __slots__ = ("_value", "ref")

    def __init__(self, value: str, ref: str = "") -> None:
        self._value = value
        self.ref = ref
        register(value)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({self.ref or MASK})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def register(value: str) -> None:
    """Remember a value so that :func:`redact` masks it everywhere."""
    if value and len(value) >= 3:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """The one redaction point: mask every known secret value in ``text``."""
    with _lock:
        values = sorted(_known, key=len, reverse=True)
    for v in values:
        if v in text:
            text = text.replace(v, MASK)
    return text


def is_reference(value: str) -> bool:
    return bool(_REF_RE.match(value))


def check_reference(value: object, field: str) -> str:
    """Validate that ``value`` is a secret reference, never a literal secret."""
    if not isinstance(value, str) or not is_reference(value):
        raise bad_input(
            "a literal secret is not allowed in an answers file",
            fix=f"give a reference instead: {REF_SYNTAX} (e.g. env:DB_ADMIN_PASSWORD)",
            field=field,
        )
    return value


Prompter = Callable[[str, str], str]


def resolve(ref: str, field: str, prompter: Prompter | None = None) -> Secret:
    """Turn a reference into a :class:`Secret`, with a clear error when it can't be."""
    if ref.startswith("env:"):
        name = ref[4:]
        value = os.environ.get(name)
        if value is None:
            raise bad_input(
                f"environment variable {name} is not set",
                fix=f"export {name}=... before running, or change the reference",
                field=field,
            )
        return Secret(value, ref)
    if ref.startswith("file:"):
        path = Path(ref[5:]).expanduser()
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise bad_input(
                f"cannot read secret file {path}: {exc.strerror}",
                fix="create the file (mode 0600) or change the reference",
                field=field,
            ) from exc
        return Secret(value, ref)
    if ref == "prompt":
        if prompter is None:
            raise bad_input(
                "this secret is to be asked at run time, but there is no terminal to ask on",
                fix="use env:NAME or file:PATH for headless runs",
                field=field,
            )
        return Secret(prompter(field, f"Password for {field}"), ref)
    raise bad_input(f"not a secret reference: {MASK}", fix=f"use {REF_SYNTAX}", field=field)
