"""The password hash MySQL 8 keeps for ``caching_sha2_password`` / ``sha256_password``
accounts, so that a re-run can tell whether an account's password is already the
answered one without altering it (ALTER USER on every run also flushes the server's
authentication cache, after which a client without TLS needs the public key again).

``authentication_string`` is ``$A$<rounds/1000, 3 digits>$<20-byte salt><43-char digest>``:
SHA-256 crypt (Ulrich Drepper, https://www.akkadia.org/drepper/SHA-crypt.txt) with
MySQL's 20-byte salt (sql/auth/sha2_password.cc, mysys/crypt_genhash_impl.cc).
"""

from __future__ import annotations

import hashlib
import hmac

_B64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# the byte triples of the final digest, in the order SHA-256 crypt encodes them
_ORDER = [(i, (i + 10) % 30, (i + 20) % 30) for i in (0, 21, 12, 3, 24, 15, 6, 27, 18, 9)]


def _encode(digest: bytes) -> bytes:
    out = bytearray()
    for a, b, c in _ORDER:
        v = (digest[a] << 16) | (digest[b] << 8) | digest[c]
        for _ in range(4):
            out.append(_B64[v & 0x3F])
            v >>= 6
    v = (digest[31] << 8) | digest[30]
    for _ in range(3):
        out.append(_B64[v & 0x3F])
        v >>= 6
    return bytes(out)


def _repeat(block: bytes, length: int) -> bytes:
    return (block * (length // len(block) + 1))[:length]


def sha256_crypt(password: bytes, salt: bytes, rounds: int = 5000) -> bytes:
    """Drepper's SHA-256 crypt digest (43 characters), for any salt length."""
    b = hashlib.sha256(password + salt + password).digest()
    a = hashlib.sha256(password + salt + _repeat(b, len(password)))
    n = len(password)
    while n:
        a.update(b if n & 1 else password)
        n >>= 1
    digest_a = a.digest()
    p = _repeat(hashlib.sha256(password * len(password)).digest(), len(password))
    s = _repeat(hashlib.sha256(salt * (16 + digest_a[0])).digest(), len(salt))
    c = digest_a
    for i in range(rounds):
        h = hashlib.sha256(p if i & 1 else c)
        if i % 3:
            h.update(s)
        if i % 7:
            h.update(p)
        h.update(c if i & 1 else p)
        c = h.digest()
    return _encode(c)


def matches(stored: bytes, password: str) -> bool | None:
    """Whether a MySQL ``$A$`` authentication string is the hash of ``password``; None
    when the string is not in that form (then it cannot be compared)."""
    if len(stored) != 7 + 20 + 43 or not stored.startswith(b"$A$") or stored[6:7] != b"$":
        return None
    try:
        rounds = int(stored[3:6].decode("ascii"), 16) * 1000
    except ValueError:
        return None
    salt, digest = stored[7:27], stored[27:]
    return hmac.compare_digest(sha256_crypt(password.encode("utf-8"), salt, rounds), digest)
