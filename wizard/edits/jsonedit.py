"""Edit a non-strict JSON text (``//`` and ``/* */`` comments, trailing commas) in place.

Only the values of the keys being set change; comments, spacing and key order stay
byte-for-byte. A key is looked up inside the object named by a dotted path
(``reverseProxy``), never at another level (site.json has a top-level ``context`` too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wizard.errors import Where, WizardError

_TOKEN = re.compile(
    r"""\s+|//[^\n]*|/\*.*?\*/|"(?:[^"\\\n]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"/]+""",
    re.S,
)


@dataclass
class Member:
    key: str
    key_start: int
    key_end: int
    value: Any  # JObj, JArr or Scalar
    comma_end: int | None = None


@dataclass
class Scalar:
    start: int
    end: int
    text: str

    def decode(self) -> Any:
        return json.loads(self.text)


@dataclass
class JArr:
    start: int
    end: int
    items: list[Any] = field(default_factory=list)


@dataclass
class JObj:
    start: int
    end: int
    members: list[Member] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str, where: Where) -> None:
        self.text = text
        self.where = where
        self.toks: list[tuple[str, int, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise self.error(pos, "unexpected character")
            tok = m.group(0)
            if not (tok[0].isspace() or tok.startswith("//") or tok.startswith("/*")):
                self.toks.append((tok, m.start(), m.end()))
            pos = m.end()
        self.i = 0

    def error(self, pos: int, what: str) -> WizardError:
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        w = Where(self.where.host, self.where.file, line, col)
        return WizardError(f"cannot read the JSON file: {what}", w, "repair the file", 1)

    def peek(self) -> tuple[str, int, int]:
        if self.i >= len(self.toks):
            raise self.error(len(self.text), "unexpected end of file")
        return self.toks[self.i]

    def take(self, want: str | None = None) -> tuple[str, int, int]:
        tok = self.peek()
        if want is not None and tok[0] != want:
            raise self.error(tok[1], f"expected {want!r}, found {tok[0][:20]!r}")
        self.i += 1
        return tok

    def value(self) -> Any:
        tok, start, end = self.peek()
        if tok == "{":
            return self.obj()
        if tok == "[":
            return self.arr()
        if tok in "}]:,":
            raise self.error(start, f"unexpected {tok!r}")
        self.i += 1
        scalar = Scalar(start, end, tok)
        try:
            scalar.decode()
        except ValueError as exc:
            raise self.error(start, f"not a JSON value: {tok[:20]!r}") from exc
        return scalar

    def obj(self) -> JObj:
        _, start, _ = self.take("{")
        out = JObj(start, 0)
        while self.peek()[0] != "}":
            key, ks, ke = self.take()
            if not key.startswith('"'):
                raise self.error(ks, f"expected a quoted key, found {key[:20]!r}")
            self.take(":")
            member = Member(json.loads(key), ks, ke, self.value())
            out.members.append(member)
            if self.peek()[0] == ",":
                member.comma_end = self.take()[2]
            elif self.peek()[0] != "}":
                raise self.error(self.peek()[1], "expected ',' or '}'")
        out.end = self.take("}")[2]
        return out

    def arr(self) -> JArr:
        _, start, _ = self.take("[")
        out = JArr(start, 0)
        while self.peek()[0] != "]":
            out.items.append(self.value())
            if self.peek()[0] == ",":
                self.take()
            elif self.peek()[0] != "]":
                raise self.error(self.peek()[1], "expected ',' or ']'")
        out.end = self.take("]")[2]
        return out


def parse(text: str, where: Where) -> JObj:
    p = _Parser(text, where)
    top = p.value()
    if not isinstance(top, JObj) or p.i != len(p.toks):
        raise p.error(len(text), "the file is not one JSON object")
    return top


def decode(node: Any) -> Any:
    if isinstance(node, Scalar):
        return node.decode()
    if isinstance(node, JArr):
        return [decode(i) for i in node.items]
    return {m.key: decode(m.value) for m in node.members}


def find_object(top: JObj, path: str, where: Where) -> JObj:
    node = top
    for part in [p for p in path.split(".") if p]:
        hits = [m for m in node.members if m.key == part]
        if len(hits) != 1 or not isinstance(hits[0].value, JObj):
            keys = ", ".join(m.key for m in node.members)
            found = "several" if len(hits) > 1 else ("not an object" if hits else "absent")
            raise WizardError(
                f"JSON object {path!r}: key {part!r} is {found}; keys there: {keys}",
                Where(where.host, where.file, field="locator"),
                "fix the dotted path in the catalog",
            )
        node = hits[0].value
    return node


def same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _line_end(text: str, pos: int) -> int:
    nl = text.find("\n", pos)
    if nl < 0:
        return len(text)
    return nl - 1 if nl > 0 and text[nl - 1] == "\r" else nl


def _indent(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    lead = text[start:pos]
    return lead if not lead.strip() else ""


def _newline(text: str, pos: int) -> str:
    nl = text.find("\n", pos)
    return "\r\n" if nl > 0 and text[nl - 1] == "\r" else "\n"


def set_key(text: str, obj: JObj, key: str, value: Any) -> str:
    """Return ``text`` with ``obj[key] = value`` (inserted at the end when absent)."""
    encoded = json.dumps(value, ensure_ascii=True)
    hits = [m for m in obj.members if m.key == key]
    if hits:
        node = hits[-1].value
        if isinstance(node, (JObj, JArr)) or not same(node.decode(), value):
            return text[: node.start] + encoded + text[node.end :]
        return text
    nl = _newline(text, obj.start)
    if not obj.members:
        if "\n" not in text[obj.start : obj.end]:
            return f"{text[: obj.start + 1]}{json.dumps(key)}: {encoded}{text[obj.end - 1 :]}"
        indent = _indent(text, obj.start) + "  "
        at = obj.start + 1
        return f"{text[:at]}{nl}{indent}{json.dumps(key)}: {encoded}{text[at:]}"
    last = obj.members[-1]
    sep = text[last.key_end : last.value.start]
    entry = f"{json.dumps(key)}{sep}{encoded}"
    if last.comma_end is None:
        text = text[: last.value.end] + "," + text[last.value.end :]
        after = last.value.end + 1
    else:
        after = last.comma_end
    eol = _line_end(text, after)
    rest = text[after:eol].strip()
    if rest == "" or rest.startswith("//"):
        indent = _indent(text, last.key_start)
        return f"{text[:eol]}{nl}{indent}{entry}{text[eol:]}"
    return f"{text[:after]} {entry}{text[after:]}"


def apply_json(text: str, path: str, values: Mapping[str, Any], where: Where) -> str:
    """Set every key of ``values`` inside the object at ``path`` (nested mappings recurse)."""
    if not isinstance(values, Mapping) or not values:
        raise WizardError(
            "a json edit's value is a mapping of keys to set",
            Where(where.host, where.file, field="value"),
        )
    for key, value in values.items():
        obj = find_object(parse(text, where), path, where)
        current = [m for m in obj.members if m.key == key]
        if isinstance(value, Mapping) and current and isinstance(current[-1].value, JObj):
            text = apply_json(text, f"{path}.{key}" if path else key, value, where)
        else:
            text = set_key(text, obj, str(key), value)
    return text


def holds(text: str, path: str, values: Mapping[str, Any], where: Where) -> bool:
    """Read-back: does the object at ``path`` hold every key of ``values``?"""
    obj = decode(find_object(parse(text, where), path, where))
    return all(k in obj and _holds(obj[k], v) for k, v in values.items())


def _holds(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, Mapping):
        return isinstance(actual, dict) and all(
            k in actual and _holds(actual[k], v) for k, v in wanted.items()
        )
    return same(actual, wanted)
