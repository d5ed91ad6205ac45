"""A cache of open transports (one per host)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from wizard.connectors.base import HostTarget, Transport

if TYPE_CHECKING:
    from wizard.connectors.hostkeys import HostKeyStore


Opener = Callable[[HostTarget], Transport]


class ConnectionCache:
    """Opens each host's transport once and hands the same one to every step.

    Thread safe: two threads asking for the same host share one connection.
    Use as a context manager; leaving it closes every transport.
    """

    def __init__(self, opener: Opener) -> None:
        self._opener = opener
        self._lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}
        self._open: dict[str, Transport] = {}

    def get(self, host: HostTarget) -> Transport:
        with self._lock:
            lock = self._host_locks.setdefault(host.name, threading.Lock())
        with lock:
            t = self._open.get(host.name)
            if t is None:
                t = self._opener(host)
                with self._lock:
                    self._open[host.name] = t
            return t

    def __contains__(self, name: str) -> bool:
        return name in self._open

    def close_all(self) -> None:
        with self._lock:
            items = list(self._open.values())
            self._open.clear()
        for t in items:
            try:
                t.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def __enter__(self) -> ConnectionCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_all()


def open_transport(host: HostTarget, store: HostKeyStore | None = None) -> Transport:
    """Open the right transport for a host: ``local`` or ``ssh`` (needs a HostKeyStore)."""
    if host.transport == "local":
        from wizard.connectors.local import LocalTransport

        return LocalTransport(host)
    from wizard.connectors.ssh import SshTransport

    if store is None:
        raise TypeError("an SSH transport needs a HostKeyStore")
    return SshTransport(host, store)
