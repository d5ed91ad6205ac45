"""HTTP(S) GETs of the wait steps and of ``status``: TLS unverified by default, and names
only the nodes' hosts files know reached at a pinned address (like ``curl --resolve``)."""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any


def _pinned(cls: type[http.client.HTTPConnection], resolve: Mapping[str, str]) -> Any:
    """A connection class factory that connects to ``resolve[host]`` when the URL's host is
    a key, keeping the name for the Host header and TLS SNI (like ``curl --resolve``)."""

    def make(host: str, **kwargs: Any) -> http.client.HTTPConnection:
        conn = cls(host, **kwargs)
        address = resolve.get(conn.host.lower())
        if address is not None:

            def connect(addr: tuple[str, int], *args: Any, **kw: Any) -> socket.socket:
                return socket.create_connection((address, addr[1]), *args, **kw)

            conn._create_connection = connect  # type: ignore[attr-defined]
        return conn

    return make


class _ResolvingHTTP(urllib.request.HTTPHandler):
    def __init__(self, resolve: Mapping[str, str]) -> None:
        super().__init__()
        self._resolve = resolve

    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_pinned(http.client.HTTPConnection, self._resolve), req)


class _ResolvingHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext, resolve: Mapping[str, str]) -> None:
        super().__init__(context=context)
        self._ctx = context
        self._resolve = resolve

    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(
            _pinned(http.client.HTTPSConnection, self._resolve), req, context=self._ctx
        )


def http_get(
    url: str, verify: bool = False, resolve: Mapping[str, str] | None = None, timeout: float = 3
) -> tuple[int, dict[str, str]] | None:
    """Status and headers of a GET (None when nothing answers); TLS unverified by default.

    ``resolve`` maps host names to the addresses to connect to: a name only the nodes'
    hosts files know (the LB's public name) is reached at its address, with the name as
    Host header and TLS SNI, never looked up on this machine.
    """
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    pins = {k.lower(): v for k, v in (resolve or {}).items()}
    opener = urllib.request.build_opener(_ResolvingHTTP(pins), _ResolvingHTTPS(context, pins))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return int(resp.status), dict(resp.headers.items())
    except urllib.error.HTTPError as exc:
        return int(exc.code), dict(exc.headers.items())
    except (OSError, http.client.HTTPException):
        return None


def http_status(
    url: str, verify: bool = False, resolve: Mapping[str, str] | None = None
) -> int | None:
    """The HTTP status of a GET (None when nothing answers); see :func:`http_get`."""
    got = http_get(url, verify, resolve)
    return got[0] if got else None
