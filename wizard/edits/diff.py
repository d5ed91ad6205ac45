"""Unified diffs of edit results, labelled ``host:path``, with secrets masked."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from wizard.edits.textops import escape_value
from wizard.edits.xmlfile import escape_attr, escape_text
from wizard.secrets import MASK, redact

if TYPE_CHECKING:
    from wizard.edits.model import EditResult


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("iso-8859-1")


def _forms(value: str) -> set[str]:
    """The ways ``value`` can be written in XML, JSON and properties files."""
    return {
        value,
        escape_text(value),
        escape_attr(value, '"'),
        escape_attr(value, "'"),
        json.dumps(value)[1:-1],
        escape_value(value),
    }


def mask(text: str, values: Iterable[str]) -> str:
    """Mask ``values`` (in every escaped form) and everything ``redact`` knows."""
    forms = {f for v in values if v for f in _forms(v) if f}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return redact(text)


def label(result: EditResult) -> str:
    return f"{result.host}:{result.path}" if result.host else result.path


def unified_diff(result: EditResult, context: int = 3) -> str:
    """The diff of one file ('' when unchanged); CRLF is not shown as a change."""
    if not result.changed:
        return ""
    before = _decode(result.before).splitlines()
    after = _decode(result.content).splitlines()
    name = label(result)
    lines = difflib.unified_diff(before, after, name, name, n=context, lineterm="")
    return mask("\n".join(lines) + "\n", result.masked_values())


def unified_diffs(results: Iterable[EditResult], context: int = 3) -> str:
    """All changed files' diffs, one after the other (per host, per file)."""
    return "".join(unified_diff(r, context) for r in results)


# a value under a name that says password/secret/pass: an element's text, an attribute,
# a properties or JSON key, the password of a URL's user info
_SECRETISH = r"[\w.:-]*(?:password|passwd|secret|pass)[\w.:-]*"
_MASKS = (
    re.compile(rf"(<(?P<t>{_SECRETISH})(?:\s[^>]*)?>)([^<]+)(</(?P=t)>)", re.I),
    re.compile(rf"(\b{_SECRETISH}\s*=\s*[\"'])([^\"']*)([\"'])", re.I),
    re.compile(rf"(^[ \t+-]*{_SECRETISH}\s*[=:]\s*)(\S.*)$", re.I | re.M),
    re.compile(rf"(\"{_SECRETISH}\"\s*:\s*\")([^\"]*)(\")", re.I),
    re.compile(r"(\w+://[^:/@\s]+:)([^@\s]+)(@)"),
)


def mask_secretish(text: str) -> str:
    """Mask every value a name calls a password or secret (for diffs of files whose
    secrets this process does not know, e.g. in a rollback), then ``redact``."""
    for rx in _MASKS:
        text = rx.sub(_masked, text)
    return redact(text)


def _masked(m: re.Match[str]) -> str:
    """The match with its value masked: group 1 leads to it, the last group (when there
    are more than two: the line pattern runs to the end) closes it."""
    last = m.re.groups
    return m.group(1) + MASK + (m.group(last) if last > 2 else "")


def text_diff(path: str, before: bytes, after: bytes, context: int = 3) -> str:
    """The diff of two versions of a file, secrets masked by name and by value."""
    lines = difflib.unified_diff(
        _decode(before).splitlines(), _decode(after).splitlines(), path, path, n=context,
        lineterm="",
    )  # fmt: skip
    return mask_secretish("\n".join(lines) + "\n") if before != after else ""
