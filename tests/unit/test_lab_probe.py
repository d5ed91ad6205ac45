"""The load-balancer probe reaches a name only the nodes' hosts files know (the lab's
``apim.<lab>.test``) at its address, with the name as Host header and TLS SNI, like
``curl --resolve``; nothing is looked up on this machine."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.planning.build import plan
from wizard.steps.httpget import http_get

NAME = "apim.cw-lab-probe.test"  # reserved TLD: resolves nowhere


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = f"{self.headers.get('Host')}|{self.server.sni}".encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Seen", body.decode())
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """(http port, https port) of servers on 127.0.0.1 that echo Host and SNI."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={NAME}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    plain.sni = None  # type: ignore[attr-defined]
    tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    tls.sni = None  # type: ignore[attr-defined]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))

    def remember(sock: ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> None:
        tls.sni = name  # type: ignore[attr-defined]

    ctx.sni_callback = remember
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (plain, tls)]
    for t in threads:
        t.start()
    try:
        yield plain.server_address[1], tls.server_address[1]
    finally:
        for s in (plain, tls):
            s.shutdown()
            s.server_close()


def test_a_pinned_name_is_reached_at_its_address_with_host_and_sni(server) -> None:
    http_port, https_port = server
    pins = {NAME.upper(): "127.0.0.1"}  # names match whatever their case
    got = http_get(f"https://{NAME}:{https_port}/carbon/", resolve=pins)
    assert got is not None and got[0] == 200
    assert got[1]["X-Seen"] == f"{NAME}:{https_port}|{NAME}"
    got = http_get(f"http://{NAME}:{http_port}/", resolve=pins)
    assert got is not None and got[1]["X-Seen"] == f"{NAME}:{http_port}|None"
    # without the pin the name is looked up here, and it resolves nowhere
    assert http_get(f"https://{NAME}:{https_port}/carbon/") is None


def test_the_plan_pins_the_lb_names_at_lb_ip() -> None:
    data = yaml.safe_load(example_yaml("ob-apim-cluster"))
    data["lb"].update(hostname=NAME, address="127.0.0.2")
    data["lb"].pop("ip", None)
    answers, pattern = parse_answers(yaml.safe_dump(data))
    (probe,) = [s for s in plan(answers, pattern).steps if s.kind == "wait" and "url" in s.inputs]
    assert probe.inputs["resolve"] == {NAME: "127.0.0.2"}
    data["lb"]["ip"] = "127.0.0.9"  # lb.ip: where clients reach the name
    answers, pattern = parse_answers(yaml.safe_dump(data))
    (probe,) = [s for s in plan(answers, pattern).steps if s.kind == "wait" and "url" in s.inputs]
    assert probe.inputs["resolve"] == {NAME: "127.0.0.9"}
    data["lb"]["hostname"] = "127.0.0.9"  # an address needs no pin
    answers, pattern = parse_answers(yaml.safe_dump(data))
    (probe,) = [s for s in plan(answers, pattern).steps if s.kind == "wait" and "url" in s.inputs]
    assert probe.inputs["resolve"] == {}
