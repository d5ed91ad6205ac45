"""The Jinja2 context that catalog expressions see (documented in catalog/FORMAT.md).

Secrets never enter it: password fields are tokens (``⟦secret:db.password⟧``) that the
executor substitutes at apply time.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from wizard.answers.model import Answers, Node
from wizard.answers.ports import ports_for
from wizard.answers.rules import node_offset
from wizard.catalog.model import Pattern
from wizard.connectors.mysql_checks import ServerInfo
from wizard.secretrefs import token

SECURITY_DIR = "repository/resources/security"


def jdbc_url(host: str, port: int, name: str, public_key: bool = False) -> str:
    """``public_key``: the server's accounts use SHA-256 authentication (MySQL 8), which
    Connector/J without TLS can only use when allowed to fetch the server's public key."""
    extra = "&allowPublicKeyRetrieval=true" if public_key else ""
    return f"jdbc:mysql://{host}:{port}/{name}?autoReconnect=true&useSSL=false{extra}"


def connect_host(host: str, alias: str | None, ip: str | None) -> str:
    """Where the wizard and the preflight reach the database server: a host name that is
    only an alias in the nodes' hosts files (``db.host == db.host_alias``) does not
    resolve here, so ``db.ip``; else ``db.host``."""
    return ip if ip and alias and host == alias else host


def script_variant(answers: Answers, server: ServerInfo | None = None) -> str:
    """The dbscript variant: as answered, else from the server (its version), else the
    one for MySQL 5.7+ and MariaDB 10.2+ (an offline plan)."""
    v = answers.db.script_variant
    if v != "auto":
        return v
    return server.variant if server is not None else "mysql5.7"


def ordered_nodes(answers: Answers, pattern: Pattern) -> list[Node]:
    """Nodes in plan order: by the pattern's role order, then as given in the answers."""
    rank = {r: i for i, r in enumerate(pattern.roles)}
    return sorted(answers.nodes, key=lambda n: rank.get(n.role, len(rank)))


def _node(n: Node, answers: Answers, pattern: Pattern) -> dict[str, Any]:
    offset = node_offset(n, pattern)
    ports = ports_for(offset)
    role = pattern.roles.get(n.role)
    return {
        "name": n.name,
        "role": n.role,
        "address": n.address,
        "home": n.home or answers.product.home,
        "offset": offset,
        "hostname": n.hostname or n.address,
        "has_hostname": n.hostname is not None,
        "member_host": n.member_host or n.address,
        "member_port": n.member_port,
        "hosts_file": n.hosts_file or answers.product.hosts_file,
        "ssh": {"port": n.ssh.port, "user": n.ssh.user, "sudo": n.ssh.sudo},
        "ports": ports,
        "profile": role.profile if role else None,
        "clustered": role.cluster if role else True,
        **ports,
    }


@dataclass
class Contexts:
    """The shared part of the context and the per-node parts."""

    base: dict[str, Any]
    nodes: list[dict[str, Any]]  # in plan order

    def for_node(self, node: dict[str, Any]) -> dict[str, Any]:
        ctx = dict(self.base)
        ctx["node"] = node
        peers = [n for n in self.nodes if n["name"] != node["name"]]
        ctx["peers"] = peers
        if len(self.nodes) == 2:
            ctx["peer"] = peers[0]
        return ctx

    def for_all(self) -> dict[str, Any]:
        """The context of entries that belong to no node (databases, lb, start groups)."""
        return dict(self.base)


def build(answers: Answers, pattern: Pattern, server: ServerInfo | None = None) -> Contexts:
    """``server``: what the database server is (read before planning), if known."""
    nodes = [_node(n, answers, pattern) for n in ordered_nodes(answers, pattern)]
    by_name = {n["name"]: n for n in nodes}
    roles: dict[str, list[dict[str, Any]]] = {r: [] for r in pattern.roles}
    for n in nodes:
        roles.setdefault(n["role"], []).append(n)

    addresses = list(dict.fromkeys(n["address"] for n in nodes))
    db = answers.db
    db_ctx = {
        "host": db.host,
        "port": db.port,
        "user": db.user,
        "password": token("db.password"),
        "admin_user": db.admin_user,
        "user_hosts": list(db.user_hosts) if db.user_hosts else addresses,
        "charset": db.charset,
        "driver_class": answers.product.driver_class,
        "variant": script_variant(answers, server),
        "host_alias": db.host_alias,
        "ip": db.ip,
        "connect_host": connect_host(db.host, db.host_alias, db.ip),
        "tls": db.tls.mode,
        "tls_ca": db.tls.ca,
    }
    dbs: dict[str, dict[str, Any]] = {}
    for key, spec in pattern.databases.items():
        entry = db.databases.get(key)
        name = entry.name if entry else spec.name
        dbs[key] = {
            "key": key,
            "name": name,
            "url": jdbc_url(db.host, db.port, name, server is not None and server.sha2_accounts),
            "jndi": spec.jndi,
            "ds_name": spec.ds_name,
            "user": (entry.user if entry and entry.user else db.user),
            "password": token(
                f"db.databases.{key}.password" if entry and entry.password else "db.password"
            ),
        }

    if answers.lb is not None:
        lb = answers.lb
        lb_ctx: dict[str, Any] = {
            "enabled": True,
            "name": lb.name,
            "address": lb.address,
            "ip": lb.ip or lb.address,
            "hostname": lb.hostname,
            "hostnames": {r: lb.hostnames.get(r, lb.hostname) for r in pattern.roles},
            "https_port": lb.https_port,
            "http_port": lb.http_port,
            "ssl_dir": lb.ssl_dir,
            "cert_name": lb.cert_name,
            "key_name": lb.key_name,
            "cert": posixpath.join(lb.ssl_dir, lb.cert_name),
            "key": posixpath.join(lb.ssl_dir, lb.key_name),
            "conf_dir": lb.conf_dir,
            "command": lb.command,
            "ssh": {"port": lb.ssh.port, "user": lb.ssh.user, "sudo": lb.ssh.sudo},
        }
    else:
        lb_ctx = {"enabled": False}

    ks = answers.keystore
    first = nodes[0] if nodes else None
    keystore = {
        "replace": ks.replace,
        "file": ks.file,
        "path": f"{SECURITY_DIR}/{ks.file}",
        "alias": ks.alias,
        "password": token("keystore.password"),
        "key_password": token("keystore.key_password" if ks.key_password else "keystore.password"),
        "cn": ks.cn
        or (answers.lb.hostname if answers.lb else (first["hostname"] if first else "localhost")),
        "days": ks.days,
    }
    ts = answers.truststore
    truststore = {
        "file": ts.file,
        "path": f"{SECURITY_DIR}/{ts.file}",
        "password": token("truststore.password"),
    }
    options = {
        name: answers.options.get(name, spec.default) for name, spec in pattern.options.items()
    }
    base: dict[str, Any] = {
        "pattern": {"id": pattern.id, "title": pattern.title},
        "nodes": by_name,
        "nodes_list": nodes,
        "roles": roles,
        "db": db_ctx,
        "dbs": dbs,
        "lb": lb_ctx,
        "admin": {
            "user": answers.admin.user,
            "password": token("admin.password"),
            "password_url": token("admin.password", "url"),
        },
        "cluster": {
            "enabled": answers.cluster.enabled and pattern.cluster.enabled,
            "domain": answers.cluster.domain or pattern.cluster.domain,
        },
        "keystore": keystore,
        "truststore": truststore,
        "sync": {
            "enabled": answers.sync.enabled,
            "user": answers.sync.user,
            "key": answers.sync.key,
            "dir": answers.sync.dir,
        },
        "start": {
            "setup_flag": answers.start.setup_flag,
            "jvm_opts": list(answers.start.jvm_opts),
            "timeout": answers.start.timeout,
        },
        "product": {
            "version": answers.product.version,
            "home": answers.product.home,
            "java_home": answers.product.java_home,
            "driver_jar": answers.product.driver_jar,
            "driver_class": answers.product.driver_class,
        },
        "opt": options,
        "answers": answers.model_dump(mode="json"),
    }
    return Contexts(base, nodes)
