"""NGINX configs rendered from the real plan of each pattern's example answers, checked
for the CHECKLIST shapes and by the real ``nginx -t`` in a temporary prefix."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.connectors import certs
from wizard.connectors.local import LocalTransport
from wizard.connectors.nginx import Nginx, render_conf
from wizard.errors import WizardError
from wizard.planning.build import plan

LB_PATTERNS = ["apim-active-passive", "ob-apim-cluster", "ob-km-ha", "apim-distributed"]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def lb_inputs(pattern_id: str) -> dict[str, Any]:
    answers, pattern = parse_answers(example_yaml(pattern_id))
    steps = [s for s in plan(answers, pattern).steps if s.kind == "load_balancer"]
    assert len(steps) == 1
    return dict(steps[0].inputs)


def test_all_in_one_has_no_load_balancer() -> None:
    answers, pattern = parse_answers(example_yaml("apim-all-in-one"))
    assert not [s for s in plan(answers, pattern).steps if s.kind == "load_balancer"]


def blocks(conf: str, head: str) -> list[str]:
    """The bodies of every block that starts with ``head`` (one nesting level)."""
    out = []
    for m in re.finditer(r"(?m)^ *" + re.escape(head) + r"[^{;]*\{", conf):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(conf[i], 0)
            i += 1
        out.append(conf[m.start() : i])
    return out


@pytest.mark.parametrize("pattern_id", LB_PATTERNS)
def test_conf_d_shape(pattern_id: str) -> None:
    inputs = lb_inputs(pattern_id)
    conf = render_conf(inputs)
    assert not re.search(r"(?m)^\s*http\s*\{", conf)  # conf.d file: no http {} wrapper
    assert not re.search(r"\bssl on;", conf)
    assert f"listen {inputs['https_port']} ssl;" in conf
    assert f"ssl_certificate {inputs['cert']};" in conf
    assert f"ssl_certificate_key {inputs['key']};" in conf
    for up in inputs["upstreams"]:
        (body,) = blocks(conf, f"upstream {up['name']} ")
        assert ("ip_hash;" in body) == bool(up["sticky"])
        for s in up["servers"]:
            # a failed server is retried after the planned fail_timeout (rolling restarts
            # hold that long before the next node goes down)
            fails = f"max_fails=1 fail_timeout={inputs['fail_timeout']}s"
            line = f"server {s['address']}:{s['port']} {fails}{' backup' if s['backup'] else ''};"
            assert line in body
    for loc in blocks(conf, "location "):
        for header in ("X-Forwarded-Host $host", "X-Forwarded-Server $host", "X-Forwarded-For"):
            assert header in loc
    assert "location /carbon {" not in conf  # AP-A10


def test_active_passive_rows() -> None:
    inputs = lb_inputs("apim-active-passive")
    conf = render_conf(inputs)
    name = inputs["server_name"]
    (carbon,) = blocks(conf, "location /carbon/ ")
    assert "proxy_pass https://manager-worker/carbon/;" in carbon  # AP-L06
    assert f"proxy_redirect https://{name}:9443/carbon/ https://{name}/carbon/;" in carbon
    assert "proxy_next_upstream" not in carbon
    (admin,) = blocks(conf, "location /admin ")
    assert "proxy_cookie_path /admin /admin;" in admin  # AP-L10, not /publisher
    (store,) = blocks(conf, "location /store ")
    assert "proxy_pass https://allnodes/store;" in store
    assert "proxy_next_upstream error timeout invalid_header http_500;" in store  # AP-L11
    assert "proxy_connect_timeout 2;" in store
    (reg,) = blocks(conf, "location ~ ^/store/(.*)registry/(.*)$ ")
    assert "proxy_pass https://allnodes/$1registry/$2;" in reg  # AP-L07
    (http,) = [b for b in blocks(conf, "server ") if f"listen {inputs['http_port']};" in b]
    assert "proxy_pass http://allnodes-traffic-http/;" in http  # AP-L13
    assert "ip_hash" not in conf  # AP-L14


def test_ob_km_ha_sends_proto_only_with_the_remote_ip_valve() -> None:
    inputs = lb_inputs("ob-km-ha")
    assert "X-Forwarded-Proto" not in render_conf(inputs)
    inputs["data"] = {**inputs["data"], "forwarded_proto": "true"}
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in render_conf(inputs)


def test_distributed_has_one_server_per_public_name() -> None:
    inputs = lb_inputs("apim-distributed")
    conf = render_conf(inputs)
    servers = blocks(conf, "server ")
    names = [re.search(r"server_name (\S+);", s).group(1) for s in servers]  # type: ignore[union-attr]
    assert names == ["pub.example.com", "store.example.com", "gw.example.com", "gw.example.com"]
    assert "listen 80;" in servers[3] and "proxy_pass http://gateway-http/;" in servers[3]


def test_listen_address_and_http_redirect() -> None:
    inputs = {**lb_inputs("ob-km-ha"), "listen_address": "127.0.0.2", "https_port": 8443}
    inputs["redirect_http"] = True
    conf = render_conf(inputs)
    assert "listen 127.0.0.2:8443 ssl;" in conf
    assert "return 301 https://$host:8443$request_uri;" in conf


def test_sticky_upstream_with_backup_is_refused() -> None:
    inputs = lb_inputs("apim-active-passive")
    inputs["upstreams"][1] = {**inputs["upstreams"][1], "sticky": True}
    with pytest.raises(WizardError, match="ip_hash .* cannot have backup"):
        render_conf(inputs)


# -- the real nginx -t ------------------------------------------------------------------------


def make_prefix(root: Path) -> str:
    """An nginx prefix with the stock layout (http { include conf.d/*.conf; }); its command."""
    for d in ("conf.d", "logs", "ssl"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "nginx.conf").write_text(
        f"pid {root}/logs/nginx.pid;\nerror_log {root}/logs/error.log;\n"
        "events { worker_connections 64; }\n"
        f"http {{ access_log off; include {root}/conf.d/*.conf; }}\n"
    )
    return f"{NGINX} -p {root} -c {root}/nginx.conf -e {root}/logs/error.log"


def with_own_cert(inputs: dict[str, Any], root: Path) -> dict[str, Any]:
    pair = certs.generate_cert(certs.CertSpec(cn=inputs["server_name"]))
    (root / "ssl" / "lb.crt").write_bytes(pair.cert_pem)
    (root / "ssl" / "lb.key").write_bytes(pair.key_pem)
    return {**inputs, "cert": str(root / "ssl" / "lb.crt"), "key": str(root / "ssl" / "lb.key")}


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
@pytest.mark.parametrize("pattern_id", LB_PATTERNS)
def test_nginx_accepts_the_rendered_config(pattern_id: str, tmp_path: Path) -> None:
    command = make_prefix(tmp_path)
    inputs = with_own_cert(lb_inputs(pattern_id), tmp_path)
    (tmp_path / "conf.d" / inputs["conf_name"]).write_text(render_conf(inputs))
    res = subprocess.run(
        [*command.split(), "-t"], capture_output=True, text=True, timeout=30, check=False
    )
    assert res.returncode == 0, res.stderr
    assert "test is successful" in res.stderr


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_rejected_config_is_rolled_back_with_nginx_message(tmp_path: Path) -> None:
    command = make_prefix(tmp_path)
    inputs = with_own_cert(lb_inputs("ob-km-ha"), tmp_path)
    path = tmp_path / "conf.d" / inputs["conf_name"]
    nginx = Nginx(LocalTransport(), command)
    assert nginx.conf_dir(str(tmp_path / "conf.d")) == str(tmp_path / "conf.d")
    good = render_conf(inputs).encode()
    path.write_bytes(good)
    broken = render_conf({**inputs, "cert": str(tmp_path / "ssl" / "missing.crt")}).encode()
    with pytest.raises(WizardError) as exc:
        nginx.install(str(path), broken, backup_suffix=".carbon-wizard-s1.bak")
    assert "nginx -t rejected the new config, the previous one is kept" in exc.value.what
    assert "missing.crt" in exc.value.what
    assert path.read_bytes() == good
    # a first install that fails leaves no file behind
    path.unlink()
    with pytest.raises(WizardError):
        nginx.install(str(path), broken, backup_suffix=".carbon-wizard-s1.bak")
    assert not path.exists()


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_conf_dir_comes_from_nginx_V() -> None:
    assert Nginx(LocalTransport(), str(NGINX)).conf_dir(None).endswith("/conf.d")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_first_install_starts_nginx_and_same_bytes_do_nothing(tmp_path: Path) -> None:
    command = make_prefix(tmp_path)
    inputs = with_own_cert(lb_inputs("ob-km-ha"), tmp_path)
    for up in inputs["upstreams"]:
        up["servers"] = [{**s, "address": "127.0.0.1"} for s in up["servers"]]
    port = free_port()
    inputs.update(listen_address="127.0.0.1", https_port=port, http_port=free_port())
    nginx = Nginx(LocalTransport(), command)
    path = str(tmp_path / "conf.d" / inputs["conf_name"])
    data = render_conf(inputs).encode()
    try:
        first = nginx.install(path, data, backup_suffix=".carbon-wizard-s1.bak")
        assert (first.changed, first.started, first.reloaded) == (True, True, False)
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw) as tls_sock:
                served = tls_sock.getpeercert(binary_form=True)
        cert = certs.load_cert((tmp_path / "ssl" / "lb.crt").read_bytes())
        assert served == cert.public_bytes(serialization.Encoding.DER)
        again = nginx.install(path, data, backup_suffix=".carbon-wizard-s1.bak")
        assert (again.changed, again.started, again.reloaded) == (False, False, False)
        changed = nginx.install(path, data + b"# more\n", backup_suffix=".carbon-wizard-s1.bak")
        assert (changed.changed, changed.reloaded) == (True, True)
        assert Path(path + ".carbon-wizard-s1.bak").read_bytes() == data
    finally:
        subprocess.run([*command.split(), "-s", "quit"], capture_output=True, timeout=30)
