"""XPath with the namespace map, and errors that say what is there instead."""

from __future__ import annotations

import re

from lxml import etree

from wizard.edits.model import NSMAP
from wizard.edits.xmlfile import XmlDoc
from wizard.errors import Where, WizardError

_REVERSE = {uri: prefix for prefix, uri in NSMAP.items()}
_STEP_NAME = re.compile(r"^/*(?:([\w.-]+):)?([\w.-]+)")


def pretty(node: etree._Element) -> str:
    """An element's name as the catalog would write it (``c:Offset``)."""
    q = etree.QName(node)
    if q.namespace is None:
        return q.localname
    prefix = _REVERSE.get(q.namespace)
    return f"{prefix}:{q.localname}" if prefix else f"{{{q.namespace}}}{q.localname}"


def evaluate(doc: XmlDoc, xpath: str, context: etree._Element | None = None) -> list[object]:
    node = doc.root if context is None else context
    try:
        if context is None and xpath.startswith("/"):
            result = doc.root.getroottree().xpath(xpath, namespaces=NSMAP)
        else:
            result = node.xpath(xpath, namespaces=NSMAP)
    except etree.XPathError as exc:
        raise WizardError(
            f"invalid XPath {xpath!r}: {exc}",
            Where(doc.host, doc.path, field="locator"),
            "fix the locator in the catalog; prefixes: " + ", ".join(NSMAP),
        ) from exc
    if not isinstance(result, list):
        return [result]
    return result


def elements(
    doc: XmlDoc, xpath: str, context: etree._Element | None = None
) -> list[etree._Element]:
    found = evaluate(doc, xpath, context)
    bad = [r for r in found if not (isinstance(r, etree._Element) and isinstance(r.tag, str))]
    if bad:
        raise WizardError(
            f"locator {xpath!r} selects {type(bad[0]).__name__} values, not elements",
            Where(doc.host, doc.path, field="locator"),
            "point the locator at an element (use op attr with attr=... for attributes)",
        )
    return found


def one(
    doc: XmlDoc, xpath: str, context: etree._Element | None = None, role: str = "locator"
) -> etree._Element:
    """The single element ``xpath`` selects, or a WizardError explaining what is there."""
    found = elements(doc, xpath, context)
    if len(found) == 1:
        return found[0]
    if not found:
        raise not_found(doc, xpath, context, role)
    lines = ", ".join(str(doc.line_of(doc.span(e).start)) for e in found[:8])
    raise WizardError(
        f"{role} {xpath!r} matches {len(found)} elements (lines {lines}); exactly one is needed",
        Where(doc.host, doc.path, doc.line_of(doc.span(found[0]).start)),
        "make the locator specific, e.g. select by its parent or by [@name='...']",
    )


def _prefixes(xpath: str) -> list[str]:
    """Leading parts of a path: '/a/b[c='/']/d' -> ['/a', "/a/b[c='/']"]."""
    out: list[str] = []
    depth = 0
    quote = ""
    for i, ch in enumerate(xpath):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "/" and depth == 0 and i > 0 and xpath[i - 1] != "/":
            out.append(xpath[:i])
    return out


def not_found(
    doc: XmlDoc, xpath: str, context: etree._Element | None, role: str = "locator"
) -> WizardError:
    where = Where(doc.host, doc.path)
    deepest: list[etree._Element] = [context] if context is not None else []
    rest = xpath
    for prefix in _prefixes(xpath):
        try:
            found = [e for e in evaluate(doc, prefix, context) if isinstance(e, etree._Element)]
        except WizardError:
            break
        if not found:
            break
        deepest, rest = found, xpath[len(prefix) :]
    notes: list[str] = []
    step = _STEP_NAME.match(rest)
    local = step.group(2) if step else ""
    if deepest:
        at = deepest[0]
        where.line = doc.line_of(doc.span(at).start)
        names: list[str] = []
        for child in at:
            if isinstance(child.tag, str) and pretty(child) not in names:
                names.append(pretty(child))
        shown = ", ".join(names[:25]) + (" ..." if len(names) > 25 else "")
        notes.append(
            f"the deepest part that matches is <{pretty(at)}> at line {where.line}; "
            f"its children are: {shown or '(none)'}"
        )
        same = [c for c in at if isinstance(c.tag, str) and etree.QName(c).localname == local]
        if same and step and rest[step.end() :].startswith("["):
            notes.append(f"{len(same)} <{pretty(same[0])}> there, none matching: " + _ids(same))
    elif context is None:
        notes.append(f"the root element is <{pretty(doc.root)}>")
    if local:
        notes.extend(_in_comments(doc, local))
    default_ns = doc.root.nsmap.get(None)
    if default_ns and step and step.group(1) is None:
        prefix = _REVERSE.get(default_ns, "?")
        notes.append(f"this file's elements are in namespace {default_ns}: write {prefix}:{local}")
    return WizardError(
        f"{role} {xpath!r} finds nothing; " + "; ".join(notes),
        where,
        "fix the locator in the catalog, or use op ins/add when the element must be created",
    )


def _ids(nodes: list[etree._Element]) -> str:
    out = []
    for n in nodes[:6]:
        attrs = " ".join(f"@{k}={v!r}" for k, v in n.attrib.items())
        name = next(
            (c.text for c in n if isinstance(c.tag, str) and etree.QName(c).localname == "name"),
            None,
        )
        label = attrs or (f"name={name!r}" if name else (n.text or "").strip()[:40])
        out.append(f"line {n.sourceline} {label}".strip())
    return "; ".join(out)


def _in_comments(doc: XmlDoc, local: str) -> list[str]:
    pattern = re.compile(rf"(?:^\s*|<)(?:[\w.-]+:)?{re.escape(local)}[\s/>]")
    lines = [
        doc.line_of(doc.span(c).start)
        for c in doc.root.getroottree().iter(etree.Comment)
        if pattern.search(c.text or "")
    ]
    if not lines:
        return []
    at = ", ".join(str(n) for n in lines[:5])
    live = any(
        isinstance(e.tag, str) and etree.QName(e).localname == local for e in doc.root.iter()
    )
    where = "also inside" if live else "only inside"
    return [f"<{local}> exists {where} a comment at line {at}"]
