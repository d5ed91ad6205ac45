"""``status``: how a saved setup is doing right now, read-only, from its plan.

Per node (its wait step): the process, the ports, the log's started line of its last
start (or the first fatal line), the cluster members as the nodes' logs report them;
per load balancer probe and public host name: whether NGINX answers; per database:
whether the application user gets in. Nothing is changed anywhere.
"""

from __future__ import annotations

import re
import socket
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from wizard.connectors.mysql import MySQL, tls_mode
from wizard.connectors.parallel import run_per_host
from wizard.errors import WizardError
from wizard.executor import RunContext
from wizard.flow.model import Prepared
from wizard.plan import Plan, Step
from wizard.secretrefs import has_token, substitute
from wizard.secrets import Secret
from wizard.steps import nodelog
from wizard.steps.httpget import http_status
from wizard.steps.nodes import _state

if TYPE_CHECKING:
    from wizard.flow.run import Flow

_JOINED = re.compile(r"Member joined \[([0-9a-fA-F-]+)\]")
_LEFT = re.compile(r"Member left \[([0-9a-fA-F-]+)\]")


@dataclass
class NodeHealth:
    node: str
    address: str
    running: bool = False
    started: bool = False
    ports: dict[str, bool] = field(default_factory=dict)
    console: bool | None = None
    fatal: str = ""
    member: str = ""  # its Hazelcast uuid in this start
    members: int = 0  # cluster members it is connected with, itself included
    expected_members: int = 0
    problems: list[str] = field(default_factory=list)
    joined: set[str] = field(default_factory=set, repr=False)  # uuids its log says joined

    @property
    def healthy(self) -> bool:
        return not self.problems


@dataclass
class Check:
    what: str
    ok: bool
    detail: str = ""


@dataclass
class Status:
    nodes: list[NodeHealth] = field(default_factory=list)
    load_balancer: list[Check] = field(default_factory=list)
    databases: list[Check] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(n.healthy for n in self.nodes) and all(
            c.ok for c in [*self.load_balancer, *self.databases]
        )

    def to_dict(self) -> dict[str, Any]:
        nodes = []
        for n in self.nodes:
            d = asdict(n)
            d.pop("joined")
            d["healthy"] = n.healthy
            nodes.append(d)
        return {
            "healthy": self.healthy,
            "nodes": nodes,
            "load_balancer": [asdict(c) for c in self.load_balancer],
            "databases": [asdict(c) for c in self.databases],
        }

    def table(self) -> str:
        lines = [f"{'node':<12} {'process':<8} {'started':<8} {'ports':<22} {'cluster':<8} state"]
        for n in self.nodes:
            ports = " ".join(f"{k}{'' if v else '!'}" for k, v in n.ports.items()) or "-"
            cluster = f"{n.members}/{n.expected_members}" if n.expected_members > 1 else "-"
            state = "ok" if n.healthy else "; ".join(n.problems)
            lines.append(
                f"{n.node:<12} {'up' if n.running else 'down':<8} "
                f"{'yes' if n.started else 'no':<8} {ports:<22} {cluster:<8} {state}"
            )
        for title, checks in (("load balancer", self.load_balancer), ("databases", self.databases)):
            if checks:
                lines.append(f"\n{title}:")
                lines += [
                    f"  {'ok ' if c.ok else 'BAD'} {c.what}  {c.detail}".rstrip() for c in checks
                ]
        lines.append(f"\n{'healthy' if self.healthy else 'NOT healthy'}")
        return "\n".join(lines) + "\n"


def _node(step: Step, ctx: RunContext) -> NodeHealth:
    i = step.inputs
    health = NodeHealth(step.host, str(i.get("address", "")))
    health.running, _ = _state(step, ctx)
    if not health.running:
        health.problems.append("process not running")
        return health
    text = nodelog.read(ctx.transport(step.host), i["log"], None)  # since its last start
    health.started = i["marker"] in text
    fatal = nodelog.first_fatal(text)
    if fatal is not None:
        health.fatal = fatal.line
        health.problems.append(f"fatal: {fatal.line[-160:]}")
    elif not health.started:
        health.problems.append("no started line since its last start")
    for name, port in i.get("ports", {}).items():
        try:
            socket.create_connection((health.address, port), timeout=2).close()
            health.ports[name] = True
        except OSError:
            health.ports[name] = False
            health.problems.append(f"{name} port {port} closed")
    if i.get("console_url"):
        health.console = http_status(i["console_url"]) == 200
        if not health.console:
            health.problems.append("management console does not answer 200")
    health.member = nodelog.local_member(text) or ""
    left = set(_LEFT.findall(text))
    health.joined = {u for u in _JOINED.findall(text) if u not in left}
    return health


def _cluster(nodes: list[NodeHealth], expected: dict[str, int]) -> None:
    """Members as the logs report them: a node is connected with another when either's
    log (since its start) says the other joined (only members already running log a
    newcomer, so both sides are read)."""
    by_uuid = {n.member: n for n in nodes if n.member and n.running}
    for n in nodes:
        n.expected_members = expected.get(n.node, 0)
        if not n.member or n.expected_members < 2:
            continue
        peers = {u for u in n.joined if u in by_uuid}
        peers |= {m.member for m in by_uuid.values() if n.member in m.joined}
        peers.discard(n.member)
        n.members = 1 + len(peers)
        if n.members < n.expected_members:
            n.problems.append(f"cluster: {n.members} of {n.expected_members} members")


def _database(step: Step, ctx: RunContext) -> Check:
    i = step.inputs
    server = i["server"]
    what = f"{i['name']} as {i['user']} at {server['host']}:{server['port']}"
    try:
        raw = i["password"]
        password = substitute(raw, ctx.secret) if has_token(raw) else raw
    except WizardError as exc:
        return Check(what, False, f"password not available: {exc.what}")
    db = MySQL(
        server["host"],
        server["port"],
        i["user"],
        Secret(password),
        tls=tls_mode(server.get("tls")),
        ca=server.get("ca"),
        connect_timeout=5,
    )
    try:
        with db:
            db.query("SELECT 1 FROM information_schema.schemata WHERE schema_name=%s", (i["name"],))
    except WizardError as exc:
        if "Access denied" in exc.what and "@" in exc.what:
            return Check(what, True, "server reachable; this machine is not one the user may "
                         "log in from (the nodes are)")  # fmt: skip
        return Check(what, False, exc.what)
    return Check(what, True, "login ok")


def status(flow: Flow, prepared: Prepared) -> Status:
    """The health of the session's deployment (read-only)."""
    saved = flow.session.load_plan()
    plan = Plan.from_dict(saved) if saved else prepared.plan
    waits = [s for s in plan.steps if s.kind == "wait" and "log" in s.inputs]
    probes = [s for s in plan.steps if s.kind == "wait" and "url" in s.inputs]
    databases = [s for s in plan.steps if s.kind == "database"]
    result = Status()
    with flow._runner(Prepared(prepared.answers, prepared.pattern, plan)) as runner:
        runner.verify_host_keys(accept_new=flow.accept_new_keys, confirm=flow.hooks.confirm_keys)
        ctx = runner.context(check_mode=True)
        found = run_per_host(
            [s.id for s in waits],
            lambda sid: _node(plan.step(sid), ctx),
            parallelism=flow.parallelism,
        )
        for s in waits:
            got = found[s.id]
            if isinstance(got, BaseException):
                got = NodeHealth(s.host, str(s.inputs.get("address", "")), problems=[str(got)])
            result.nodes.append(got)
        _cluster(result.nodes, _expected_members(prepared))
        for url, resolve in _lb_checks(prepared, probes):
            code = http_status(url, False, resolve)
            ok = code is not None and code < 500
            result.load_balancer.append(
                Check(url, ok, f"answers {code}" if code else "does not answer")
            )
        for d in databases:
            result.databases.append(_database(d, ctx))
    return result


def _expected_members(prepared: Prepared) -> dict[str, int]:
    """Node -> the members its cluster should have (clustered roles only)."""
    a, p = prepared.answers, prepared.pattern
    if not (a.cluster.enabled and p.cluster.enabled):
        return {}
    members = [n.name for n in a.nodes if (r := p.roles.get(n.role)) is not None and r.cluster]
    return {n: len(members) for n in members} if len(members) > 1 else {}


def _lb_checks(prepared: Prepared, probes: list[Step]) -> list[tuple[str, dict[str, str]]]:
    """(URL, name -> address pins) for the plan's probes through the LB and for every
    public host name the LB serves (reached at lb.ip, the name as Host and SNI)."""
    out: dict[str, dict[str, str]] = {
        p.inputs["url"]: dict(p.inputs.get("resolve") or {}) for p in probes
    }
    lb = prepared.answers.lb
    if lb is not None:
        ip = lb.ip or lb.address
        port = "" if lb.https_port == 443 else f":{lb.https_port}"
        for name in dict.fromkeys([lb.hostname, *lb.hostnames.values()]):
            pins = {name: ip} if name != ip else {}
            out.setdefault(f"https://{name}{port}/carbon/", pins)
    return list(out.items())
