"""Text file ops: ``.properties`` keys, the managed ``/etc/hosts`` block, ``replace_text``.

Every function takes and returns ``str`` and changes only what it must: comments, order
and line endings of everything else stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from wizard.errors import Where, WizardError


def dominant_newline(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


# --- .properties ----------------------------------------------------------------------


@dataclass
class PropLine:
    key: str
    start: int  # logical line start
    value_start: int
    end: int  # end of the logical line, before its line ending
    raw_value: str


_ESC = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def unescape(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\" or i + 1 == len(raw):
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt in "\r\n":  # continuation: skip the line ending and the next line's indent
            i += 2
            if nxt == "\r" and raw[i : i + 1] == "\n":
                i += 1
            while i < len(raw) and raw[i] in " \t\f":
                i += 1
            continue
        if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", raw[i + 2 : i + 6]):
            out.append(chr(int(raw[i + 2 : i + 6], 16)))
            i += 6
            continue
        out.append(_ESC.get(nxt, nxt))
        i += 2
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16")


def escape_value(value: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(value):
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\t\n\r\f":
            out.append("\\" + {"\t": "t", "\n": "n", "\r": "r", "\f": "f"}[ch])
        elif ch == " " and i == 0:
            out.append("\\ ")
        elif ord(ch) < 0x20 or ord(ch) > 0x7E:
            data = ch.encode("utf-16-be", "surrogatepass")
            out.extend(f"\\u{data[j : j + 2].hex().upper()}" for j in range(0, len(data), 2))
        else:
            out.append(ch)
    return "".join(out)


def _escape_key(key: str) -> str:
    return re.sub(r"([=: #!])", r"\\\1", escape_value(key).replace("\\ ", " "))


def prop_lines(text: str) -> Iterator[PropLine]:
    pos = 0
    n = len(text)
    while pos < n:
        start = pos
        end = pos
        while True:  # find the end of the logical line
            nl = text.find("\n", end)
            stop = n if nl < 0 else nl
            body_end = stop - 1 if stop > start and text[stop - 1] == "\r" else stop
            trailing = len(text[start:body_end]) - len(text[start:body_end].rstrip("\\"))
            if trailing % 2 == 1 and nl >= 0:
                end = nl + 1
                continue
            break
        pos = n if nl < 0 else nl + 1
        line = text[start:body_end]
        stripped = line.lstrip(" \t\f")
        if not stripped or stripped[0] in "#!":
            continue
        m = re.match(r"[ \t\f]*((?:\\.|[^=:\s\\])*)[ \t\f]*[=:]?[ \t\f]*", line, re.S)
        assert m is not None
        yield PropLine(
            unescape(m.group(1)), start, start + m.end(), body_end, text[start + m.end() : body_end]
        )


def read_props(text: str) -> dict[str, str]:
    return {p.key: unescape(p.raw_value) for p in prop_lines(text)}


def set_prop(text: str, key: str, value: str) -> str:
    """Set ``key`` (every live occurrence) or append ``key=value`` at the end."""
    hits = [p for p in prop_lines(text) if p.key == key]
    raw = escape_value(value)
    for p in reversed(hits):
        if unescape(p.raw_value) != value:
            text = text[: p.value_start] + raw + text[p.end :]
    if hits:
        return text
    nl = dominant_newline(text)
    seps = [text[p.start : p.value_start][len(p.key) :] for p in prop_lines(text)]
    sep = max(set(seps), key=seps.count) if seps else "="
    if text and not text.endswith("\n"):
        text += nl
    return f"{text}{_escape_key(key)}{sep}{raw}{nl}"


# --- /etc/hosts managed block -----------------------------------------------------------


def _markers(name: str) -> tuple[str, str]:
    return f"# BEGIN carbon-wizard {name}", f"# END carbon-wizard {name}"


def set_hosts_block(text: str, name: str, lines: list[str], where: Where) -> str:
    """Make the block named ``name`` hold exactly ``lines``; other lines are untouched."""
    if not re.fullmatch(r"[\w.@-]+", name):
        raise WizardError(f"hosts block name {name!r} must be one word", where)
    for line in lines:
        if not isinstance(line, str) or "\n" in line or "\r" in line:
            raise WizardError(f"hosts block line {line!r} must be one line of text", where)
    begin, end = _markers(name)
    nl = dominant_newline(text)
    block = nl.join([begin, *lines, end]) + nl
    found = hosts_block(text, name, where)
    if found is not None:
        start, stop = found
        return text[:start] + block + text[stop:]
    if text and not text.endswith("\n"):
        text += nl
    return text + block


def hosts_block(text: str, name: str, where: Where) -> tuple[int, int] | None:
    """(start, end incl. line ending) of the managed block, or None."""
    begin, end = _markers(name)
    b = re.search(rf"^{re.escape(begin)}[ \t]*\r?$", text, re.M)
    e = re.search(rf"^{re.escape(end)}[ \t]*(\r?\n|$)", text, re.M)
    if b is None and e is None:
        return None
    if b is None or e is None or e.start() < b.start():
        raise WizardError(
            f"the carbon-wizard block {name!r} is broken (one marker missing or out of order)",
            where,
            f"remove the lines '{begin}' .. '{end}' by hand and run again",
        )
    return b.start(), e.end()


def hosts_lines(text: str, name: str, where: Where) -> list[str] | None:
    found = hosts_block(text, name, where)
    if found is None:
        return None
    inner = text[found[0] : found[1]].splitlines()[1:-1]
    return inner


# --- replace_text -----------------------------------------------------------------------


def _free_hits(text: str, old: str, new: str) -> list[int]:
    """Offsets of ``old`` that are not part of an occurrence of ``new``."""
    taken: list[tuple[int, int]] = []
    if new and old in new:
        taken = [(m.start(), m.start() + len(new)) for m in re.finditer(re.escape(new), text)]
    hits = []
    for m in re.finditer(re.escape(old), text):
        if not any(a <= m.start() and m.end() <= b for a, b in taken):
            hits.append(m.start())
    return hits


def count_hits(text: str, old: str, new: str) -> list[int]:
    """Line numbers where ``replace_text`` will change something (for the plan)."""
    return [text.count("\n", 0, pos) + 1 for pos in _free_hits(text, old, new)]


def replace_text(text: str, old: str, new: str, where: Where) -> str:
    if not old:
        raise WizardError("replace_text needs a non-empty locator", where)
    hits = _free_hits(text, old, new)
    if not hits and new and new not in text:
        raise WizardError(
            f"text {old!r} is not in the file (nor its replacement)",
            where,
            "check the catalog's locator against the file",
        )
    for pos in reversed(hits):
        text = text[:pos] + new + text[pos + len(old) :]
    return text
