"""Source spans of an XML text: where every element, tag, attribute and comment is.

lxml gives the tree and XPath but no byte offsets. This scanner walks the (already
well-formed) text once and records spans, so that edits can be spliced into the original
text: everything not edited stays the original characters.

Speed matters (a file is scanned again after each structural edit): a start tag is one
regex match, and its attributes are split only when an edit asks for them
(:attr:`Span.attrs`), with a check that the pieces give back the tag's exact text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wizard.errors import step_failed

_NAME = re.compile(r"[^\s/>=<\"']+")
_ATTR = re.compile(r"""(\s+)([^\s=/>]+)(\s*=\s*)(?:"([^"]*)"|'([^']*)')""")
_STAG = re.compile(r"""<([^\s/>=<"'!?]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)(\s*(/?)>)""")
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


class Span:
    """An element, comment, PI, CDATA section or DOCTYPE of the source text.

    Elements also carry: ``stag_end`` (just after the start tag's ">"), ``etag_start``
    (start of "</name>", == end for <x/>), ``empty`` (<x/>), ``close`` (the "/>" or ">"
    incl. whitespace before it), ``children`` and, on demand, ``attrs``.
    """

    __slots__ = (
        "kind", "start", "end", "name", "stag_end", "etag_start", "empty", "close",
        "children", "_text", "_attr_region", "_attrs",
    )  # fmt: skip

    def __init__(self, kind: str, start: int, end: int, name: str = "") -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.name = name
        self.stag_end = 0
        self.etag_start = 0
        self.empty = False
        self.close = ""
        self.children: list[Span] = []
        self._text = ""
        self._attr_region = (0, 0)
        self._attrs: list[AttrSpan] | None = None

    @property
    def attrs(self) -> list[AttrSpan]:
        if self._attrs is None:
            self._attrs = _split_attrs(self._text, *self._attr_region)
        return self._attrs

    def __repr__(self) -> str:
        return f"Span({self.kind} {self.name!r} {self.start}:{self.end})"


def _fail(text: str, pos: int, what: str) -> Exception:
    line = text.count("\n", 0, pos) + 1
    return step_failed(f"internal: XML scanner lost its way ({what}) at line {line}")


def scan(text: str) -> tuple[list[Span], list[Span]]:
    """Return (top-level spans, all spans in document order)."""
    top: list[Span] = []
    flat: list[Span] = []
    stack: list[Span] = []
    find, startswith, stag = text.find, text.startswith, _STAG.match
    pos = 0
    n = len(text)
    while True:
        lt = find("<", pos)
        if lt < 0:
            break
        m = stag(text, lt)
        if m is not None:
            span = Span("elem", lt, 0, m.group(1))
            span._text = text
            span._attr_region = m.span(2)
            span.stag_end = m.end()
            span.close = m.group(3)
            if m.group(4):
                span.empty = True
                span.end = span.etag_start = span.stag_end
        elif startswith("</", lt):
            m = _END_TAG.match(text, lt)
            if not m or not stack or stack[-1].name != m.group(1):
                raise _fail(text, lt, "unexpected end tag")
            el = stack.pop()
            el.etag_start = lt
            el.end = pos = m.end()
            continue
        elif startswith("<!--", lt):
            end = find("-->", lt + 4)
            if end < 0:
                raise _fail(text, lt, "unterminated comment")
            span = Span("comment", lt, end + 3)
        elif startswith("<![CDATA[", lt):
            end = find("]]>", lt + 9)
            if end < 0:
                raise _fail(text, lt, "unterminated CDATA")
            span = Span("cdata", lt, end + 3)
        elif startswith("<!", lt):
            span = Span("doctype", lt, _doctype_end(text, lt))
        elif startswith("<?", lt):
            end = find("?>", lt + 2)
            if end < 0:
                raise _fail(text, lt, "unterminated processing instruction")
            name_m = _NAME.match(text, lt + 2)
            span = Span("pi", lt, end + 2, name_m.group(0) if name_m else "")
        else:
            raise _fail(text, lt, "start tag not understood")
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


def _split_attrs(text: str, start: int, end: int) -> list[AttrSpan]:
    """The attributes of one start tag, from its attribute region ``text[start:end]``."""
    out: list[AttrSpan] = []
    pos = start
    while pos < end:
        am = _ATTR.match(text, pos, end)
        if not am:
            raise _fail(text, pos, "attribute not understood")
        quote = '"' if am.group(4) is not None else "'"
        out.append(
            AttrSpan(
                am.group(2), am.start(1), am.start(2), am.group(3), quote, am.end(3) + 1,
                am.end() - 1,
            )
        )  # fmt: skip
        pos = am.end()
    if pos != end:
        raise _fail(text, pos, "attributes past the tag")
    return out


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


def rebuild(text: str, top: list[Span]) -> str:
    """Serialize the document from its spans (tags rebuilt from their attribute spans).

    Equal to ``text`` when the scan is right: the tests check that on every stock file
    and on generated documents, so a scanner mistake cannot silently corrupt an edit.
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
