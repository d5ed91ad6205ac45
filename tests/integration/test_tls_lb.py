"""Keystores, trust stores, the LB certificate and the real NGINX on the lab.

Two fake Carbon nodes (offsets 40 and 41, H2 datasources) on two lab hosts in homes of
this test; the certificate, truststore and load_balancer handlers run over SSH with the
host keys pinned. A thread scans every process's command line for the passwords the
whole time. Clients check the LB with the generated CA (python ssl, cafile).
"""

from __future__ import annotations

import http.client
import os
import posixpath
import pwd
import re
import shutil
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.connectors.base import HostTarget, Transport
from wizard.connectors.hostkeys import HostKeyStore
from wizard.connectors.keytool import Keytool
from wizard.connectors.pool import open_transport
from wizard.errors import WizardError
from wizard.executor import Executor, RunContext
from wizard.lab import pack
from wizard.plan import Plan, Step
from wizard.planning.build import plan
from wizard.steps import lb as lb_steps
from wizard.steps import tls
from wizard.wait import poll

pytestmark = pytest.mark.lab

TAG = uuid.uuid4().hex[:8]
KS_PW = f"Ks-{TAG}-s3cret"
TS_PW = f"Ts-{TAG}-tru5t"
SECRETS = {"keystore.password": KS_PW, "truststore.password": TS_PW}
OFFSETS = (40, 41)
LB_NAME = "apim.example.com"
SECURITY = "repository/resources/security"


def target(h: dict[str, Any]) -> HostTarget:
    return HostTarget(
        name=h["name"],
        address=h["address"],
        port=h["ssh_port"],
        user=h["user"],
        key_file=h["key"],
        host_key=h["host_key"],
        connect_timeout=5.0,
    )


def java_home(lab: dict[str, Any]) -> str:
    if lab.get("java_home"):
        return str(lab["java_home"])
    keytool = shutil.which("keytool")
    if keytool is None:
        pytest.skip("keytool (a JDK) is not installed")
    return str(Path(keytool).resolve().parents[1])


def own_dir(h: dict[str, Any], name: str) -> Path:
    """A directory of this test next to the host's home, owned by the host user."""
    user = pwd.getpwnam(h["user"])
    d = Path(posixpath.dirname(h["home"])) / f"cwtest-tls-{TAG}" / name
    d.mkdir(parents=True, exist_ok=True)
    for p in (d.parent, d):
        os.chown(p, user.pw_uid, user.pw_gid)
    return d


def set_security_passwords(t: Transport, home: str) -> None:
    """What the catalog's C5.5 edits do: carbon.xml, axis2.xml and the connector point at the new
    store passwords."""
    path = f"{home}/repository/conf/carbon.xml"
    text = t.read(path).decode()

    def block(tag: str, pw: str, text: str, count: int = 1) -> str:
        def fix(m: re.Match[str]) -> str:
            body = m.group(0).replace("<Password>wso2carbon<", f"<Password>{pw}<")
            return body.replace("<KeyPassword>wso2carbon<", f"<KeyPassword>{pw}<")

        return re.sub(rf"<{tag}>.*?</{tag}>", fix, text, count=count, flags=re.S)

    for tag, pw in (("KeyStore", KS_PW), ("InternalKeyStore", KS_PW), ("TrustStore", TS_PW)):
        text = block(tag, pw, text)
    t.write_atomic(path, text.encode())
    # the pass-through HTTPS listener and sender open them with axis2.xml's passwords
    ax = f"{home}/repository/conf/axis2/axis2.xml"
    text = t.read(ax).decode()
    for tag, pw in (("KeyStore", KS_PW), ("TrustStore", TS_PW)):
        text = block(tag, pw, text, count=0)
    t.write_atomic(ax, text.encode())
    # ...and the HTTPS connector opens the key store with its own keystorePass (C5.5)
    cat = f"{home}/repository/conf/tomcat/catalina-server.xml"
    text = t.read(cat).decode()
    t.write_atomic(
        cat, text.replace('keystorePass="wso2carbon"', f'keystorePass="{KS_PW}"').encode()
    )


def retarget(inputs: dict[str, Any], nodes: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """Point the example plan's upstream servers at the lab nodes (address, offset)."""
    example_offsets: dict[str, int] = {}
    for up in inputs["upstreams"]:
        for s in up["servers"]:
            example_offsets.setdefault(s["address"], 0)
    for i, addr in enumerate(sorted(example_offsets)):
        example_offsets[addr] = i  # the examples give node N offset N-1
    ups = []
    for up in inputs["upstreams"]:
        servers = []
        for s in up["servers"]:
            addr, off = nodes[s["address"]]
            servers.append(
                {**s, "address": addr, "port": s["port"] - example_offsets[s["address"]] + off}
            )
        ups.append({**up, "servers": servers})
    return {**inputs, "upstreams": ups}


def lb_inputs(pattern_id: str, lab: dict[str, Any], nodes: list[tuple[str, int]],
              ssl_dir: str) -> dict[str, Any]:  # fmt: skip
    answers, pattern = parse_answers(example_yaml(pattern_id))
    (step,) = [s for s in plan(answers, pattern).steps if s.kind == "load_balancer"]
    ng = lab["nginx"]
    inputs = retarget(step.inputs, {"192.0.2.11": nodes[0], "192.0.2.12": nodes[1]})
    return {
        **inputs,
        "conf_name": f"cwtest-tls-{TAG}.conf",
        "conf_dir": ng["conf_dir"],
        "command": ng["command"],
        "listen_address": ng["address"],
        "https_port": ng["https_port"],
        "http_port": ng["http_port"],
        "server_name": LB_NAME,
        "cert": f"{ssl_dir}/lb.crt",
        "key": f"{ssl_dir}/lb.key",
    }


def get(lab: dict[str, Any], cafile: Path, path: str) -> tuple[int, str]:
    ctx = ssl.create_default_context(cafile=str(cafile))
    ng = lab["nginx"]
    conn = http.client.HTTPSConnection(ng["address"], ng["https_port"], context=ctx, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("X-Carbon-Node") or ""
    finally:
        conn.close()


@pytest.fixture
def setup(lab: dict[str, Any], tmp_path: Path) -> Iterator[dict[str, Any]]:
    jh = java_home(lab)
    hosts = lab["hosts"]
    lb_host = next(h for h in hosts if h["name"] == lab["nginx"]["host"])
    node_hosts = [lb_host, next(h for h in hosts if h is not lb_host)]
    keystores = tmp_path / "stock"
    pack.make_stock_keystores(keystores, Path(jh))
    homes = []
    for i, h in enumerate(node_hosts):
        user = pwd.getpwnam(h["user"])
        home = pack.install_pack(
            own_dir(h, f"n{i}") / pack.PRODUCT_DIRNAME,
            keystores=keystores,
            boot_delay=0.3,
            owner=(user.pw_uid, user.pw_gid),
        )
        # the stock trust store, with this test's password (files, never argv)
        pws = tmp_path / f"pw{i}"
        pws.mkdir(mode=0o700)
        (pws / "old").write_text("wso2carbon\n")
        (pws / "new").write_text(TS_PW + "\n")
        subprocess.run(
            [f"{jh}/bin/keytool", "-storepasswd", "-keystore",
             str(home / SECURITY / "client-truststore.jks"),
             "-storepass:file", str(pws / "old"), "-new:file", str(pws / "new")],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        homes.append(str(home))
    store = HostKeyStore(tmp_path / "session" / "known_hosts", user_file=None)
    # one connection per plan host, as a run opens them (n0 and lb are one machine)
    plan_hosts = {"n0": node_hosts[0], "n1": node_hosts[1], "lb": lb_host}
    transports = {name: open_transport(target(h), store) for name, h in plan_hosts.items()}
    ssl_dir = str(own_dir(lb_host, "ssl"))
    ctx = RunContext(
        session_id=f"t{TAG}",
        transport=lambda name: transports[name],
        secret=lambda path: SECRETS[path],
        session_dir=str(tmp_path / "session"),
        java_home=jh,
    )
    info = {
        "ctx": ctx,
        "homes": homes,
        "hosts": node_hosts,
        "lb_host": lb_host,
        "ssl_dir": ssl_dir,
        "java_home": jh,
        "session": tmp_path / "session",
        "conf": f"{lab['nginx']['conf_dir']}/cwtest-tls-{TAG}.conf",
    }
    try:
        yield info
    finally:
        for i, home in enumerate(homes):
            ctx.transport(f"n{i}").run(f"{home}/bin/wso2server.sh stop", env={"JAVA_HOME": jh})
        lbt = ctx.transport("lb")
        lbt.run(["rm", "-f", "--", info["conf"], f"{info['conf']}.carbon-wizard-t{TAG}.bak"])
        lbt.run([lab["nginx"]["command"], "-s", "reload"])
        for t in transports.values():
            t.close()
        for h in node_hosts:
            shutil.rmtree(Path(posixpath.dirname(h["home"])) / f"cwtest-tls-{TAG}", True)


def tls_plan(s: dict[str, Any]) -> Plan:
    ks = f"{s['homes'][0]}/{SECURITY}/wso2carbon.jks"
    steps = [
        Step("lb:certificate:lb", "certificate", "lb", "LB cert", {
            "kind": "lb_cert", "cn": LB_NAME, "san": [LB_NAME, s["lb_host"]["address"]],
            "days": 365, "key_bits": 2048, "issuer": "ca",
            "cert": f"{s['ssl_dir']}/lb.crt", "key": f"{s['ssl_dir']}/lb.key",
        }),
        Step("n0:certificate:keystore", "certificate", "n0", "keystore", {
            "kind": "keystore", "keystore": ks, "alias": "wso2carbon", "cn": LB_NAME,
            "days": 825, "key_bits": 2048, "password": "⟦secret:keystore.password⟧",
            "key_password": "⟦secret:keystore.password⟧", "pem": f"{ks}.wso2carbon.pem",
        }),
    ]  # fmt: skip
    for i, home in enumerate(s["homes"]):
        ts = f"{home}/{SECURITY}/client-truststore.jks"
        steps.append(Step(f"n{i}:truststore:keystore", "truststore", f"n{i}", "trust ks", {
            "truststore": ts, "password": "⟦secret:truststore.password⟧", "alias": "cw-node",
            "cert_host": "n0", "cert_path": f"{ks}.wso2carbon.pem",
            "copy_keystore": {"from_host": "n0", "from_path": ks,
                              "to_path": f"{home}/{SECURITY}/wso2carbon.jks"},
        }, depends_on=["n0:certificate:keystore"]))  # fmt: skip
        steps.append(Step(f"n{i}:truststore:lb", "truststore", f"n{i}", "trust lb", {
            "truststore": ts, "password": "⟦secret:truststore.password⟧", "alias": LB_NAME,
            "cert_host": "lb", "cert_path": f"{s['ssl_dir']}/lb.crt",
        }, depends_on=["lb:certificate:lb", f"n{i}:truststore:keystore"]))  # fmt: skip
    return Plan("test", steps)


def start_nodes(s: dict[str, Any]) -> None:
    for i, (home, h) in enumerate(zip(s["homes"], s["hosts"], strict=True)):
        t = s["ctx"].transport(f"n{i}")
        set_security_passwords(t, home)
        env = {"JAVA_HOME": s["java_home"], "CARBON_BIND_ADDRESS": h["address"],
               "CARBON_NODE_NAME": f"node{i}", "CARBON_FAKE_BOOT_DELAY": "0.3"}  # fmt: skip
        t.run(f"{home}/bin/wso2server.sh -DportOffset={OFFSETS[i]} start", env=env).check("start")
    for i, home in enumerate(s["homes"]):
        t = s["ctx"].transport(f"n{i}")
        log = f"{home}/repository/logs/wso2carbon.log"

        def started(t: Transport = t, log: str = log) -> bool:
            return t.exists(log) and b"WSO2 Carbon started in" in t.read(log)

        try:
            poll(started, deadline=60, what=f"node{i} boot")
        except Exception:
            raise AssertionError(t.read(log).decode(errors="replace")[-2000:]) from None


def test_keystores_trust_and_lb_through_real_nginx(
    lab: dict[str, Any], setup: dict[str, Any], cmdline_scanner: Any
):
    s, ctx = setup, setup["ctx"]
    handlers = {**tls.HANDLERS, **lb_steps.HANDLERS}
    canary = f"cw-canary-{TAG}"
    scanner = cmdline_scanner([KS_PW, TS_PW, canary])
    scanner.start()
    # the scanner must see a short process that does carry a marker in its argv
    subprocess.run(["sh", "-c", "sleep 0.3", canary], check=True, timeout=10)
    poll(lambda: scanner.hits, deadline=5, what="the scanner sees the canary")
    assert all(canary in h for h in scanner.hits)
    scanner.hits.clear()
    try:
        t0 = time.monotonic()
        summary = Executor(tls_plan(s), handlers, context=ctx).run()
        first_run = time.monotonic() - t0
        assert summary.failed == 0, [e.render() for e in summary.errors]
        assert summary.changed == 6, summary.line()
        again = Executor(tls_plan(s), handlers, context=ctx).run()
        assert (again.changed, again.unchanged) == (0, 6), again.line()

        # the same .jks on both nodes; both trust stores hold both certificates
        ks_bytes = [ctx.transport(f"n{i}").read(f"{h}/{SECURITY}/wso2carbon.jks")
                    for i, h in enumerate(s["homes"])]  # fmt: skip
        assert ks_bytes[0] == ks_bytes[1]
        for i, home in enumerate(s["homes"]):
            kt = Keytool(ctx.transport(f"n{i}"), s["java_home"])
            aliases = {e.alias: e.kind for e in
                       kt.entries(f"{home}/{SECURITY}/client-truststore.jks", TS_PW)}  # fmt: skip
            assert aliases == {"wso2carbon": "trustedCertEntry", "cw-node": "trustedCertEntry",
                               LB_NAME: "trustedCertEntry"}  # fmt: skip
            bak = f"{home}/{SECURITY}/client-truststore.jks.carbon-wizard-t{TAG}.bak"
            assert ctx.transport(f"n{i}").exists(bak)
        assert oct(ctx.transport("lb").stat(f"{s['ssl_dir']}/lb.key").perm) == oct(0o600)

        # a wrong store password is named as such
        kt0 = Keytool(ctx.transport("n0"), s["java_home"])
        with pytest.raises(WizardError, match="the store password is wrong"):
            kt0.entries(f"{s['homes'][0]}/{SECURITY}/client-truststore.jks", "not-" + TS_PW)

        # a different certificate under a taken alias is an error unless replacing is allowed
        clash = tls_plan(s).step("n1:truststore:lb")
        clash.inputs["cert_path"] = f"{s['homes'][0]}/{SECURITY}/wso2carbon.jks.wso2carbon.pem"
        with pytest.raises(WizardError, match="already trusts another certificate"):
            tls.HANDLERS["truststore"].check(clash, ctx)

        start_nodes(s)
        cafile = s["session"] / "ca" / "ca.crt"
        nodes = [(h["address"], off) for h, off in zip(s["hosts"], OFFSETS, strict=True)]

        # active-passive: /store goes to the active node; the backup takes over when it stops
        ap = Step("lb:load_balancer", "load_balancer", "lb", "nginx",
                  lb_inputs("apim-active-passive", lab, nodes, s["ssl_dir"]))  # fmt: skip
        lbh = lb_steps.HANDLERS["load_balancer"]
        before = lbh.check(ap, ctx)
        assert not before.satisfied and "+upstream allnodes {" in before.diff
        t0 = time.monotonic()
        lbh.apply(ap, ctx)
        install_s = time.monotonic() - t0
        assert lbh.check(ap, ctx).satisfied
        assert lbh.apply(ap, ctx).message.startswith("unchanged")  # same bytes: no reload

        last: list[object] = []

        def answered(path: str, want: str) -> tuple[int, str] | None:
            try:
                r = get(lab, cafile, path)
            except OSError as exc:
                last[:] = [exc]
                return None
            last[:] = [r]
            return r if r == (200, want) or (want == "*" and r[0] == 200) else None

        def wait_for(path: str, want: str, what: str) -> None:
            try:
                poll(lambda: answered(path, want), deadline=20, what=what)
            except Exception:
                err = posixpath.join(posixpath.dirname(lab["nginx"]["conf_dir"]), "logs/error.log")
                tail = ctx.transport("lb").read(err).decode(errors="replace")[-1500:]
                logs = "".join(
                    f"\nnode{i} log:\n"
                    + ctx.transport(f"n{i}")
                    .read(f"{home}/repository/logs/wso2carbon.log")
                    .decode(errors="replace")[-800:]
                    for i, home in enumerate(s["homes"])
                )
                raise AssertionError(
                    f"{what}: last {last}; nginx error.log:\n{tail}{logs}"
                ) from None

        wait_for("/store/", "node0", "LB serves /store/")
        assert {get(lab, cafile, "/store/") for _ in range(6)} == {(200, "node0")}
        with pytest.raises(ssl.SSLCertVerificationError):  # the stock CA store does not trust it
            ng = lab["nginx"]
            conn = http.client.HTTPSConnection(
                ng["address"], ng["https_port"], context=ssl.create_default_context(), timeout=5
            )
            conn.request("GET", "/store/")
        t_stop = time.monotonic()
        ctx.transport("n0").run(
            f"{s['homes'][0]}/bin/wso2server.sh stop", env={"JAVA_HOME": s["java_home"]}
        ).check("stop node0")
        wait_for("/store/", "node1", "backup takes over")
        failover_s = time.monotonic() - t_stop
        assert {get(lab, cafile, "/store/") for _ in range(4)} == {(200, "node1")}

        # ob-apim-cluster: the console upstream is sticky (ip_hash), gateway traffic is not.
        # node0 again: its pid file can outlive it (a zombie answers kill -0), so wait for
        # the shutdown line and drop the pid file before starting.
        n0, log0 = ctx.transport("n0"), f"{s['homes'][0]}/repository/logs/wso2carbon.log"
        poll(lambda: b"Shutdown complete" in n0.read(log0), deadline=20, what="node0 stops")
        n0.run(["rm", "-f", f"{s['homes'][0]}/wso2carbon.pid"]).check("rm pid")
        ctx.transport("n0").run(
            f"{s['homes'][0]}/bin/wso2server.sh -DportOffset={OFFSETS[0]} start",
            env={"JAVA_HOME": s["java_home"], "CARBON_BIND_ADDRESS": s["hosts"][0]["address"],
                 "CARBON_NODE_NAME": "node0", "CARBON_FAKE_BOOT_DELAY": "0.3"},
        ).check("restart node0")  # fmt: skip
        try:
            poll(lambda: n0.read(log0).count(b"WSO2 Carbon started in") == 2, deadline=30,
                 what="node0 boots again")  # fmt: skip
        except Exception:
            raise AssertionError(n0.read(log0).decode(errors="replace")[-3000:]) from None
        ob = Step("lb:load_balancer", "load_balancer", "lb", "nginx",
                  lb_inputs("ob-apim-cluster", lab, nodes, s["ssl_dir"]))  # fmt: skip
        ob.inputs["data"] = {k: v for k, v in ob.inputs["data"].items() if "websocket" not in k}
        change = lbh.check(ob, ctx)
        assert not change.satisfied and "-upstream allnodes {" in change.diff
        assert "+    ip_hash;" in change.diff
        lbh.apply(ob, ctx)
        backup = ctx.transport("lb").read(f"{s['conf']}.carbon-wizard-t{TAG}.bak").decode()
        assert "upstream allnodes {" in backup and "ip_hash" not in backup

        def both_gateways() -> bool:
            seen = set()
            for _ in range(8):
                r = answered("/", "*")
                if r:
                    seen.add(r[1])
            return seen == {"node0", "node1"}

        try:
            poll(both_gateways, deadline=20, what="round robin over both gateways")
        except Exception:
            wait_for("/", "?", "round robin over both gateways")  # raises with the logs
        sticky = {get(lab, cafile, "/carbon/")[1] for _ in range(10)}
        assert len(sticky) == 1 and sticky <= {"node0", "node1"}
    finally:
        scanner.stop.set()
        scanner.join()
    assert scanner.scans > 10
    assert [h for h in scanner.hits if canary not in h] == []
    print(f"\ntls steps first run {first_run:.1f}s, nginx install {install_s:.2f}s, "
          f"failover seen after {failover_s:.2f}s, /proc scans {scanner.scans}")  # fmt: skip
