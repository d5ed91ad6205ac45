"""The element spec mini-language: parse catalog data, render it as indented XML.

``{"dbConfig": {"@name": "govregistry", "dataSource": "jdbc/WSO2REG_DB"}}``: one key is the
tag (optionally ``prefix:tag``), its value is the text or a mapping of ``@attr`` keys,
``#text`` and child elements (a list value repeats the child). Order is kept. A child key
written ``?tag`` is written only when its parent is created (``add``): an existing
element's child of that tag is never updated (an admin's own description stays).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wizard.edits.model import NSMAP, plain
from wizard.edits.xmlfile import check_chars, escape_attr, escape_text
from wizard.errors import bad_input


@dataclass
class SpecEl:
    tag: str  # as written in the catalog: "name" or "prefix:name"
    attrs: list[tuple[str, str]] = field(default_factory=list)
    text: str | None = None
    children: list[SpecEl] = field(default_factory=list)
    create_only: bool = False  # ``?tag``: written with a new parent, never updated

    @property
    def updates(self) -> list[SpecEl]:
        """The children an update of an existing element sets (not the create-only)."""
        return [c for c in self.children if not c.create_only]

    @property
    def prefix(self) -> str | None:
        return self.tag.split(":", 1)[0] if ":" in self.tag else None

    @property
    def local(self) -> str:
        return self.tag.rpartition(":")[2]

    def ns(self, inherited: str | None) -> str | None:
        """The namespace URI: the prefix's, or the parent's for an un-prefixed tag."""
        if self.prefix is None:
            return inherited
        if self.prefix not in NSMAP:
            raise bad_input(
                f"unknown namespace prefix {self.prefix!r} in element spec <{self.tag}>",
                fix=f"use one of the namespace map prefixes: {', '.join(NSMAP)}",
                field="value",
            )
        return NSMAP[self.prefix]

    def secret_texts(self) -> list[str]:
        """Texts and attribute values under a name that says password/secret."""
        out = [v for k, v in self.attrs if secretish(k)]
        if self.text and secretish(self.local):
            out.append(self.text)
        for c in self.children:
            out.extend(c.secret_texts())
        return out


def secretish(name: str) -> bool:
    low = name.lower()
    return "password" in low or "secret" in low or low.endswith("pass")


def parse_spec(value: object) -> SpecEl:
    """Turn catalog data into a :class:`SpecEl`, with a clear error for a wrong shape."""
    if not isinstance(value, Mapping) or len(value) != 1:
        raise bad_input(
            "an element spec is a mapping with exactly one key, the element's tag",
            fix='e.g. {"dbConfig": {"@name": "govregistry", "dataSource": "jdbc/WSO2REG_DB"}}',
            field="value",
        )
    ((tag, body),) = value.items()
    items = _build(str(tag), body)
    if len(items) != 1:
        raise bad_input(f"element spec <{tag}> must be one element, not a list", field="value")
    return items[0]


def _build(tag: str, body: object) -> list[SpecEl]:
    if not tag or any(ch in tag for ch in " <>&'\"=/"):
        raise bad_input(f"not an element name: {tag!r}", field="value")
    if isinstance(body, list):
        return [el for item in body for el in _build(tag, item)]
    el = SpecEl(tag)
    if isinstance(body, Mapping):
        for key, sub in body.items():
            key = str(key)
            if key.startswith("@"):
                name = key[1:]
                if not name or ":" in name:
                    raise bad_input(f"unsupported attribute name {key!r} in <{tag}>", field="value")
                el.attrs.append((name, check_chars(plain(sub), f"attribute {key}")))
            elif key == "#text":
                el.text = check_chars(plain(sub), f"text of <{tag}>")
            elif key.startswith("?"):
                kids = _build(key[1:], sub)
                for kid in kids:
                    kid.create_only = True
                el.children.extend(kids)
            else:
                el.children.extend(_build(key, sub))
    else:
        el.text = check_chars(plain(body), f"text of <{tag}>")
    return [el]


def qname(local: str, ns: str | None, inscope: Mapping[str | None, str]) -> tuple[str, str]:
    """How to write an element of namespace ``ns`` here: (qualified name, xmlns declaration)."""
    if ns is None:
        if inscope.get(None):
            return local, ' xmlns=""'
        return local, ""
    if inscope.get(None) == ns:
        return local, ""
    for prefix, uri in inscope.items():
        if prefix and uri == ns:
            return f"{prefix}:{local}", ""
    prefix = next((p for p, u in NSMAP.items() if u == ns), "ns0")
    return f"{prefix}:{local}", f' xmlns:{prefix}="{escape_attr(ns)}"'


def render(
    el: SpecEl,
    *,
    parent_ns: str | None,
    inscope: Mapping[str | None, str],
    indent: str,
    unit: str,
    nl: str,
) -> str:
    """Serialize ``el`` as it will sit at ``indent`` (the first line carries no indent)."""
    ns = el.ns(parent_ns)
    name, decl = qname(el.local, ns, inscope)
    scope = dict(inscope)
    if decl.startswith(" xmlns:"):
        scope[decl[7:].split("=", 1)[0]] = ns or ""
    elif decl == ' xmlns=""':
        scope.pop(None, None)
    attrs = "".join(f' {k}="{escape_attr(v)}"' for k, v in el.attrs)
    head = f"<{name}{decl}{attrs}"
    if not el.children:
        if el.text is None:
            return head + "/>"
        return f"{head}>{escape_text(el.text)}</{name}>"
    inner = indent + unit
    parts = [f"{head}>{escape_text(el.text or '')}"]
    for child in el.children:
        body = render(child, parent_ns=ns, inscope=scope, indent=inner, unit=unit, nl=nl)
        parts.append(f"{nl}{inner}{body}")
    parts.append(f"{nl}{indent}</{name}>")
    return "".join(parts)
