"""Answers files for the local lab (``lab.json``, see docs/architecture.md "Lab").

``answers_for_lab(lab, pattern_id)`` returns answers YAML targeting the lab: nodes are
assigned to the lab hosts round-robin, with port offsets and Hazelcast member ports
chosen so that nodes sharing a host do not collide. Secrets are ``file:`` references:
the DB admin password is the lab's own file, the others are files under
``<lab dir>/secrets/`` that the lab creates with :func:`lab_secret_files`.

Names are an admin's, not bare addresses: the load balancer serves a public host name
(``apim.<lab>.test``, ``lb.ip`` is the NGINX address) and the database is reached by an
alias (``db.host`` = ``db.host_alias`` = ``mysql.<lab>.test``, ``db.ip`` the lab DB's
address) wherever the pattern writes that alias into the nodes' hosts files; distributed
nodes get host names too. ``<lab>`` is the lab directory's name, so several labs coexist,
under the reserved ``.test`` TLD (RFC 6761), so no name ever resolves through this
machine's DNS or /etc/hosts: only the lab hosts' own hosts files (``etc-hosts``, edited by
the wizard's hosts_entry steps) know them, and the wizard reaches them by address
(``connect_host``, the probe's ``lb.ip``).
"""

from __future__ import annotations

import posixpath
import re
import secrets as _secrets
from collections.abc import Callable
from typing import Any

import yaml

from wizard.answers.ports import HAZELCAST_DEFAULT_PORT, port_set
from wizard.catalog import load_pattern
from wizard.catalog.model import Pattern

STOCK_TRUSTSTORE_PASSWORD = "wso2carbon"  # the stock client-truststore.jks password (public)
SECRET_NAMES = ("db-app", "carbon-admin", "keystore", "truststore")

# Options the lab sets whatever their default. lb_websocket: NGINX would listen on the
# fixed WebSocket port 9099 (not shifted by any offset), which another lab or node on
# this machine may hold already; the lab's NGINX listens only on the ports it picked.
LAB_OPTIONS: dict[str, Any] = {
    "km_current_endpoint": "localhost:9443"
}  # in the OB pack's in-sequences


LAB_TLD = "test"  # reserved (RFC 6761): never delegated, never resolves through DNS


def lab_domain(lab: dict[str, Any]) -> str:
    """The DNS domain of the lab's names: its directory's name under ``.test``, e.g.
    ``cw-lab-x1y2.test`` for /tmp/cw-lab-x1y2 (unique per lab, so labs coexist)."""
    base = posixpath.basename(str(lab["dir"]).rstrip("/")).lower()
    label = re.sub(r"[^a-z0-9-]+", "-", base).strip("-")[:63].strip("-")
    return f"{label or 'cw-lab'}.{LAB_TLD}"


def lab_names(lab: dict[str, Any]) -> dict[str, str]:
    """The lab's public names: ``lb`` (the NGINX host name) and ``db`` (the DB alias)."""
    domain = lab_domain(lab)
    return {"lb": f"apim.{domain}", "db": f"mysql.{domain}"}


def _hosts_lines(pattern: Pattern) -> str:
    return " ".join(str(e.value) for e in pattern.edits if e.op == "hosts")


def maps_db_alias(pattern: Pattern) -> bool:
    """Whether the pattern writes ``db.host_alias`` into the nodes' hosts files (only then
    can the nodes reach the database by that name)."""
    return "db.host_alias" in _hosts_lines(pattern)


def maps_node_names(pattern: Pattern) -> bool:
    """Whether the pattern writes every node's host name into the nodes' hosts files."""
    return "n.hostname" in _hosts_lines(pattern)


def secret_path(lab: dict[str, Any], name: str) -> str:
    return posixpath.join(lab["dir"], "secrets", f"{name}.password")


def lab_secret_files(lab: dict[str, Any]) -> dict[str, Callable[[], str]]:
    """Path -> generator of the value, for every secret file the lab answers refer to.

    The lab writes each file (mode 0600) once, when it does not exist yet.
    """

    def token() -> str:
        return _secrets.token_urlsafe(18)

    return {
        secret_path(lab, "db-app"): token,
        secret_path(lab, "carbon-admin"): token,
        secret_path(lab, "keystore"): token,
        secret_path(lab, "truststore"): lambda: STOCK_TRUSTSTORE_PASSWORD,
    }


def _slots(pattern: Pattern) -> list[tuple[str, str]]:
    """(node name, role) for the smallest valid set of nodes of the pattern."""
    out: list[tuple[str, str]] = []
    for role in pattern.node_roles:
        count = max(pattern.roles[role].min, 1)
        base = role.replace("_", "-")
        for i in range(count):
            out.append((base if count == 1 else f"{base}{i + 1}", role))
    return out


def _offset(wanted: int, taken: list[set[int]]) -> int:
    cand = wanted
    while any(port_set(cand) & t for t in taken):
        cand += 1
    return cand


def pack_flavour(pattern_id: str) -> str:
    """The product pack a pattern's nodes run: ``ob`` (Open Banking) or ``apim``."""
    return "ob" if pattern_id.startswith("ob-") else "apim"


def lab_nodes(lab: dict[str, Any], pattern_id: str) -> list[dict[str, Any]]:
    """The nodes of the lab answers: name, role, host (lab host name), address, home,
    flavour, offset, member_port, hosts_file. The lab installs a pack of that flavour
    into every ``home``: Open Banking nodes get their own homes (``<host home>-ob``),
    and a second node on a host gets ``<home>-<node name>``."""
    pattern = load_pattern(pattern_id)
    flavour = pack_flavour(pattern_id)
    hosts = lab["hosts"]
    if not hosts:
        raise ValueError("the lab has no hosts")
    taken: dict[str, list[set[int]]] = {}
    members: dict[str, int] = {}
    homes: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for i, (name, role) in enumerate(_slots(pattern)):
        host = hosts[i % len(hosts)]
        t = taken.setdefault(host["address"], [])
        offset = _offset(pattern.roles[role].offset, t)
        t.append(port_set(offset))
        k = homes.get(host["name"], 0)
        homes[host["name"]] = k + 1
        base = host["home"] if flavour == "apim" else f"{host['home']}-{flavour}"
        home = base if k == 0 else f"{base}-{name}"
        member = members.get(host["address"], HAZELCAST_DEFAULT_PORT)
        members[host["address"]] = member + 10
        out.append(
            {
                "name": name,
                "role": role,
                "host": host["name"],
                "address": host["address"],
                "home": home,
                "flavour": flavour,
                "offset": offset,
                "member_port": member,
                # the lab's hosts share this machine's /etc/hosts: each gets its own file
                "hosts_file": posixpath.join(posixpath.dirname(host["home"]), "etc-hosts"),
                "ssh": host,
            }
        )
    return out


def _ssh(host: dict[str, Any]) -> dict[str, Any]:
    ssh: dict[str, Any] = {"user": host["user"], "port": host["ssh_port"], "key": host["key"]}
    if host.get("host_key"):
        ssh["host_key"] = host["host_key"]
    return ssh


def answers_dict(lab: dict[str, Any], pattern_id: str, db_prefix: str = "") -> dict[str, Any]:
    pattern = load_pattern(pattern_id)
    nodes = lab_nodes(lab, pattern_id)
    db = lab["db"]
    names = lab_names(lab)
    user_hosts = list(dict.fromkeys([db["host"], *(n["address"] for n in nodes)]))
    # the nodes reach the DB by its alias where the pattern maps it in their hosts files
    db_host = {"host": db["host"]}
    if maps_db_alias(pattern):
        db_host = {"host": names["db"], "host_alias": names["db"], "ip": db["host"]}
    # nodes known by name too where the pattern maps them (G004: keymanager.<domain>, ...)
    named_nodes = maps_node_names(pattern)
    answers: dict[str, Any] = {
        "pattern": pattern_id,
        "product": {
            "version": pattern.versions[-1],
            "home": nodes[0]["home"],
            "java_home": lab["java_home"],
            "driver_jar": lab["driver_jar"],
        },
        "db": {
            **db_host,
            "port": db["port"],
            "admin_user": db["admin_user"],
            "admin_password": f"file:{db['password_file']}",
            "user": "cwapp",
            "password": f"file:{secret_path(lab, 'db-app')}",
            "user_hosts": user_hosts,
            "databases": {
                key: {"name": f"{db_prefix}{spec.name}"[:64]}
                for key, spec in pattern.databases.items()
            },
        },
        "nodes": [
            {
                "name": n["name"],
                "role": n["role"],
                "address": n["address"],
                "home": n["home"],
                "offset": n["offset"],
                **({"hostname": f"{n['name']}.{lab_domain(lab)}"} if named_nodes else {}),
                "member_port": n["member_port"],
                "hosts_file": n["hosts_file"],
                "ssh": _ssh(n["ssh"]),
            }
            for n in nodes
        ],
        "admin": {"user": "admin", "password": f"file:{secret_path(lab, 'carbon-admin')}"},
        "keystore": {"replace": False, "password": f"file:{secret_path(lab, 'keystore')}"},
        "truststore": {"password": f"file:{secret_path(lab, 'truststore')}"},
    }
    if pattern.lb_role:
        nginx = lab["nginx"]
        lb_host = next((h for h in lab["hosts"] if h["name"] == nginx["host"]), lab["hosts"][0])
        conf_dir = nginx["conf_dir"]
        answers["lb"] = {
            "name": "lb",
            "address": nginx["address"],
            "hostname": names["lb"],
            "ip": nginx["address"],  # what clients reach the name at (the nodes' hosts files)
            "listen_address": nginx["address"],  # several labs share this machine
            "https_port": nginx["https_port"],
            "http_port": nginx["http_port"],
            "ssl_dir": posixpath.join(posixpath.dirname(conf_dir.rstrip("/")), "ssl"),
            "conf_dir": conf_dir,
            "command": nginx["command"],
            "ssh": _ssh(lb_host),
        }
    for name, spec in pattern.options.items():
        if name in LAB_OPTIONS:
            answers.setdefault("options", {})[name] = LAB_OPTIONS[name]
        elif spec.required and spec.default is None:
            answers.setdefault("options", {})[name] = (
                spec.example if spec.example is not None else f"{lab['dir']}/options/{name}"
            )
    return answers


def answers_for_lab(lab: dict[str, Any], pattern_id: str, db_prefix: str = "") -> str:
    """Answers YAML for ``pattern_id`` on the lab described by ``lab`` (lab.json)."""
    header = f"# carbon-wizard lab answers for {pattern_id} (lab {lab['dir']})\n"
    body = yaml.safe_dump(
        answers_dict(lab, pattern_id, db_prefix), sort_keys=False, default_flow_style=False
    )
    return header + body
