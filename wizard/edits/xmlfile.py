"""Parse an XML file with fidelity and write it back as spliced original text.

:class:`XmlDoc` holds three views of one file: the lxml tree (for XPath), the decoded
text, and the source spans of every node (``xmlscan``). Edits are :class:`Patch` es on
the text; :meth:`XmlDoc.serialize` splices the patches into the original text and
encodes with the file's own encoding. Everything not edited keeps its
original characters: declaration, quote style, entity choices, CRLF, indentation.
"""

from __future__ import annotations

import bisect
import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from wizard.edits.xmlscan import Span, scan
from wizard.errors import Where, WizardError, step_failed

# Characters XML 1.0 allows (https://www.w3.org/TR/xml/#charsets).
_BAD_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def parser() -> etree.XMLParser:
    return etree.XMLParser(
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        resolve_entities=False,
        strip_cdata=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
    )


@dataclass(frozen=True)
class Patch:
    """Replace ``text[start:end]`` with ``new``."""

    start: int
    end: int
    new: str


def check_chars(value: str, what: str) -> str:
    m = _BAD_CHARS.search(value)
    if m:
        raise WizardError(
            f"{what} contains the character U+{ord(m.group(0)):04X}, which XML 1.0 cannot hold",
            fix="remove control characters from the value",
        )
    return value


def escape_text(value: str) -> str:
    v = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return v.replace("\r", "&#13;")


def escape_attr(value: str, quote: str = '"') -> str:
    v = escape_text(value).replace("\t", "&#9;").replace("\n", "&#10;")
    return v.replace('"', "&quot;") if quote == '"' else v.replace("'", "&apos;")


def _lxml_nodes(root: etree._Element) -> list[etree._Element]:
    before = list(root.itersiblings(preceding=True))[::-1]
    return before + list(root.iter()) + list(root.itersiblings())


def _kind(node: etree._Element) -> str:
    tag = node.tag
    if isinstance(tag, str):
        return "elem"
    if tag is etree.Comment:
        return "comment"
    if tag is etree.PI:
        return "pi"
    return "entity"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


class XmlDoc:
    """One parsed XML file: tree, text, spans. Pure: no I/O."""

    def __init__(
        self, data: bytes, *, host: str | None = None, path: str = "", unit: str | None = None
    ) -> None:
        """``unit``: the indentation step, when known (an edited copy keeps its file's)."""
        self.host = host
        self.path = path
        self.data = data
        try:
            self.root: etree._Element = etree.fromstring(data, parser())
        except etree.XMLSyntaxError as exc:
            line, col = exc.position if exc.position else (None, None)
            raise WizardError(
                f"not well-formed XML: {exc.msg}",
                Where(host, path, line or None, col or None),
                "repair the file (or restore it from the pack) and run again; nothing was changed",
                exit_code=1,
            ) from exc
        self.bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
        declared = self.root.getroottree().docinfo.encoding or "UTF-8"
        try:
            self.codec = codecs.lookup(declared).name
            self.text = data[len(self.bom) :].decode(self.codec)
        except (LookupError, UnicodeDecodeError) as exc:
            raise step_failed(
                f"cannot decode the file as {declared}: {exc}",
                fix="the file's bytes do not match its XML declaration; repair it",
                host=host,
                file=path,
            ) from exc
        self._line_starts: list[int] | None = None
        self._spans: dict[etree._Element, Span] | None = None
        self._unit = unit

    def _map_spans(self) -> dict[etree._Element, Span]:
        """Scan the text and pair every source span with its lxml node (on first use: a
        file that no edit changes is never scanned)."""
        _, flat = scan(self.text)
        wanted = [s for s in flat if s.kind != "cdata" and s.kind != "doctype" and s.name != "xml"]
        nodes = [n for n in _lxml_nodes(self.root) if _kind(n) != "entity"]
        if len(nodes) != len(wanted):
            raise step_failed(
                f"internal: {len(nodes)} parsed nodes but {len(wanted)} source spans",
                host=self.host,
                file=self.path,
            )
        spans: dict[etree._Element, Span] = {}
        for node, span in zip(nodes, wanted, strict=True):
            tag = node.tag
            if isinstance(tag, str):
                ok = span.kind == "elem" and span.name.rpartition(":")[2] == _local(tag)
            else:
                ok = span.kind == _kind(node)
            if not ok:
                raise step_failed(
                    f"internal: node {_kind(node)} {_local(tag) if isinstance(tag, str) else ''} "
                    f"does not match source at line {self.line_of(span.start)}",
                    host=self.host,
                    file=self.path,
                )
            spans[node] = span
        return spans

    @property
    def spans(self) -> dict[etree._Element, Span]:
        if self._spans is None:
            self._spans = self._map_spans()
        return self._spans

    # --- positions -------------------------------------------------------------------
    def span(self, node: etree._Element) -> Span:
        return self.spans[node]

    def line_of(self, pos: int) -> int:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        return bisect.bisect_right(self._line_starts, pos)

    def where(self, node: etree._Element | None = None) -> Where:
        line = self.line_of(self.span(node).start) if node is not None else None
        return Where(self.host, self.path, line)

    def newline_at(self, pos: int) -> str:
        """The line ending used by the line around ``pos`` (the file's own if unknown)."""
        nl = self.text.find("\n", pos)
        if nl < 0:
            nl = self.text.rfind("\n", 0, pos)
        if nl < 0:
            return "\n"
        return "\r\n" if nl > 0 and self.text[nl - 1] == "\r" else "\n"

    def indent_before(self, pos: int) -> str | None:
        """The whitespace from the line start to ``pos``, or None if other text is there."""
        line_start = self.text.rfind("\n", 0, pos) + 1
        lead = self.text[line_start:pos]
        return lead if lead.strip() == "" else None

    def indent_unit(self) -> str:
        """The document's indentation step, guessed from nested elements."""
        if self._unit is None:
            self._unit = self._guess_unit()
        return self._unit

    def _guess_unit(self) -> str:
        votes: dict[str, int] = {}
        for node, span in self.spans.items():
            parent = node.getparent()
            if span.kind != "elem" or parent is None:
                continue
            mine = self.indent_before(span.start)
            theirs = self.indent_before(self.spans[parent].start)
            if mine is None or theirs is None or not mine.startswith(theirs):
                continue
            step = mine[len(theirs) :]
            if step:
                votes[step] = votes.get(step, 0) + 1
            if len(votes) and sum(votes.values()) > 200:
                break
        return max(votes, key=lambda k: votes[k]) if votes else "    "

    # --- output ----------------------------------------------------------------------
    def serialize(self, patches: Iterable[Patch] = ()) -> bytes:
        """Splice ``patches`` into the original text and encode."""
        text = splice(self.text, patches)
        return self.bom + text.encode(self.codec, errors="xmlcharrefreplace")


def splice(text: str, patches: Iterable[Patch]) -> str:
    ordered = sorted(patches, key=lambda p: (p.start, p.end))
    out: list[str] = []
    pos = 0
    for p in ordered:
        if p.start < pos:
            raise step_failed(f"internal: overlapping edits at offset {p.start}")
        out.append(text[pos : p.start])
        out.append(p.new)
        pos = p.end
    out.append(text[pos:])
    return "".join(out)
