"""Unified diffs of edit results, labelled ``host:path``, with secrets masked."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable

from wizard.edits.model import EditResult
from wizard.edits.textops import escape_value
from wizard.edits.xmlfile import escape_attr, escape_text
from wizard.secrets import MASK, redact


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
