"""Low-level text patches on an :class:`XmlDoc`: text, attributes, new elements.

Each helper returns :class:`Patch` es against the original text; new elements get the
indentation of their siblings and the file's line ending, and the parent's closing tag
keeps its place.
"""

from __future__ import annotations

from lxml import etree

from wizard.edits.spec import SpecEl, render
from wizard.edits.xmlfile import Patch, XmlDoc, check_chars, escape_attr, escape_text
from wizard.errors import WizardError


def element_children(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def leaf_text(el: etree._Element) -> str:
    return el.text or ""


def ns_of(el: etree._Element) -> str | None:
    return etree.QName(el).namespace


def set_text(doc: XmlDoc, el: etree._Element, value: str) -> list[Patch]:
    """Patch that makes the text of the leaf ``el`` equal ``value`` (none if it already is)."""
    check_chars(value, "the value")
    if element_children(el):
        names = ", ".join(sorted({etree.QName(c).localname for c in element_children(el)}))
        raise WizardError(
            f"cannot set the text of <{etree.QName(el).localname}>: it has child elements "
            f"({names})",
            doc.where(el),
            "point the locator at a leaf element, or use op upsert/repl with an element spec",
        )
    if leaf_text(el) == value:
        return []
    span = doc.span(el)
    if span.empty:
        close_at = span.stag_end - len(span.close)
        return [Patch(close_at, span.stag_end, f">{escape_text(value)}</{span.name}>")]
    end = next((c.start for c in span.children if c.kind != "cdata"), span.etag_start)
    return [Patch(span.stag_end, end, escape_text(value))]


def set_attr(doc: XmlDoc, el: etree._Element, name: str, value: str) -> list[Patch]:
    """Patch that sets (or adds, after the last attribute) attribute ``name``."""
    check_chars(value, f"attribute {name}")
    if el.get(name) == value:
        return []
    span = doc.span(el)
    for a in span.attrs:
        if a.name == name:
            return [Patch(a.vstart, a.vend, escape_attr(value, a.quote))]
    if span.attrs:
        last = span.attrs[-1]
        sep = doc.text[last.ws_start : last.name_start]
        at = last.vend + 1
    else:
        sep = " "
        at = span.start + 1 + len(span.name)
    return [Patch(at, at, f'{sep}{name}="{escape_attr(value)}"')]


def set_ns_attr(doc: XmlDoc, el: etree._Element, name: str, ns: str, value: str) -> list[Patch]:
    """Patches that set attribute ``prefix:local`` of namespace ``ns``: written with the
    prefix the document binds to ``ns`` where ``el`` is, else with ``prefix`` declared on
    the root element, as ciphertool.sh declares ``xmlns:svns`` there."""
    check_chars(value, f"attribute {name}")
    prefix, local = name.split(":", 1)
    if el.get(f"{{{ns}}}{local}") == value:
        return []
    bound = next((p for p, uri in el.nsmap.items() if p and uri == ns), None)
    if bound is not None:
        return set_attr(doc, el, f"{bound}:{local}", value)
    if prefix in el.nsmap:
        raise WizardError(
            f"prefix {prefix} is bound to {el.nsmap[prefix]} here, not to {ns}",
            doc.where(el),
            "declare the namespace with its usual prefix on the root element",
        )
    root = el.getroottree().getroot()
    decl = set_attr(doc, root, f"xmlns:{prefix}", ns)
    attr = set_attr(doc, el, name, value)
    if root is el:  # one insertion, declaration first
        return [Patch(decl[0].start, decl[0].end, decl[0].new + attr[0].new)]
    return decl + attr


def _indent_of(doc: XmlDoc, el: etree._Element) -> str:
    return doc.indent_before(doc.span(el).start) or ""


def child_indent(doc: XmlDoc, parent: etree._Element) -> str:
    """The indentation of ``parent``'s children (existing ones, else parent + one step)."""
    for kid in element_children(parent):
        found = doc.indent_before(doc.span(kid).start)
        if found is not None:
            return found
    return _indent_of(doc, parent) + doc.indent_unit()


def _render_all(doc: XmlDoc, parent: etree._Element, specs: list[SpecEl], indent: str) -> str:
    nl = doc.newline_at(doc.span(parent).start)
    unit = doc.indent_unit()
    inscope = parent.nsmap
    return "".join(
        nl
        + indent
        + render(s, parent_ns=ns_of(parent), inscope=inscope, indent=indent, unit=unit, nl=nl)
        for s in specs
    )


def insert_after(
    doc: XmlDoc, parent: etree._Element, anchor: etree._Element, specs: list[SpecEl]
) -> Patch:
    """New elements right after ``anchor`` (a child element or comment of ``parent``)."""
    span = doc.span(anchor)
    indent = doc.indent_before(span.start)
    if indent is None:
        indent = child_indent(doc, parent)
    return Patch(span.end, span.end, _render_all(doc, parent, specs, indent))


def append_children(doc: XmlDoc, parent: etree._Element, specs: list[SpecEl]) -> Patch:
    """New elements after the last element child of ``parent`` (or into an empty one)."""
    kids = element_children(parent)
    if kids:
        return insert_after(doc, parent, kids[-1], specs)
    span = doc.span(parent)
    p_indent = _indent_of(doc, parent)
    indent = p_indent + doc.indent_unit()
    body = _render_all(doc, parent, specs, indent)
    nl = doc.newline_at(span.start)
    if span.empty:
        close_at = span.stag_end - len(span.close)
        return Patch(close_at, span.stag_end, f">{body}{nl}{p_indent}</{span.name}>")
    if (parent.text or "").strip() or any((c.tail or "").strip() for c in parent):
        raise WizardError(
            f"cannot add elements to <{etree.QName(parent).localname}>: it holds text",
            doc.where(parent),
            "point parent at the element that holds the list",
        )
    if span.children:
        last = span.children[-1]
        return Patch(last.end, last.end, body)
    return Patch(span.stag_end, span.etag_start, body + nl + p_indent)


def replace_children(doc: XmlDoc, el: etree._Element, specs: list[SpecEl]) -> list[Patch]:
    """Replace every element child of ``el`` with ``specs`` (comments stay)."""
    kids = element_children(el)
    if not kids:
        return [append_children(doc, el, specs)] if specs else []
    span = doc.span(el)
    first = doc.span(kids[0])
    indent = doc.indent_before(first.start)
    patches: list[Patch] = []
    if indent is None:
        indent = child_indent(doc, el)
    new = _render_all(doc, el, specs, indent)
    # the first child's own line start stays; the block replaces it
    new = new[len(doc.newline_at(span.start) + indent) :] if specs else ""
    prev_end = span.stag_end
    for node in span.children:
        if node is first:
            if specs:
                patches.append(Patch(first.start, first.end, new))
            else:
                patches.append(_delete(doc, prev_end, first.start, first.end))
        elif node.kind == "elem":
            patches.append(_delete(doc, prev_end, node.start, node.end))
        prev_end = node.end
    return patches


def _delete(doc: XmlDoc, prev_end: int, start: int, end: int) -> Patch:
    gap = doc.text[prev_end:start]
    return Patch(prev_end if gap.strip() == "" else start, end, "")
