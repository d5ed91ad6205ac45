"""The fake Carbon server's sockets: servlet/NIO HTTP(S) ports and bare TCP ports, and
what each logs when it cannot bind (clustering: ``fakecarbon_cluster.py``).

Standard library only (copied into the product's ``bin/`` next to ``fakecarbon.py``).

A port that cannot be bound does not stop a real node (docs/fake-carbon-evidence.md c):

- Tomcat (9443/9763, ``bindOnInit="false"``): ``Failed to start end point associated with
  ProtocolHandler ["http-nio-<port>"]`` + ``java.net.BindException: Address already in
  use``, then carbon-kernel ``CarbonTomcat.startConnectors`` logs ``LifeCycleException
  while starting tomcat connector`` and the boot goes on to ``WSO2 Carbon started``;
- Synapse pass-through (8280/8243): ``PassThroughHttpListener``'s reactor exception handler
  WARNs ``System may be unstable: HTTPS ListeningIOReactor encountered a checked exception
  : Address already in use`` and the listener still reports started;
- AMQP, Thrift and the binary receivers: not verified; the fake logs the BindException
  under the component and goes on (the harder case for a readiness check).
"""

from __future__ import annotations

import json
import os
import socket
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:  # run as bin/fakecarbon.py: the sibling modules are top-level
    from fakecarbon_checks import BootError  # type: ignore[import-not-found]
    from fakecarbon_node import Listener  # type: ignore[import-not-found]
except ImportError:  # imported as wizard.lab.fakecarbon_net (tests)
    from wizard.lab.fakecarbon_checks import BootError
    from wizard.lab.fakecarbon_node import Listener

JAGGERY_DIR = "repository/deployment/server/jaggeryapps"
JAGGERY_APPS = ("store", "publisher", "admin")

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

    def _undeployed(self, path: str) -> bool:
        """A Jaggery app (store, publisher, admin) that is not in the home's jaggeryapps
        (a profile's optimisation deleted it) is not served by Tomcat: 404."""
        app = path.strip("/").split("/", 1)[0]
        if not self.server.home or not self.server.listener.name.startswith("servlet"):
            return False
        if app not in JAGGERY_APPS:
            return False
        return not os.path.isdir(os.path.join(self.server.home, JAGGERY_DIR, app))

    def _answer(self, with_body: bool = True) -> None:
        path = self.path.split("?", 1)[0]
        if self._undeployed(path):
            body = b"Not Found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Carbon-Node", self.server.node)
            self.end_headers()
            if with_body:
                self.wfile.write(body)
            return
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
        self,
        address: tuple[str, int],
        listener: Listener,
        node: str,
        tls: ssl.SSLContext | None,
        home: str = "",
    ) -> None:
        self.listener = listener
        self.node = node
        self.tls = tls
        self.home = home
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


TOMCAT_ENDPOINT = "org.apache.coyote.http11.Http11NioProtocol"
CARBON_TOMCAT = "org.wso2.carbon.tomcat.internal.CarbonTomcat"
PASSTHRU = "org.apache.synapse.transport.passthru.PassThroughHttpListener"
# who logs a failed bind of the bare TCP ports (not verified: the component's logger)
_TCP_LOGGERS = {
    "amqp": "org.wso2.andes.server.transport.QpidAcceptor",
    "thrift": "org.wso2.carbon.apimgt.keymgt.internal.APIKeyMgtServiceComponent",
    "tm-binary": "org.wso2.carbon.databridge.receiver.binary.internal.BinaryDataReceiver",
    "tm-binary-ssl": "org.wso2.carbon.databridge.receiver.binary.internal.BinaryDataReceiver",
}


def _reason(exc: OSError) -> str:
    return "Address already in use" if exc.errno == 98 else (exc.strerror or str(exc))


def tomcat_failure(port: int, cause: str) -> list[BootError]:
    """A servlet connector that did not start (bind or key store): two ERRORs, no exit."""
    return [
        BootError(
            TOMCAT_ENDPOINT,
            f'Failed to start end point associated with ProtocolHandler ["http-nio-{port}"]',
            (cause,),
        ),
        BootError(
            CARBON_TOMCAT,
            "LifeCycleException while starting tomcat connector",
            ("org.apache.catalina.LifecycleException: Failed to start component "
             f"[Connector[HTTP/1.1-{port}]]", f"Caused by: {cause}"),
        ),
    ]  # fmt: skip


def bind_failure(listener: Listener, exc: OSError) -> tuple[str, list[BootError]]:
    """(level, entries) a real node logs when the listener's port cannot be bound."""
    reason = _reason(exc)
    if listener.name.startswith("servlet"):
        return "ERROR", tomcat_failure(listener.port, f"java.net.BindException: {reason}")
    if listener.name.startswith("nio"):
        prefix = "HTTPS" if listener.kind == "https" else "HTTP"
        return "WARN", [
            BootError(
                PASSTHRU,
                f"System may be unstable: {prefix} ListeningIOReactor encountered a checked "
                f"exception : {reason}",
            )
        ]
    logger = _TCP_LOGGERS.get(listener.name, "org.wso2.carbon.core.init.CarbonServerManager")
    return "ERROR", [
        BootError(
            logger,
            f"Could not open the {listener.name} port {listener.port}",
            (f"java.net.BindException: {reason}",),
        )
    ]


def open_listener(
    listener: Listener, address: str, node: str, tls: ssl.SSLContext | None, home: str = ""
) -> CarbonHTTPServer | TcpListener:
    """Bind the listener's port; an OSError is the caller's to log (see bind_failure)."""
    if listener.kind == "tcp":
        return TcpListener((address, listener.port))
    return CarbonHTTPServer(
        (address, listener.port), listener, node, tls if listener.kind == "https" else None, home
    )
