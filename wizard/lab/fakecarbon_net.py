"""The fake Carbon server's sockets: servlet/NIO HTTP(S) ports, bare TCP ports, clustering.

Standard library only (copied into the product's ``bin/`` next to ``fakecarbon.py``).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:  # run as bin/fakecarbon.py: the sibling modules are top-level
    from fakecarbon_checks import BootError  # type: ignore[import-not-found]
    from fakecarbon_hosts import Resolver, UnknownHost  # type: ignore[import-not-found]
    from fakecarbon_node import ClusterConfig, Listener  # type: ignore[import-not-found]
    from fakecarbon_services import CarbonLog  # type: ignore[import-not-found]
except ImportError:  # imported as wizard.lab.fakecarbon_net (tests)
    from wizard.lab.fakecarbon_checks import BootError
    from wizard.lab.fakecarbon_hosts import Resolver, UnknownHost
    from wizard.lab.fakecarbon_node import ClusterConfig, Listener
    from wizard.lab.fakecarbon_services import CarbonLog

# ---------------------------------------------------------------- transports


class _Handler(BaseHTTPRequestHandler):
    server: CarbonHTTPServer
    protocol_version = "HTTP/1.1"

    def _reply(self, body_text: str, content_type: str, with_body: bool = True) -> None:
        body = body_text.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Carbon-Node", self.server.node)
        self.send_header("X-Carbon-Port", str(self.server.listener.port))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _answer(self, with_body: bool = True) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/carbon/admin/login.jsp":
            html = (
                "<!DOCTYPE html><html><head><title>WSO2 Management Console</title></head>"
                f"<body><h1>WSO2 API Manager</h1><p>node {self.server.node}</p>"
                '<form action="login_action.jsp" method="post"><input name="username"/>'
                '<input type="password" name="password"/></form></body></html>\n'
            )
            self._reply(html, "text/html;charset=UTF-8", with_body)
            return
        forwarded = {k: v for k, v in self.headers.items() if k.lower().startswith("x-forwarded")}
        doc = {
            "node": self.server.node,
            "port": self.server.listener.port,
            "transport": self.server.listener.name,
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host", ""),
            "forwarded": forwarded,
        }
        self._reply(json.dumps(doc, sort_keys=True) + "\n", "application/json", with_body)

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._answer()

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(with_body=False)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
        self._answer()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


class CarbonHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], listener: Listener, node: str, tls: ssl.SSLContext | None
    ) -> None:
        self.listener = listener
        self.node = node
        self.tls = tls
        super().__init__(address, _Handler)

    def serve_forever(self, poll_interval: float = 0.1) -> None:
        # A short poll keeps shutdown() quick: Carbon stops within a second of SIGTERM.
        super().serve_forever(poll_interval)

    def finish_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        request.settimeout(15)
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: object, client_address: object) -> None:
        return


class TcpListener:
    """A bare TCP port (AMQP, Thrift): accepts connections and closes them."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_server(address, reuse_port=False)
        self._stop = False

    def serve_forever(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def shutdown(self) -> None:
        self._stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def server_close(self) -> None:
        self.sock.close()


def bind_failure(listener: Listener, port: int, exc: OSError) -> BootError:
    reason = "Address already in use" if exc.errno == 98 else (exc.strerror or str(exc))
    return BootError(
        "org.apache.catalina.core.StandardService",
        f"Failed to initialize connector [{listener.name}-{port}]: "
        f"java.net.BindException: {reason}",
    )


def open_listener(
    listener: Listener, address: str, node: str, tls: ssl.SSLContext | None
) -> CarbonHTTPServer | TcpListener:
    try:
        if listener.kind == "tcp":
            return TcpListener((address, listener.port))
        return CarbonHTTPServer(
            (address, listener.port), listener, node, tls if listener.kind == "https" else None
        )
    except OSError as exc:
        raise bind_failure(listener, listener.port, exc) from exc


# ---------------------------------------------------------------- clustering

_HZ = "org.wso2.carbon.core.clustering.hazelcast.HazelcastClusteringAgent"


class ClusterAgent:
    """A tiny stand-in for Hazelcast WKA membership over TCP.

    Each member listens on localMemberHost:localMemberPort (not offset). A member that
    connects sends ``HELLO <uuid> <domain> <host:port>``; the other answers
    ``WELCOME <uuid> <host:port>`` when the domain matches. Members are keyed by their
    advertised address: a join is logged once, a member that stops answering three probes
    in a row (two a second) has left, and one that comes back with a new uuid rejoins.
    Host names (localMemberHost, members) resolve through the node's hosts file.
    """

    LEAVE_AFTER = 3
    PROBE_INTERVAL = 0.5

    def __init__(self, cfg: ClusterConfig, log: CarbonLog, resolver: Resolver) -> None:
        self.cfg = cfg
        self.log = log
        self.resolver = resolver
        self.uuid = str(uuid.uuid4())
        self.me = f"{cfg.local_host}:{cfg.local_port}"
        self.members: dict[str, str] = {}  # advertised address -> uuid
        self._misses: dict[str, int] = {}
        self._unknown: set[str] = set()  # member host names already warned about
        self._lock = threading.Lock()
        self._stop = threading.Event()
        try:
            local = resolver.resolve(cfg.local_host)
        except UnknownHost as exc:
            raise BootError(
                _HZ, f"Could not bind the cluster member to {self.me}: {exc.java}"
            ) from exc
        try:
            self.sock = socket.create_server((local, cfg.local_port))
        except OSError as exc:
            reason = "Address already in use" if exc.errno == 98 else (exc.strerror or str(exc))
            raise BootError(
                _HZ,
                f"Could not bind the cluster member to {self.me}: java.net.BindException: {reason}",
            ) from exc

    def _joined(self, address: str, member_uuid: str) -> None:
        if address == self.me:
            return
        with self._lock:
            self._misses[address] = 0
            old = self.members.get(address)
            if old == member_uuid:
                return
            if old is not None:
                self.log.info(_HZ, f"Member left [{old}]: {address}")
            self.members[address] = member_uuid
            self.log.info(_HZ, f"Member joined [{member_uuid}]: {address}")
            self.log.info(_HZ, f"Cluster members: {len(self.members) + 1}")

    def _missed(self, address: str) -> None:
        with self._lock:
            if address not in self.members:
                return
            self._misses[address] = self._misses.get(address, 0) + 1
            if self._misses[address] < self.LEAVE_AFTER:
                return
            old = self.members.pop(address)
            self.log.info(_HZ, f"Member left [{old}]: {address}")
            self.log.info(_HZ, f"Cluster members: {len(self.members) + 1}")

    def start(self) -> None:
        self.log.info(
            _HZ,
            f"Cluster domain: {self.cfg.domain}; membership scheme: {self.cfg.scheme}; "
            f"local member {self.me} [{self.uuid}]",
        )
        self.log.info(_HZ, "Cluster members: 1")
        threading.Thread(target=self._accept_loop, daemon=True).start()
        threading.Thread(target=self._probe_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._greet, args=(conn,), daemon=True).start()

    def _greet(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(3)
            try:
                words = conn.makefile("r").readline().split()
                if len(words) == 4 and words[0] == "HELLO" and words[2] == self.cfg.domain:
                    conn.sendall(f"WELCOME {self.uuid} {self.me}\n".encode())
                    self._joined(words[3], words[1])
                else:
                    conn.sendall(b"REJECT\n")
            except OSError:
                return

    def _probe(self, address: str) -> str | None:
        """The uuid of the member answering at address, or None."""
        host, port = address.rsplit(":", 1)
        try:
            ip = self.resolver.resolve(host)
        except UnknownHost as exc:
            if host not in self._unknown:
                self._unknown.add(host)
                self.log.warn(_HZ, f"Cannot reach the member {address}: {exc.java}")
            return None
        try:
            with socket.create_connection((ip, int(port)), timeout=1) as conn:
                conn.settimeout(3)
                conn.sendall(f"HELLO {self.uuid} {self.cfg.domain} {self.me}\n".encode())
                words = conn.makefile("r").readline().split()
        except OSError:
            return None
        return words[1] if len(words) == 3 and words[0] == "WELCOME" else None

    def _probe_loop(self) -> None:
        wka = [f"{h}:{p}" for h, p in self.cfg.members if f"{h}:{p}" != self.me]
        while not self._stop.is_set():
            with self._lock:
                known = list(self.members)
            for address in dict.fromkeys(wka + known):
                member_uuid = self._probe(address)
                if self._stop.is_set():
                    return
                if member_uuid is None:
                    self._missed(address)
                else:
                    self._joined(address, member_uuid)
            self._stop.wait(self.PROBE_INTERVAL)

    def shutdown(self) -> None:
        self._stop.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
