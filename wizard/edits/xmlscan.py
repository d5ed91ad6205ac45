"""Source spans of an XML text: where every element, tag, attribute and comment is.

lxml gives the tree and XPath but no byte offsets. This scanner walks the (already
well-formed) text once and records spans, so that edits can be spliced into the original
text: everything not edited stays the original characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wizard.errors import step_failed

_NAME = re.compile(r"[^\s/>=<\"']+")
_ATTR = re.compile(r"""(\s+)([^\s=/>]+)(\s*=\s*)(?:"([^"]*)"|'([^']*)')""")
_TAG_END = re.compile(r"\s*(/?)>")
_END_TAG = re.compile(r"</([^\s>]+)\s*>")


@dataclass
class AttrSpan:
    name: str
    ws_start: int  # start of the whitespace before the name
    name_start: int
    eq: str  # the text between name and quote, e.g. "=" or " = "
    quote: str
    vstart: int  # first character of the value (inside the quotes)
    vend: int  # the closing quote


@dataclass
class Span:
    """An element, comment, PI or CDATA section of the source text."""

    kind: str  # "elem", "comment", "pi", "cdata", "doctype"
    start: int
    end: int
    name: str = ""
    stag_end: int = 0  # elements: just after the start tag's ">"
    etag_start: int = 0  # elements: start of "</name>" (== end for <x/>)
    empty: bool = False  # <x/>
    close: str = ""  # elements: "/>" part incl. whitespace before it, or ">"
    attrs: list[AttrSpan] = field(default_factory=list)
    children: list[Span] = field(default_factory=list)


def _fail(text: str, pos: int, what: str) -> Exception:
    line = text.count("\n", 0, pos) + 1
    return step_failed(f"internal: XML scanner lost its way ({what}) at line {line}")


def scan(text: str) -> tuple[list[Span], list[Span]]:
    """Return (top-level spans, all spans in document order)."""
    top: list[Span] = []
    flat: list[Span] = []
    stack: list[Span] = []
    pos = 0
    n = len(text)
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            break
        if text.startswith("<!--", lt):
            end = text.find("-->", lt + 4)
            if end < 0:
                raise _fail(text, lt, "unterminated comment")
            span = Span("comment", lt, end + 3)
        elif text.startswith("<![CDATA[", lt):
            end = text.find("]]>", lt + 9)
            if end < 0:
                raise _fail(text, lt, "unterminated CDATA")
            span = Span("cdata", lt, end + 3)
        elif text.startswith("<!", lt):
            span = Span("doctype", lt, _doctype_end(text, lt))
        elif text.startswith("<?", lt):
            end = text.find("?>", lt + 2)
            if end < 0:
                raise _fail(text, lt, "unterminated processing instruction")
            name_m = _NAME.match(text, lt + 2)
            span = Span("pi", lt, end + 2, name=name_m.group(0) if name_m else "")
        elif text.startswith("</", lt):
            m = _END_TAG.match(text, lt)
            if not m or not stack or stack[-1].name != m.group(1):
                raise _fail(text, lt, "unexpected end tag")
            el = stack.pop()
            el.etag_start = lt
            el.end = m.end()
            pos = m.end()
            continue
        else:
            span = _start_tag(text, lt)
        if stack:
            stack[-1].children.append(span)
        else:
            top.append(span)
        flat.append(span)
        if span.kind == "elem" and not span.empty:
            stack.append(span)
            pos = span.stag_end
        else:
            pos = span.end
        if pos > n:
            raise _fail(text, lt, "span past end")
    if stack:
        raise _fail(text, stack[-1].start, f"element {stack[-1].name} not closed")
    return top, flat


def _doctype_end(text: str, lt: int) -> int:
    depth = 0
    quote = ""
    i = lt + 2
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == ">" and depth == 0:
            return i + 1
        i += 1
    raise _fail(text, lt, "unterminated DOCTYPE")


def _start_tag(text: str, lt: int) -> Span:
    m = _NAME.match(text, lt + 1)
    if not m:
        raise _fail(text, lt, "start tag without a name")
    span = Span("elem", lt, 0, name=m.group(0))
    pos = m.end()
    while True:
        am = _ATTR.match(text, pos)
        if not am:
            break
        quote = '"' if am.group(4) is not None else "'"
        vstart = am.end(3) + 1
        span.attrs.append(
            AttrSpan(
                am.group(2), am.start(1), am.start(2), am.group(3), quote, vstart, am.end() - 1
            )
        )
        pos = am.end()
    em = _TAG_END.match(text, pos)
    if not em:
        raise _fail(text, lt, f"start tag <{span.name}> not understood")
    span.stag_end = em.end()
    span.close = text[pos : em.end()]
    span.empty = em.group(1) == "/"
    if span.empty:
        span.end = span.etag_start = em.end()
    return span


def rebuild(text: str, top: list[Span]) -> str:
    """Serialize the document from its spans (tags rebuilt from their attribute spans).

    Equal to ``text`` when the scan is right; :class:`XmlDoc` checks that at parse time,
    so a scanner mistake can never silently corrupt an edit.
    """
    out: list[str] = []
    pos = 0
    for span in top:
        out.append(text[pos : span.start])
        _rebuild_span(text, span, out)
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def _rebuild_span(text: str, span: Span, out: list[str]) -> None:
    if span.kind != "elem":
        out.append(text[span.start : span.end])
        return
    out.append("<" + span.name)
    for a in span.attrs:
        ws = text[a.ws_start : a.name_start]
        out.append(f"{ws}{a.name}{a.eq}{a.quote}{text[a.vstart : a.vend]}{a.quote}")
    out.append(span.close)
    if span.empty:
        return
    pos = span.stag_end
    for child in span.children:
        out.append(text[pos : child.start])
        _rebuild_span(text, child, out)
        pos = child.end
    out.append(text[pos : span.etag_start])
    out.append(f"</{span.name}")
    out.append(text[span.etag_start + 2 + len(span.name) : span.end])
