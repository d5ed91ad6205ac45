"""Parallel per-host work and a cache of open transports (one per host)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from wizard.connectors.base import HostTarget, Transport

if TYPE_CHECKING:
    from wizard.connectors.hostkeys import HostKeyStore

H = TypeVar("H", bound=Hashable)
R = TypeVar("R")


def run_per_host(
    hosts: Iterable[H],
    fn: Callable[[H], R],
    *,
    parallelism: int = 8,
) -> dict[H, R | BaseException]:
    """Call ``fn(host)`` for every host, at most ``parallelism`` at a time.

    Returns ``{host: result}``, or the exception a host raised, in the order given.
    One host's failure never stops the others.
    """
    items = list(dict.fromkeys(hosts))
    if not items:
        return {}
    out: dict[H, R | BaseException] = {}
    with ThreadPoolExecutor(
        max_workers=max(1, min(parallelism, len(items))), thread_name_prefix="cw-host"
    ) as ex:
        futures = {h: ex.submit(fn, h) for h in items}
        for h, fut in futures.items():
            try:
                out[h] = fut.result()
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                out[h] = exc
    return out


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
