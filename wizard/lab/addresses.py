"""Loopback addresses and ports for a lab, and the lock that makes choosing them safe.

Several labs may run on one machine (e.g. parallel test sessions). A lab takes a
block of consecutive loopback addresses on which nothing listens yet (127.0.0.2,
.3, ... by default), and ports that are free on all of them. ``lab up`` holds a
machine-wide file lock while it chooses and starts listening.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from wizard.errors import step_failed

FIRST_OCTET = 2
LAST_OCTET = 254
LISTEN = "0A"


def parse_proc_net_tcp(text: str) -> set[tuple[str, int]]:
    """(address, port) of every listening socket in a /proc/net/tcp text."""
    out: set[tuple[str, int]] = set()
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != LISTEN:
            continue
        hex_addr, hex_port = fields[1].split(":")
        raw = bytes.fromhex(hex_addr)[::-1]  # little-endian on the machines we run on
        out.add((socket.inet_ntoa(raw), int(hex_port, 16)))
    return out


def listeners() -> set[tuple[str, int]]:
    try:
        return parse_proc_net_tcp(Path("/proc/net/tcp").read_text())
    except OSError:
        return set()


def busy_addresses(listening: Iterable[tuple[str, int]]) -> set[str]:
    """Loopback addresses (other than 127.0.0.1) that some program listens on."""
    return {a for a, _ in listening if a.startswith("127.") and a != "127.0.0.1"}


def allocate_addresses(
    n: int, busy: set[str], first: int = FIRST_OCTET, last: int = LAST_OCTET
) -> list[str]:
    """The first block of ``n`` consecutive free addresses 127.0.0.first, ... ."""
    if n < 1:
        raise ValueError("a lab needs at least one host")
    for start in range(first, last - n + 2):
        block = [f"127.0.0.{i}" for i in range(start, start + n)]
        if not busy.intersection(block):
            return block
    raise step_failed(
        f"no {n} consecutive free loopback addresses in 127.0.0.{first}-{last}",
        fix="stop old labs ('carbon-wizard lab down --dir D') or ask for fewer hosts",
    )


def port_taken(port: int, addresses: Iterable[str], listening: set[tuple[str, int]]) -> bool:
    """True when something listens on ``port`` on any of ``addresses`` (or on all addresses)."""
    wanted = set(addresses) | {"0.0.0.0"}
    return any((a, port) in listening for a in wanted)


def can_bind(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


def pick_port(preferred: int, addresses: list[str], *, avoid: Iterable[int] = ()) -> int:
    """``preferred`` when it is free on every address, else another port free on all."""
    listening = listeners()
    avoided = set(avoid)

    def free(port: int) -> bool:
        return (
            port not in avoided
            and not port_taken(port, addresses, listening)
            and all(can_bind(a, port) for a in addresses)
        )

    if free(preferred):
        return preferred
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((addresses[0], 0))
            port = int(s.getsockname()[1])
        if port >= 1024 and free(port):
            return port
    raise step_failed(
        f"no free port for {', '.join(addresses)}", fix="stop whatever holds the loopback ports"
    )


def lock_path() -> Path:
    return Path(tempfile.gettempdir()) / "carbon-wizard-lab.lock"


@contextlib.contextmanager
def machine_lock() -> Iterator[None]:
    """Serialise 'lab up' runs on this machine while they choose addresses and ports."""
    path = lock_path()
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
