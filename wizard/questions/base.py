"""The building blocks of the wizard's questions (see :mod:`wizard.questions.draft`): a
question, a page, and the dotted answer paths they edit. No UI imports here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wizard.secrets import is_reference


@dataclass(frozen=True)
class Question:
    key: str  # dotted answer path: "db.host", "nodes.0.ssh.user"
    label: str
    kind: str = "text"  # text | int | secret | bool | choice | list (space-separated)
    help: str = ""
    choices: tuple[str, ...] = ()
    optional: bool = False  # a blank answer removes the key (the model's default applies)
    default: str = ""  # shown while the answer is absent: what the model then uses


@dataclass(frozen=True)
class Page:
    id: str
    title: str
    intro: str
    questions: tuple[Question, ...]
    action: str | None = None  # "test_db" | "test_ssh": the page's check button

    def keys(self) -> list[str]:
        return [q.key for q in self.questions]


# -- answer paths --------------------------------------------------------------------


def _parts(key: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in key.split(".")]


def get_path(data: Any, key: str) -> Any:
    cur = data
    for p in _parts(key):
        if isinstance(p, int) and isinstance(cur, list) and p < len(cur):
            cur = cur[p]
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            return None
    return cur


def set_path(data: dict[str, Any], key: str, value: Any) -> None:
    """Set (or, with ``value`` None, remove) the answer at ``key``, making mappings on the way."""
    parts = _parts(key)
    cur: Any = data
    for p, nxt in zip(parts, parts[1:], strict=False):
        if isinstance(p, int):
            cur = cur[p]
            continue
        if not isinstance(cur.get(p), dict | list):
            if value is None:
                return
            cur[p] = [] if isinstance(nxt, int) else {}
        cur = cur[p]
    last = parts[-1]
    if value is None:
        if isinstance(cur, dict):
            cur.pop(last, None)
    else:
        cur[last] = value


def coerce(q: Question, text: str) -> Any:
    """The typed answer for ``text``; text that does not parse is kept for the model to refuse."""
    t = text.strip()
    if not t and q.optional:
        return None
    if q.kind == "int" and t.lstrip("-").isdigit():
        return int(t)
    if q.kind == "list":
        return t.split()
    if q.kind == "bool":
        low = t.lower()
        if low in ("y", "yes", "true", "on", "1"):
            return True
        if low in ("n", "no", "false", "off", "0"):
            return False
    return t


def looks_like_reference(text: str) -> bool:
    """True for a secret reference or the start of one (shown in clear while typing)."""
    t = text.strip()
    return not t or is_reference(t) or any(r.startswith(t) for r in ("env:", "file:", "prompt"))


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)
