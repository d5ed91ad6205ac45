"""known_hosts syntax: parsing, host patterns (hashed, wildcards, ``[host]:port``),
pinned keys and OpenSSH SHA256 fingerprints. Pure functions, no I/O."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass


def fingerprint(blob: bytes) -> str:
    """OpenSSH SHA256 fingerprint of a public key blob: ``SHA256:<base64, no padding>``."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def host_pattern(address: str, port: int) -> str:
    """The name a host has in known_hosts: ``host`` on port 22, else ``[host]:port``."""
    return address if port == 22 else f"[{address}]:{port}"


def split_host_pattern(name: str) -> tuple[str, int]:
    """Inverse of :func:`host_pattern`."""
    m = re.fullmatch(r"\[(.+)\]:(\d+)", name)
    if m:
        return m.group(1), int(m.group(2))
    return name, 22


@dataclass(frozen=True)
class KnownKey:
    """A key we trust (or once trusted) for a host, and where that trust comes from."""

    key_type: str | None  # None for a fingerprint-only pin
    blob: bytes | None
    fingerprint: str
    source: str  # a file path, or "answers" for a pin
    line: int | None = None
    marker: str | None = None  # "@revoked" for revoked keys

    @property
    def where(self) -> str:
        if self.line is None:
            return f"{self.source} (host_key)"
        return f"{self.source} line {self.line}"

    def matches(self, key_type: str, blob: bytes) -> bool:
        if self.blob is None:
            return self.fingerprint == fingerprint(blob)
        return self.key_type == key_type and self.blob == blob


@dataclass(frozen=True)
class KnownHostsEntry:
    patterns: tuple[str, ...]
    key: KnownKey

    def matches_host(self, name: str) -> bool:
        return host_matches(self.patterns, name)


def _decode_key(b64: str) -> bytes:
    try:
        return base64.b64decode(b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("key is not valid base64") from exc


def _blob_type(blob: bytes) -> str:
    """The key type named inside an SSH public key blob."""
    if len(blob) < 4:
        raise ValueError("key blob too short")
    n = int.from_bytes(blob[:4], "big")
    if n > 64 or len(blob) < 4 + n:
        raise ValueError("key blob malformed")
    return blob[4 : 4 + n].decode("ascii", "replace")


def parse_known_hosts(text: str, source: str) -> list[KnownHostsEntry]:
    """Parse known_hosts text. Malformed lines and @cert-authority lines are skipped."""
    entries: list[KnownHostsEntry] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        marker = None
        if fields[0].startswith("@"):
            marker, fields = fields[0], fields[1:]
            if marker != "@revoked":
                continue
        if len(fields) < 3:
            continue
        patterns, key_type, b64 = fields[0], fields[1], fields[2]
        try:
            blob = _decode_key(b64)
            if _blob_type(blob) != key_type:
                continue
        except ValueError:
            continue
        key = KnownKey(key_type, blob, fingerprint(blob), source, lineno, marker)
        entries.append(KnownHostsEntry(tuple(patterns.split(",")), key))
    return entries


def _glob_match(pattern: str, name: str) -> bool:
    """known_hosts wildcards: ``*`` and ``?`` only (``[`` is literal, as in ``[h]:2222``)."""
    rx = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern.lower()
    )
    return re.fullmatch(rx, name.lower()) is not None


def _hashed_match(pattern: str, name: str) -> bool:
    parts = pattern.split("|")  # "|1|salt|hash" -> ["", "1", salt, hash]
    if len(parts) != 4 or parts[1] != "1":
        return False
    try:
        salt = base64.b64decode(parts[2])
        want = base64.b64decode(parts[3])
    except binascii.Error:
        return False
    got = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(got, want)


def host_matches(patterns: Sequence[str], name: str) -> bool:
    """True when ``name`` matches the comma-separated patterns of a known_hosts line."""
    hit = False
    for pat in patterns:
        if pat.startswith("|"):
            hit = hit or _hashed_match(pat, name)
        elif pat.startswith("!"):
            if _glob_match(pat[1:], name):
                return False
        elif _glob_match(pat, name):
            hit = True
    return hit


def parse_pin(text: str) -> KnownKey:
    """Parse a pinned key from the answers: ``"ssh-ed25519 AAAA... [comment]"`` or ``"SHA256:..."``."""
    value = text.strip()
    if value.startswith("SHA256:"):
        b64 = value[7:]
        try:
            raw = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
        except binascii.Error:
            raw = b""
        if len(raw) != 32:
            raise ValueError("a SHA256 fingerprint is 43 base64 characters after 'SHA256:'")
        return KnownKey(None, None, "SHA256:" + b64.rstrip("="), "answers")
    fields = value.split()
    if len(fields) < 2:
        raise ValueError('expected "<key type> <base64 key>" or "SHA256:<fingerprint>"')
    blob = _decode_key(fields[1])
    if _blob_type(blob) != fields[0]:
        raise ValueError(f"the key is not of type {fields[0]}")
    return KnownKey(fields[0], blob, fingerprint(blob), "answers")
