"""Key exchanges made by the host key scan, kept for the login that follows.

The scan (:func:`wizard.connectors.hostkeys.scan_host_keys`) connects to every host to
see its key. Instead of dropping that connection and opening another one to log in a
moment later, it parks the connection here for a short while;
:func:`wizard.connectors.ssh_connect.connect_client` takes it, verifies the host key
again against what is trusted at that moment (nothing is trusted because it was parked),
and logs in on it: one TCP connection and one key exchange per host instead of two. A
connection nobody takes is closed after :data:`PARK_SECONDS` (sshd would drop it at its
LoginGraceTime anyway).
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import paramiko

PARK_SECONDS = 30.0

_lock = threading.Lock()
_parked: dict[tuple[str, int], list[tuple[Handshake, threading.Timer]]] = {}


def no_delay(sock: object) -> None:
    """Turn Nagle's algorithm off on an SSH connection's socket, before its first packet.

    SSH sends small packets and waits for each answer (service request, auth, channel
    open, SFTP requests): with Nagle on, a packet sent while the last one is not yet
    acknowledged waits for the peer's delayed ACK, 40 ms on Linux. Measured on the lab:
    a login 50 ms -> 9 ms. OpenSSH's client and sshd set it as well."""
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Handshake(paramiko.Transport):
    """A client transport whose key exchange runs once: for the scan; the login's
    ``start_client`` finds it done and goes on to authenticate."""

    def start_client(
        self, event: threading.Event | None = None, timeout: float | None = None
    ) -> Any:
        if event is None and self.is_active() and getattr(self, "host_key", None) is not None:
            return None  # negotiated and verified by the caller before it logs in
        return super().start_client(event=event, timeout=timeout)


def park(address: str, port: int, transport: Handshake) -> None:
    """Keep a connection whose key exchange is done (not logged in) for a login to take."""
    timer = threading.Timer(PARK_SECONDS, _expire, args=(address, port, transport))
    timer.daemon = True
    with _lock:
        _parked.setdefault((address, port), []).append((transport, timer))
    timer.start()


def take(address: str, port: int) -> Handshake | None:
    """A parked connection to ``address:port`` that is still up, or None."""
    while True:
        with _lock:
            waiting = _parked.get((address, port))
            if not waiting:
                return None
            transport, timer = waiting.pop(0)
            if not waiting:
                del _parked[(address, port)]
        timer.cancel()
        if transport.is_active() and not transport.is_authenticated():
            return transport
        transport.close()


def _expire(address: str, port: int, transport: Handshake) -> None:
    with _lock:
        waiting = _parked.get((address, port), [])
        kept = [(t, timer) for t, timer in waiting if t is not transport]
        if len(kept) == len(waiting):
            return  # taken meanwhile
        if kept:
            _parked[(address, port)] = kept
        else:
            _parked.pop((address, port), None)
    transport.close()


def close_all() -> None:
    """Close every parked connection (tests; a process that is done with its hosts)."""
    with _lock:
        items = [item for waiting in _parked.values() for item in waiting]
        _parked.clear()
    for transport, timer in items:
        timer.cancel()
        transport.close()
