"""Checks that need the pattern or several fields at once.

Each check returns :class:`Problem` items; the loader gathers every problem of a file
into one error, one line each.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from wizard.answers.model import Answers, Node
from wizard.answers.ports import port_set, ports_for
from wizard.catalog.model import Pattern


@dataclass
class Problem:
    path: str
    message: str
    fix: str | None = None
    value: str | None = None
    line: int | None = None

    def render(self) -> str:
        head = f"line {self.line}, " if self.line else ""
        text = f"{head}{self.path or '(top)'}: {self.message}"
        if self.value is not None:
            text += f" (got {self.value})"
        if self.fix:
            text += f"; fix: {self.fix}"
        return text


def node_offset(node: Node, pattern: Pattern) -> int:
    if node.offset is not None:
        return node.offset
    role = pattern.roles.get(node.role)
    return role.offset if role else 0


def check(answers: Answers, pattern: Pattern) -> list[Problem]:
    out: list[Problem] = []
    out += _version(answers, pattern)
    out += _roles(answers, pattern)
    out += _names(answers)
    out += _ports(answers, pattern)
    out += _members(answers, pattern)
    out += _databases(answers, pattern)
    out += _options(answers, pattern)
    out += _required(answers, pattern)
    return out


def _version(a: Answers, p: Pattern) -> list[Problem]:
    if a.product.version in p.versions:
        return []
    return [
        Problem(
            "product.version",
            f"version {a.product.version} is not supported by pattern {p.id}",
            f"use one of: {', '.join(p.versions)}",
        )
    ]


def _roles(a: Answers, p: Pattern) -> list[Problem]:
    out: list[Problem] = []
    node_roles = p.node_roles
    counts = {r: 0 for r in node_roles}
    for i, n in enumerate(a.nodes):
        if n.role not in counts:
            out.append(
                Problem(
                    f"nodes.{i}.role",
                    f"pattern {p.id} has no node role {n.role!r}",
                    f"use one of: {', '.join(node_roles)}",
                    n.role,
                )
            )
        else:
            counts[n.role] += 1
    for r in node_roles:
        spec = p.roles[r]
        have = counts[r]
        if not spec.min <= have <= spec.max:
            want = str(spec.min) if spec.min == spec.max else f"{spec.min} to {spec.max}"
            out.append(
                Problem(
                    "nodes",
                    f"role {r} ({spec.label}) needs {want} node(s), the answers give {have}",
                    f"add or remove nodes with role: {r}",
                )
            )
    if p.lb_role and a.lb is None:
        out.append(Problem("lb", f"pattern {p.id} needs a load balancer", "add an lb: section"))
    if not p.lb_role and a.lb is not None:
        out.append(Problem("lb", f"pattern {p.id} has no load balancer", "remove the lb: section"))
    if a.lb is not None:
        for role in a.lb.hostnames:
            if role not in p.roles:
                out.append(
                    Problem(
                        f"lb.hostnames.{role}",
                        f"pattern {p.id} has no role {role!r}",
                        f"use one of: {', '.join(node_roles)}",
                    )
                )
    return out


def _names(a: Answers) -> list[Problem]:
    out: list[Problem] = []
    seen: dict[str, str] = {}
    for i, n in enumerate(a.nodes):
        if n.name in seen:
            out.append(
                Problem(
                    f"nodes.{i}.name",
                    f"node name {n.name} is used twice (also {seen[n.name]})",
                    "give every node its own name",
                    n.name,
                )
            )
        else:
            seen[n.name] = f"nodes.{i}"
    if a.lb is not None and a.lb.name in seen:
        out.append(
            Problem(
                "lb.name",
                f"load balancer name {a.lb.name} is also a node name",
                "give the load balancer its own name",
                a.lb.name,
            )
        )
    return out


def _ports(a: Answers, p: Pattern) -> list[Problem]:
    out: list[Problem] = []
    for (_, n1), (j, n2) in combinations(enumerate(a.nodes), 2):
        if n1.address != n2.address:
            continue
        o1, o2 = node_offset(n1, p), node_offset(n2, p)
        clash = port_set(o1) & port_set(o2)
        if clash:
            ordered = [(port, name) for name, port in ports_for(o2).items() if port in clash]
            sample = ", ".join(f"{port} ({name})" for port, name in ordered[:3])
            out.append(
                Problem(
                    f"nodes.{j}.offset",
                    f"nodes {n1.name} and {n2.name} share address {n1.address} and "
                    f"their ports collide: {sample}",
                    f"give {n2.name} another offset (e.g. {_free_offset(a, p, j)})",
                    str(o2),
                )
            )
    if a.lb is not None:
        for n in a.nodes:
            if n.address == a.lb.address:
                lb_ports = {a.lb.https_port, a.lb.http_port}
                clash = lb_ports & port_set(node_offset(n, p))
                if clash:
                    out.append(
                        Problem(
                            "lb.https_port",
                            f"load balancer port {min(clash)} collides with node {n.name} "
                            f"on {n.address}",
                            "use another load balancer port or node offset",
                        )
                    )
    return out


def _free_offset(a: Answers, p: Pattern, j: int) -> int:
    taken = [
        port_set(node_offset(n, p))
        for k, n in enumerate(a.nodes)
        if k != j and n.address == a.nodes[j].address
    ]
    for cand in range(0, 1000):
        mine = port_set(cand)
        if all(not (mine & t) for t in taken):
            return cand
    return 0


def _members(a: Answers, p: Pattern) -> list[Problem]:
    if not (a.cluster.enabled and p.cluster.enabled):
        return []
    out: list[Problem] = []
    members = [
        (j, n) for j, n in enumerate(a.nodes) if n.role in p.roles and p.roles[n.role].cluster
    ]
    for (_, n1), (j, n2) in combinations(members, 2):
        h1 = n1.member_host or n1.address
        h2 = n2.member_host or n2.address
        if h1 == h2 and n1.member_port == n2.member_port:
            out.append(
                Problem(
                    f"nodes.{j}.member_port",
                    f"nodes {n1.name} and {n2.name} use the same Hazelcast member "
                    f"{h1}:{n1.member_port} (the member port is not shifted by the offset)",
                    f"give {n2.name} another member_port, e.g. {n1.member_port + 10}",
                    str(n2.member_port),
                )
            )
    return out


def _databases(a: Answers, p: Pattern) -> list[Problem]:
    out: list[Problem] = []
    for key in a.db.databases:
        if key not in p.databases:
            out.append(
                Problem(
                    f"db.databases.{key}",
                    f"pattern {p.id} has no database {key!r}",
                    f"use one of: {', '.join(p.databases) or '(none)'}",
                )
            )
    names: dict[str, str] = {}
    for key, spec in p.databases.items():
        entry = a.db.databases.get(key)
        name = entry.name if entry else spec.name
        if name in names:
            out.append(
                Problem(
                    f"db.databases.{key}.name",
                    f"database name {name} is also used for {names[name]}",
                    "give each database its own name",
                    name,
                )
            )
        names[name] = key
    if a.db.user == a.db.admin_user or a.db.user == "root":
        out.append(
            Problem(
                "db.user",
                "the application must not use the database admin account",
                "create a separate user, e.g. apimuser",
                a.db.user,
            )
        )
    return out


def _options(a: Answers, p: Pattern) -> list[Problem]:
    out: list[Problem] = []
    types = {"str": str, "int": int, "bool": bool, "list": list}
    for name, value in a.options.items():
        spec = p.options.get(name)
        if spec is None:
            out.append(
                Problem(
                    f"options.{name}",
                    f"pattern {p.id} has no option {name!r}",
                    f"known options: {', '.join(p.options) or '(none)'}",
                )
            )
            continue
        want = types[spec.type]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if not ok:
            out.append(
                Problem(
                    f"options.{name}",
                    f"must be of type {spec.type}",
                    spec.help or None,
                    repr(value),
                )
            )
    for name, spec in p.options.items():
        if spec.required and spec.default is None and name not in a.options:
            out.append(Problem(f"options.{name}", "this option is required", spec.help or None))
    return out


def _required(a: Answers, p: Pattern) -> list[Problem]:
    out: list[Problem] = []
    if p.driver is not None and not a.product.driver_jar:
        out.append(
            Problem(
                "product.driver_jar",
                "the JDBC driver jar is needed on every node",
                "give the local path of mysql-connector-java-5.1.x.jar",
            )
        )
    if a.keystore.replace:
        if a.keystore.password is None:
            out.append(
                Problem(
                    "keystore.password",
                    "a new keystore needs a password",
                    "give a reference: env:NAME, file:/path or prompt",
                )
            )
    lb_certs = {c.id for c in p.certificates if c.kind == "lb_cert"}
    trusts_lb = any(t.cert in lb_certs for t in p.trust)
    if (a.keystore.replace or trusts_lb) and a.truststore.password is None:
        out.append(
            Problem(
                "truststore.password",
                "the trust store password is needed to import certificates",
                "give a reference (the stock store password is wso2carbon): "
                "env:NAME, file:/path or prompt",
            )
        )
    return out
