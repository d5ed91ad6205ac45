"""Split a SQL script into statements the way the ``mysql``/``mariadb`` client does.

Handles ``-- `` line comments (``--`` followed by whitespace, a control character or the
end of the text), ``#`` line comments, ``/* */`` block comments (dropped), executable
comments ``/*! */``, ``/*M! */`` and optimizer hints ``/*+ */`` (kept, the server reads
them), quoted strings and identifiers (``'``, ``"``, backtick) with backslash-escaped
and doubled quotes, and ``DELIMITER`` lines that change the statement delimiter.

Comments are removed from the statement text (a block comment leaves one space), so a
commented-out statement ending in ``;`` is never run. Each statement keeps the line in
the file where it starts, for error messages.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_DELIMITER_RE = re.compile(r"[ \t]*delimiter[ \t]+(\S+)[ \t]*(?:\r?\n|$)", re.IGNORECASE)
_QUOTES = "'\"`"


@dataclass(frozen=True)
class Statement:
    """One statement: its number in the file (1-based), the line it starts on, its text."""

    index: int
    line: int
    text: str

    def excerpt(self, width: int = 120) -> str:
        """The statement on one line, cut to ``width`` characters."""
        flat = " ".join(self.text.split())
        return flat if len(flat) <= width else flat[: width - 3] + "..."


def _plain_run(delimiter: str) -> re.Pattern[str]:
    specials = set(_QUOTES + "#-/\n") | {delimiter[0]}
    return re.compile("[^" + re.escape("".join(sorted(specials))) + "]+")


def _quoted_end(text: str, start: int) -> int:
    """Index just past the string or identifier that opens at ``start``."""
    quote = text[start]
    backslash = quote != "`"
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and backslash:
            i += 2
            continue
        if c == quote:
            if i + 1 < n and text[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _line_comment(text: str, i: int) -> bool:
    if text[i] == "#":
        return True
    return text.startswith("--", i) and (i + 2 >= len(text) or text[i + 2] <= " ")


def split_sql(text: str, delimiter: str = ";") -> list[Statement]:
    """Split ``text`` into statements; empty statements are skipped."""
    newlines = [m.start() for m in re.finditer("\n", text)]
    out: list[Statement] = []
    pieces: list[str] = []
    first: int | None = None  # offset of the first significant character of the statement
    plain = _plain_run(delimiter)
    i = 0
    n = len(text)

    def flush() -> None:
        nonlocal pieces, first
        body = "".join(pieces).strip()
        if first is not None and body:
            line = bisect.bisect_left(newlines, first) + 1
            out.append(Statement(len(out) + 1, line, body))
        pieces = []
        first = None

    while i < n:
        if first is None and (i == 0 or text[i - 1] == "\n"):
            m = _DELIMITER_RE.match(text, i)
            if m:
                pieces = []
                delimiter = m.group(1)
                plain = _plain_run(delimiter)
                i = m.end()
                continue
        if text.startswith(delimiter, i):
            flush()
            i += len(delimiter)
            continue
        c = text[i]
        if c in _QUOTES:
            end = _quoted_end(text, i)
        elif _line_comment(text, i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            end = n if close < 0 else close + 2
            if not (text.startswith(("/*!", "/*+", "/*M!"), i)):
                pieces.append(" ")
                i = end
                continue
        else:
            m = plain.match(text, i)
            end = m.end() if m else i + 1
            if first is None:
                chunk = text[i:end]
                lead = len(chunk) - len(chunk.lstrip())
                if lead < len(chunk):
                    first = i + lead
            pieces.append(text[i:end])
            i = end
            continue
        if first is None:
            first = i
        pieces.append(text[i:end])
        i = end
    flush()
    return out
