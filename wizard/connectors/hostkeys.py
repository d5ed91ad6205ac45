"""SSH host keys: known_hosts files, pinned keys, verification and batch scanning.

Trust comes from three places, in this order:

1. a key pinned in the answers (``host_key: "ssh-ed25519 AAAA..."`` or ``"SHA256:..."``),
   which overrides the files;
2. the session's known_hosts (a file the caller names, e.g. ``<session dir>/known_hosts``),
   the only file the wizard ever writes;
3. the user's ``~/.ssh/known_hosts`` (read only).

An unknown key is never accepted silently: :class:`RefusingPolicy` records it and raises.
The front end scans all hosts at once with :func:`scan_host_keys`, shows the unknown
fingerprints in one batch and pins the confirmed ones with :func:`pin` (headless:
``accept_new=True``). A key that differs from a known one is refused with a message
naming the stale entry.
"""

from __future__ import annotations

import base64
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from wizard.connectors.base import HostTarget
from wizard.connectors.parallel import run_per_host
from wizard.connectors.ssh_handshake import Handshake, no_delay, park
from wizard.connectors.ssh_known_hosts import (
    KnownHostsEntry,
    KnownKey,
    fingerprint,
    host_pattern,
    parse_known_hosts,
    parse_pin,
    split_host_pattern,
)
from wizard.errors import EXIT_STEP_FAILED, Where, WizardError, bad_input

KNOWN = "known"
UNKNOWN = "unknown"
CHANGED = "changed"
UNREACHABLE = "unreachable"


class HostKeyError(WizardError):
    """A host key was refused (unknown, changed or revoked): retrying cannot help."""


@dataclass(frozen=True)
class HostKeyStatus:
    """What one host presented and how it compares with what we know."""

    name: str
    address: str
    port: int
    state: str  # known | unknown | changed | unreachable
    key_type: str | None = None
    fingerprint: str | None = None
    blob: bytes | None = field(default=None, repr=False)
    expected: tuple[KnownKey, ...] = ()
    error: str | None = None

    @property
    def pattern(self) -> str:
        return host_pattern(self.address, self.port)

    @property
    def public_key(self) -> str | None:
        if self.blob is None or self.key_type is None:
            return None
        return f"{self.key_type} {base64.b64encode(self.blob).decode('ascii')}"


class HostKeyStore:
    """The session known_hosts (read/write), the user's known_hosts (read only) and pins."""

    def __init__(
        self,
        session_file: str | Path,
        *,
        user_file: str | Path | None = "~/.ssh/known_hosts",
    ) -> None:
        self.session_file = Path(session_file).expanduser()
        self.user_file = Path(user_file).expanduser() if user_file else None
        self._lock = threading.Lock()

    def _files(self) -> list[Path]:
        files = [self.session_file]
        if self.user_file is not None:
            files.append(self.user_file)
        return files

    def entries(self) -> list[KnownHostsEntry]:
        out: list[KnownHostsEntry] = []
        for path in self._files():
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise bad_input(
                    f"cannot read known_hosts: {exc.strerror}",
                    fix="check the file's permissions",
                    file=str(path),
                ) from exc
            out.extend(parse_known_hosts(text, str(path)))
        return out

    def lookup(self, address: str, port: int) -> list[KnownKey]:
        name = host_pattern(address, port)
        return [e.key for e in self.entries() if e.matches_host(name)]

    def preferred_types(self, address: str, port: int, pin: str | None = None) -> list[str]:
        """Key types to ask the server for first (those we already know for it)."""
        keys = [_pin_or_error(pin, address)] if pin else self.lookup(address, port)
        types: list[str] = []
        for k in keys:
            if k.key_type and k.marker is None and k.key_type not in types:
                types.append(k.key_type)
        return types

    def classify(
        self, address: str, port: int, key_type: str, blob: bytes, pin: str | None = None
    ) -> tuple[str, tuple[KnownKey, ...]]:
        """``(state, expected keys)`` for a presented key; state is known/unknown/changed."""
        if pin:
            pinned = _pin_or_error(pin, address)
            return (KNOWN, ()) if pinned.matches(key_type, blob) else (CHANGED, (pinned,))
        keys = self.lookup(address, port)
        revoked = tuple(k for k in keys if k.marker == "@revoked" and k.matches(key_type, blob))
        if revoked:
            return CHANGED, revoked
        live = [k for k in keys if k.marker is None]
        if any(k.matches(key_type, blob) for k in live):
            return KNOWN, ()
        if live:
            same = tuple(k for k in live if k.key_type == key_type)
            return CHANGED, same or tuple(live)
        return UNKNOWN, ()

    def add(self, address: str, port: int, key_type: str, blob: bytes) -> bool:
        """Append a key to the session known_hosts (mode 0600). False if already there."""
        name = host_pattern(address, port)
        with self._lock:
            path = self.session_file
            for e in self.entries():
                if e.key.source == str(path) and e.matches_host(name):
                    if e.key.matches(key_type, blob):
                        return False
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                size = os.fstat(fd).st_size
                prefix = b""
                if size:
                    with open(path, "rb") as fh:
                        fh.seek(size - 1)
                        if fh.read(1) != b"\n":
                            prefix = b"\n"
                line = f"{name} {key_type} {base64.b64encode(blob).decode('ascii')}\n"
                os.write(fd, prefix + line.encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            return True


def _pin_or_error(pin: str, host: str) -> KnownKey:
    try:
        return parse_pin(pin)
    except ValueError as exc:
        raise bad_input(
            f"host_key is not a valid pinned key: {exc}",
            fix='give "ssh-ed25519 AAAA..." (from ssh-keyscan) or "SHA256:..." (from ssh-keygen -lf)',
            host=host,
            field="host_key",
        ) from exc


def changed_error(status: HostKeyStatus) -> WizardError:
    """The refusal for a key that differs from the one we know."""
    expected = status.expected[0] if status.expected else None
    if expected is not None and expected.marker == "@revoked":
        what = (
            f"host key of {status.pattern} is REVOKED ({expected.where}): "
            f"presented {status.key_type} {status.fingerprint}"
        )
        fix = "do not connect; ask the host's administrator for a new host key"
        return HostKeyError(what, Where(host=status.name), fix, EXIT_STEP_FAILED)
    want = ", ".join(f"{k.key_type or 'key'} {k.fingerprint} ({k.where})" for k in status.expected)
    what = (
        f"host key of {status.pattern} has CHANGED: expected {want}; "
        f"presented {status.key_type} {status.fingerprint}. Nothing was written to this host"
    )
    if expected is not None and expected.line is not None:
        fix = (
            f"if the change is legitimate (host reinstalled), remove the stale entry from "
            f"{expected.source} line {expected.line} and run again; otherwise stop: "
            f"the connection may be intercepted"
        )
    else:
        fix = (
            "if the change is legitimate, update host_key in the answers to the new key; "
            "otherwise stop: the connection may be intercepted"
        )
    return HostKeyError(what, Where(host=status.name), fix, EXIT_STEP_FAILED)


def unknown_error(statuses: Sequence[HostKeyStatus]) -> WizardError:
    lines = "; ".join(f"{s.name} {s.pattern} {s.key_type} {s.fingerprint}" for s in statuses)
    return HostKeyError(
        f"unknown host key{'s' if len(statuses) > 1 else ''}: {lines}",
        Where(host=statuses[0].name if len(statuses) == 1 else None),
        "check the fingerprints with the hosts' administrator (ssh-keygen -lf "
        "/etc/ssh/ssh_host_ed25519_key.pub), then confirm them in the wizard, pass "
        "--accept-new-host-keys, or pin host_key in the answers",
        EXIT_STEP_FAILED,
    )


class RefusingPolicy(paramiko.MissingHostKeyPolicy):
    """Accept a server key only when the store (or the pin) knows it; never add one.

    An unknown key is recorded in :attr:`rejected` and refused with a WizardError; a
    changed key is refused with the stale entry named.
    """

    def __init__(self, store: HostKeyStore, *, name: str = "", pin: str | None = None) -> None:
        self.store = store
        self.name = name
        self.pin = pin
        self.rejected: list[HostKeyStatus] = []

    def missing_host_key(
        self, client: paramiko.SSHClient | None, hostname: str, key: paramiko.PKey
    ) -> None:
        address, port = split_host_pattern(hostname)
        status = classify_key(self.store, self.name or address, address, port, key, self.pin)
        if status.state == KNOWN:
            return
        self.rejected.append(status)
        if status.state == CHANGED:
            raise changed_error(status)
        raise unknown_error([status])


def classify_key(
    store: HostKeyStore, name: str, address: str, port: int, key: paramiko.PKey, pin: str | None
) -> HostKeyStatus:
    blob = key.asbytes()
    key_type = key.get_name()
    state, expected = store.classify(address, port, key_type, blob, pin)
    return HostKeyStatus(name, address, port, state, key_type, fingerprint(blob), blob, expected)


def order_key_types(available: Sequence[str], preferred: Sequence[str]) -> list[str]:
    """Server key algorithms with the known types first (``ssh-rsa`` means the rsa-sha2 ones too)."""
    first: list[str] = []
    for t in preferred:
        names = ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] if t == "ssh-rsa" else [t]
        first.extend(n for n in names if n in available and n not in first)
    return first + [t for t in available if t not in first]


def fetch_server_key(
    address: str,
    port: int,
    *,
    preferred: Sequence[str] = (),
    timeout: float = 5.0,
    keep: bool = False,
) -> paramiko.PKey:
    """Connect, run the key exchange and return the server's host key; no authentication.
    ``keep``: the connection is parked for the login that follows (ssh_handshake)."""
    sock = socket.create_connection((address, port), timeout=timeout)
    no_delay(sock)
    t = Handshake(sock)
    kept = False
    try:
        t.banner_timeout = timeout
        opts = t.get_security_options()
        opts.key_types = order_key_types(list(opts.key_types), preferred)
        t.start_client(timeout=timeout)
        key = t.get_remote_server_key()
        if keep:
            park(address, port, t)
            kept = True
        return key
    finally:
        if not kept:
            t.close()
            sock.close()


def scan_one(store: HostKeyStore, host: HostTarget, *, timeout: float = 5.0) -> HostKeyStatus:
    """Fetch and classify one host's key; an unreachable host gives state ``unreachable``."""
    preferred = store.preferred_types(host.address, host.port, host.host_key)
    try:
        key = fetch_server_key(
            host.address, host.port, preferred=preferred, timeout=timeout, keep=True
        )
    except (OSError, EOFError, paramiko.SSHException) as exc:
        reason = str(exc) or type(exc).__name__
        return HostKeyStatus(host.name, host.address, host.port, UNREACHABLE, error=reason)
    return classify_key(store, host.name, host.address, host.port, key, host.host_key)


def scan_host_keys(
    hosts: Sequence[HostTarget],
    store: HostKeyStore,
    *,
    timeout: float = 5.0,
    parallelism: int = 16,
) -> list[HostKeyStatus]:
    """Fetch every SSH host's key in parallel and classify it; order follows ``hosts``."""
    ssh_hosts = [h for h in hosts if h.transport == "ssh"]
    results = run_per_host(
        ssh_hosts,
        lambda h: scan_one(store, h, timeout=timeout),
        parallelism=parallelism,
    )
    return [scan_status(h, results[h]) for h in ssh_hosts]


def scan_status(h: HostTarget, result: HostKeyStatus | BaseException) -> HostKeyStatus:
    """A host's scan result: a failure to connect is an UNREACHABLE status; a
    WizardError (a changed key, bad input) is raised."""
    if isinstance(result, WizardError):
        raise result
    if isinstance(result, BaseException):
        return HostKeyStatus(h.name, h.address, h.port, UNREACHABLE, error=str(result))
    return result


def pin(statuses: Sequence[HostKeyStatus], store: HostKeyStore) -> list[HostKeyStatus]:
    """Append the unknown keys (the ones the user confirmed) to the session known_hosts."""
    added: list[HostKeyStatus] = []
    for s in statuses:
        if s.state == UNKNOWN and s.key_type and s.blob is not None:
            if store.add(s.address, s.port, s.key_type, s.blob):
                added.append(s)
    return added


def require_trusted(
    statuses: Sequence[HostKeyStatus], store: HostKeyStore, *, accept_new: bool = False
) -> list[HostKeyStatus]:
    """Refuse changed keys and unreachable hosts; pin unknown keys only with ``accept_new``.

    Returns the statuses that were pinned.
    """
    for s in statuses:
        if s.state == CHANGED:
            raise changed_error(s)
    down = [s for s in statuses if s.state == UNREACHABLE]
    if down:
        names = "; ".join(f"{s.name} {s.address}:{s.port} ({s.error})" for s in down)
        raise WizardError(
            f"cannot reach SSH on {names}",
            Where(host=down[0].name if len(down) == 1 else None),
            "check that the hosts are up, sshd listens on that address and port, "
            "and no firewall is in the way",
            EXIT_STEP_FAILED,
        )
    unknown = [s for s in statuses if s.state == UNKNOWN]
    if unknown and not accept_new:
        raise unknown_error(unknown)
    return pin(unknown, store)
