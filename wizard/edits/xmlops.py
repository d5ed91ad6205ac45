"""The XML ops of the catalog: set, attr, ins, upsert, add, repl, verify, expect (and
read-back)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from wizard.edits.locate import elements, evaluate, not_found, one, pretty
from wizard.edits.model import NSMAP, Edit, plain
from wizard.edits.spec import SpecEl, parse_spec, secretish
from wizard.edits.xmlfile import Patch, XmlDoc
from wizard.edits.xmlpatch import (
    append_children,
    element_children,
    insert_after,
    leaf_text,
    ns_of,
    replace_children,
    set_attr,
    set_ns_attr,
    set_text,
)
from wizard.errors import Where, WizardError, step_failed
from wizard.secrets import MASK

_QNAME = re.compile(r"(?:([\w.-]+):)?([\w.-]+)")


@dataclass
class Change:
    patches: list[Patch] = field(default_factory=list)
    detail: str = "unchanged"
    line: int | None = None
    masked: list[str] = field(default_factory=list)
    note: str = ""


def _line(doc: XmlDoc, el: etree._Element) -> int | None:
    """The element's line for an outcome, as lxml reports it (a start tag written over
    several lines: its last line). Errors give the exact line of ``<`` (doc.where); this
    one costs no scan of the file, which a file no edit changes never needs."""
    return el.sourceline


def _show(edit: Edit, value: str) -> str:
    return MASK if edit.secret else repr(value)


def _scalar(edit: Edit) -> str:
    return plain(edit.value)


def op_set(doc: XmlDoc, edit: Edit) -> Change:
    el = one(doc, edit.locator)
    value = _scalar(edit)
    old = leaf_text(el)
    patches = set_text(doc, el, value)
    ch = Change(patches, "unchanged", _line(doc, el))
    if patches:
        ch.detail = f"text {_show(edit, old)} -> {_show(edit, value)}"
    if edit.secret or secretish(etree.QName(el).localname):
        ch.masked += [value, old]
    return ch


_ATTR_NAME = re.compile(r"(?:([\w.-]+):)?[\w.-]+")
# an attribute that names where a secret is, not the secret (Secure Vault's alias)
_NAMES_A_SECRET = frozenset({"svns:secretAlias"})


def _attr_name(name: str) -> str:
    """A plain attribute name, or ``prefix:name`` with a namespace map prefix."""
    m = _ATTR_NAME.fullmatch(name)
    if m is None or (m.group(1) is not None and m.group(1) not in NSMAP):
        raise WizardError(
            f"attribute name {name!r} is not supported (not a name, or its prefix is not "
            "in the namespace map)",
            Where(field="attr"),
            f"give a plain attribute name such as proxyPort, or prefix:name with one of "
            f"{', '.join(NSMAP)}",
        )
    return name


def attr_key(name: str) -> str:
    """The lxml key of an attribute name: ``{namespace}local`` for ``prefix:local``."""
    prefix, _, local = name.rpartition(":")
    return f"{{{NSMAP[prefix]}}}{local}" if prefix else name


def split_attr(edit: Edit) -> tuple[str, str]:
    if edit.attr:
        return edit.locator, _attr_name(edit.attr)
    head, sep, name = edit.locator.rpartition("/@")
    if not sep or not _ATTR_NAME.fullmatch(name):
        raise WizardError(
            f"attr edit of {edit.locator!r} names no attribute",
            Where(field="attr"),
            "give attr: <name>, or end the locator with /@name",
        )
    return head, _attr_name(name)


def op_attr(doc: XmlDoc, edit: Edit) -> Change:
    locator, name = split_attr(edit)
    el = one(doc, locator)
    value = _scalar(edit)
    old = el.get(attr_key(name))
    if ":" in name:
        patches = set_ns_attr(doc, el, name, NSMAP[name.split(":", 1)[0]], value)
    else:
        patches = set_attr(doc, el, name, value)
    ch = Change(patches, "unchanged", _line(doc, el))
    if patches:
        was = "absent" if old is None else _show(edit, old)
        ch.detail = f"@{name} {was} -> {_show(edit, value)}"
    if edit.secret or (secretish(name) and name not in _NAMES_A_SECRET):
        ch.masked += [value, old or ""]
    return ch


def _ins_target(doc: XmlDoc, edit: Edit) -> tuple[etree._Element, str, str | None, str]:
    """(parent element, relative locator, namespace, local name) of an ``ins`` edit."""
    if edit.parent:
        parent_xpath, step = edit.parent, edit.locator
    else:
        cut = edit.locator.rfind("/")
        parent_xpath, step = edit.locator[:cut], edit.locator[cut + 1 :]
    m = _QNAME.fullmatch(step)
    if not m or not parent_xpath:
        raise WizardError(
            f"ins needs a parent and a plain element name, got {edit.locator!r}",
            Where(doc.host, doc.path, field="locator"),
            "write e.g. locator: /c:Server/c:HostName (or parent: /c:Server, locator: c:HostName)",
        )
    prefix, local = m.group(1), m.group(2)
    if prefix is not None and prefix not in NSMAP:
        raise WizardError(f"unknown namespace prefix {prefix!r}", Where(doc.host, doc.path))
    parent = one(doc, parent_xpath, role="parent")
    ns = NSMAP[prefix] if prefix else None
    if ns != ns_of(parent) and prefix is None and ns_of(parent) is not None:
        raise not_found(doc, step, parent)
    return parent, step, ns, local


def op_ins(doc: XmlDoc, edit: Edit) -> Change:
    parent, step, ns, local = _ins_target(doc, edit)
    value = _scalar(edit)
    masked = [value] if edit.secret else []
    live = elements(doc, step, parent)
    if len(live) > 1:
        one(doc, step, parent)  # raises the "matches N elements" error
    if live:
        patches = set_text(doc, live[0], value)
        detail = f"text -> {_show(edit, value)}" if patches else "unchanged"
        return Change(patches, detail, _line(doc, live[0]), masked + [leaf_text(live[0])])
    spec = SpecEl(f"{_prefix_for(ns)}{local}" if ns else local, text=value)
    pattern = re.compile(rf"^\s*<?\s*(?:[\w.-]+:)?{re.escape(local)}[\s/>]")
    for node in parent:
        if node.tag is etree.Comment and pattern.match(node.text or ""):
            line = _line(doc, node)
            patch = insert_after(doc, parent, node, [spec])
            return Change([patch], f"inserted after the comment at line {line}", line, masked)
    patch = append_children(doc, parent, [spec])
    return Change([patch], f"appended to <{pretty(parent)}>", _line(doc, parent), masked)


def _prefix_for(ns: str) -> str:
    return next(p for p, u in NSMAP.items() if u == ns) + ":"


def _spec(edit: Edit) -> SpecEl:
    return parse_spec(edit.value)


def _same_name(el: etree._Element, spec: SpecEl, parent_ns: str | None) -> bool:
    q = etree.QName(el)
    return q.localname == spec.local and q.namespace == spec.ns(parent_ns)


def _qname(el: etree._Element) -> tuple[str | None, str]:
    """(namespace, local name) of an element, from its ``{ns}local`` tag."""
    tag = el.tag
    if tag[0] == "{":
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag


def _pair(
    el: etree._Element, spec: SpecEl
) -> tuple[list[tuple[etree._Element, SpecEl]], list[SpecEl]]:
    """Match the spec's children to ``el``'s children: (pairs, children to add)."""
    ns = ns_of(el)
    kids = element_children(el)
    names = [_qname(k) for k in kids]
    tags: dict[str, int] = {}
    for c in spec.updates:
        tags[c.tag] = tags.get(c.tag, 0) + 1
    pairs: list[tuple[etree._Element, SpecEl]] = []
    new: list[SpecEl] = []
    used: set[int] = set()
    for child in spec.updates:
        want = (child.ns(ns), child.local)
        all_same = [k for k, name in zip(kids, names, strict=True) if name == want]
        same = [k for k in all_same if id(k) not in used]
        pick: etree._Element | None = None
        if tags[child.tag] == 1 and len(all_same) == 1:
            pick = all_same[0]
        elif child.attrs:
            hits = [k for k in same if all(k.get(a) == v for a, v in child.attrs)]
            pick = hits[0] if hits else None
        elif same:
            pick = same[0]
        if pick is None:
            new.append(child)
        else:
            used.add(id(pick))
            pairs.append((pick, child))
    return pairs, new


def upsert(doc: XmlDoc, el: etree._Element, spec: SpecEl, masked: list[str]) -> list[Patch]:
    patches: list[Patch] = []
    for name, value in spec.attrs:
        patches += set_attr(doc, el, name, value)
    if not spec.children:
        if spec.text is not None:
            if secretish(spec.local):
                masked += [spec.text, leaf_text(el)]
            patches += set_text(doc, el, spec.text)
        return patches
    if spec.text:
        raise WizardError(
            f"element spec <{spec.tag}> has both text and child elements",
            doc.where(el),
            "give either #text or child elements",
        )
    pairs, new = _pair(el, spec)
    for kid, child in pairs:
        patches += upsert(doc, kid, child, masked)
    if new:
        patches.append(append_children(doc, el, new))
    return patches


def _check_root(doc: XmlDoc, el: etree._Element, spec: SpecEl) -> None:
    if etree.QName(el).localname != spec.local:
        raise WizardError(
            f"the element spec is <{spec.tag}> but the locator selects <{pretty(el)}>",
            doc.where(el),
            "make the spec's top key the located element's tag",
        )


def op_upsert(doc: XmlDoc, edit: Edit) -> Change:
    el = one(doc, edit.locator)
    spec = _spec(edit)
    _check_root(doc, el, spec)
    masked = spec.secret_texts()
    patches = upsert(doc, el, spec, masked)
    return Change(
        patches, f"updated <{pretty(el)}>" if patches else "unchanged", _line(doc, el), masked
    )


def _add_match(doc: XmlDoc, edit: Edit, parent: etree._Element, spec: SpecEl) -> list:
    if edit.match:
        return elements(doc, edit.match, parent)
    if not spec.attrs:
        raise WizardError(
            f"add of <{spec.tag}> needs match: the XPath that finds it once it exists",
            Where(doc.host, doc.path, field="match"),
            f"e.g. match: {spec.tag}[name='...']",
        )
    return [
        k
        for k in element_children(parent)
        if _same_name(k, spec, ns_of(parent)) and all(k.get(a) == v for a, v in spec.attrs)
    ]


def op_add(doc: XmlDoc, edit: Edit) -> Change:
    if not edit.parent:
        raise WizardError(
            "add needs parent: the XPath of the element to add to",
            Where(doc.host, doc.path, field="parent"),
        )
    parent = one(doc, edit.parent, role="parent")
    spec = _spec(edit)
    masked = spec.secret_texts()
    found = _add_match(doc, edit, parent, spec)
    if len(found) > 1:
        one(doc, edit.match or spec.tag, parent, role="match")
    if found:
        _check_root(doc, found[0], spec)
        patches = upsert(doc, found[0], spec, masked)
        detail = f"updated existing <{pretty(found[0])}>" if patches else "unchanged"
        return Change(patches, detail, _line(doc, found[0]), masked)
    if edit.after:
        anchors = elements(doc, edit.after, parent)
        if not anchors:
            raise not_found(doc, edit.after, parent, role="after")
        if anchors[-1].getparent() is not parent:
            raise WizardError(
                f"after {edit.after!r} is not a child of the parent",
                doc.where(anchors[-1]),
                "after is relative to parent",
            )
        patch = insert_after(doc, parent, anchors[-1], [spec])
        return Change(
            [patch], f"added after line {_line(doc, anchors[-1])}", _line(doc, anchors[-1]), masked
        )
    patch = append_children(doc, parent, [spec])
    return Change([patch], f"added to <{pretty(parent)}>", _line(doc, parent), masked)


def conforms(el: etree._Element, spec: SpecEl, exact: bool) -> bool:
    if any(el.get(a) != v for a, v in spec.attrs):
        return False
    kids = element_children(el)
    if not spec.children:
        if spec.text is None:
            return not (exact and kids)
        return not kids and leaf_text(el) == spec.text
    if exact:
        return len(kids) == len(spec.children) and all(
            _same_name(k, c, ns_of(el)) and conforms(k, c, True)
            for k, c in zip(kids, spec.children, strict=True)
        )
    pairs, new = _pair(el, spec)
    return not new and all(conforms(k, c, False) for k, c in pairs)


def op_repl(doc: XmlDoc, edit: Edit) -> Change:
    el = one(doc, edit.locator)
    spec = _spec(edit)
    _check_root(doc, el, spec)
    masked = spec.secret_texts()
    patches: list[Patch] = []
    for name, value in spec.attrs:
        patches += set_attr(doc, el, name, value)
    if not conforms(el, SpecEl(spec.tag, children=spec.children), exact=True):
        patches += replace_children(doc, el, spec.children)
    detail = f"replaced the children of <{pretty(el)}>" if patches else "unchanged"
    return Change(patches, detail, _line(doc, el), masked)


def op_verify(doc: XmlDoc, edit: Edit) -> Change:
    found = evaluate(doc, edit.locator)
    if len(found) != 1:
        if not found:
            raise not_found(doc, edit.locator, None)
        one(doc, edit.locator)
    node = found[0]
    if isinstance(node, etree._Element):
        actual, line = leaf_text(node), _line(doc, node)
    else:
        actual, line = str(node), None
    expected = _scalar(edit)
    if actual.strip() != expected.strip():
        raise step_failed(
            f"{edit.locator} is {_show(edit, actual)}, expected {_show(edit, expected)}",
            fix="the file differs from what this deployment needs; change it or the answers",
            host=doc.host,
            file=doc.path,
            line=line,
        )
    return Change([], "as expected", line, [expected] if edit.secret else [])


def _accepted(edit: Edit) -> list[str]:
    values = edit.value if isinstance(edit.value, list | tuple) else [edit.value]
    return [plain(v).strip() for v in values]


def op_expect(doc: XmlDoc, edit: Edit) -> Change:
    """A value the guides leave as it is: never an error, never a write. When the file
    holds something else (or nothing), the outcome carries a note for the admin."""
    want = _accepted(edit)
    shown = " or ".join(MASK if edit.secret else repr(w) for w in want)
    found = evaluate(doc, edit.locator)
    if not found:
        return Change(
            [],
            "not present",
            None,
            note=f"{edit.locator} is not present (the guides expect {shown}); left as is",
        )
    if len(found) > 1:
        return Change(
            [],
            "several",
            None,
            note=f"{edit.locator} matches {len(found)} "
            f"elements (the guides expect one, {shown}); left as is",
        )
    node = found[0]
    if isinstance(node, etree._Element):
        actual, line = leaf_text(node), _line(doc, node)
        hide = edit.secret or secretish(etree.QName(node).localname)
    else:
        actual, line, hide = str(node), None, edit.secret
    if actual.strip() in want:
        return Change([], "as expected", line)
    was = MASK if hide else repr(actual.strip())
    return Change(
        [],
        "differs",
        line,
        note=f"{edit.locator} is {was} (the guides expect {MASK if hide else shown}); left as is",
    )


OPS: dict[str, Callable[[XmlDoc, Edit], Change]] = {
    "set": op_set,
    "attr": op_attr,
    "ins": op_ins,
    "upsert": op_upsert,
    "add": op_add,
    "repl": op_repl,
    "verify": op_verify,
    "expect": op_expect,
}


def reads_back(doc: XmlDoc, edit: Edit) -> bool:
    """After writing: does the re-parsed file hold what ``edit`` asked for?"""
    if edit.op in ("verify", "expect"):
        return True
    if edit.op == "set":
        return leaf_text(one(doc, edit.locator)) == _scalar(edit)
    if edit.op == "attr":
        locator, name = split_attr(edit)
        return one(doc, locator).get(attr_key(name)) == _scalar(edit)
    if edit.op == "ins":
        parent, step, _, _ = _ins_target(doc, edit)
        return leaf_text(one(doc, step, parent)) == _scalar(edit)
    spec = _spec(edit)
    if edit.op == "upsert":
        return conforms(one(doc, edit.locator), spec, exact=False)
    if edit.op == "repl":
        return conforms(one(doc, edit.locator), spec, exact=True)
    parent = one(doc, edit.parent or "", role="parent")
    found = _add_match(doc, edit, parent, spec)
    return len(found) == 1 and conforms(found[0], spec, exact=False)
