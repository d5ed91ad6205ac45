"""Adding and removing nodes of a role whose node count is a range (``count: {min, max}``
in the pattern), on the answers being collected (a plain dict, see
:class:`wizard.questions.draft.Draft`). A new node gets a unique valid name and, when it shares
an address with other nodes, a port offset and Hazelcast member port that do not collide,
so a valid draft stays valid.

No UI imports here: both front ends call these through the Draft.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from wizard.answers.ports import HAZELCAST_DEFAULT_PORT, MAX_OFFSET, port_set
from wizard.catalog.model import Pattern
from wizard.errors import Where, WizardError

RESERVED_NAMES = frozenset({"db", "all", "local"})
MAX_NAME = 32
# what a copied node keeps from the node it is copied from
_COPIED = ("address", "ssh", "home", "hosts_file", "member_host")


def nodes_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = data.get("nodes")
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def counts(pattern: Pattern, data: dict[str, Any]) -> dict[str, int]:
    """Nodes per node role of the pattern (roles with no node count 0)."""
    out = {r: 0 for r in pattern.node_roles}
    for n in nodes_of(data):
        role = str(n.get("role"))
        if role in out:
            out[role] += 1
    return out


def ranged_roles(pattern: Pattern) -> list[str]:
    """Node roles whose count is a range: the admin chooses how many."""
    return [r for r in pattern.node_roles if pattern.roles[r].min != pattern.roles[r].max]


def can_grow(pattern: Pattern, data: dict[str, Any]) -> list[str]:
    """Roles that can take one more node (below their maximum)."""
    have = counts(pattern, data)
    return [r for r in ranged_roles(pattern) if have[r] < pattern.roles[r].max]


def can_shrink(pattern: Pattern, data: dict[str, Any]) -> list[str]:
    """Roles that can lose a node (above their minimum, and not the last node)."""
    have = counts(pattern, data)
    if len(nodes_of(data)) <= 1:
        return []
    return [r for r in ranged_roles(pattern) if have[r] > pattern.roles[r].min]


def _base_name(role: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", role.lower()).strip("-") or "node"
    if not base[0].isalpha():
        base = "n-" + base
    return base


def unique_name(role: str, taken: set[str]) -> str:
    """``role``, else ``role-2``, ``role-3``...: a valid node name not in ``taken``."""
    base = _base_name(role)
    for i in range(1, 10_000):
        suffix = "" if i == 1 else f"-{i}"
        name = base[: MAX_NAME - len(suffix)].rstrip("-") + suffix
        if name not in taken and name not in RESERVED_NAMES:
            return name
    raise WizardError(f"no free node name for role {role}")  # pragma: no cover


def _offset(n: dict[str, Any], pattern: Pattern) -> int:
    value = n.get("offset")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    role = pattern.roles.get(str(n.get("role")))
    return role.offset if role else 0


def free_offset(pattern: Pattern, data: dict[str, Any], address: Any, start: int) -> int:
    """The first offset from ``start`` whose ports collide with nothing at ``address``."""
    taken = [port_set(_offset(n, pattern)) for n in nodes_of(data) if n.get("address") == address]
    lb = data.get("lb")
    lb_ports: set[int] = set()
    if isinstance(lb, dict) and lb.get("address") == address:
        lb_ports = {p for p in (lb.get("https_port", 443), lb.get("http_port", 80)) if p}
    for cand in range(start, MAX_OFFSET + 1):
        mine = port_set(cand)
        if not (mine & lb_ports) and all(not (mine & t) for t in taken):
            return cand
    raise WizardError(f"no free port offset left on {address}")  # pragma: no cover


def _clustered(pattern: Pattern, data: dict[str, Any], role: str) -> bool:
    cluster = data.get("cluster")
    enabled = cluster.get("enabled", True) if isinstance(cluster, dict) else True
    return bool(enabled) and pattern.cluster.enabled and pattern.roles[role].cluster


def free_member_port(pattern: Pattern, data: dict[str, Any], host: Any, start: int) -> int:
    """A Hazelcast member port from ``start`` (step 10) unused by members on ``host``."""
    used = {
        n.get("member_port", HAZELCAST_DEFAULT_PORT)
        for n in nodes_of(data)
        if (n.get("member_host") or n.get("address")) == host
        and str(n.get("role")) in pattern.roles
        and _clustered(pattern, data, str(n.get("role")))
    }
    port = start
    while port in used:
        port += 10
    return port


def add_node(pattern: Pattern, data: dict[str, Any], role: str) -> int:
    """Add one node of ``role`` (a copy of its last node: same host, free ports) right
    after that role's last node; returns the new node's index in ``data["nodes"]``."""
    spec = pattern.roles.get(role)
    if spec is None or spec.kind != "node":
        raise WizardError(
            f"pattern {pattern.id} has no node role {role!r}",
            Where(field="nodes"),
            fix=f"use one of: {', '.join(pattern.node_roles)}",
        )
    have = counts(pattern, data)[role]
    if have >= spec.max:
        raise WizardError(
            f"role {role} ({spec.label}) has its maximum of {spec.max} node(s)",
            Where(field="nodes"),
            fix="remove a node of this role first, or keep the ones you have",
        )
    nodes = data.setdefault("nodes", [])
    same = [i for i, n in enumerate(nodes) if isinstance(n, dict) and n.get("role") == role]
    source = nodes[same[-1]] if same else (nodes_of(data) or [{}])[-1]
    node: dict[str, Any] = {"name": unique_name(role, _names(data)), "role": role}
    for key in _COPIED:
        if key in source:
            node[key] = copy.deepcopy(source[key])
    node.setdefault("address", "192.0.2.1")
    node.setdefault("ssh", {"user": "wso2", "port": 22})
    node["offset"] = free_offset(pattern, data, node["address"], spec.offset)
    if _clustered(pattern, data, role):
        start = source.get("member_port", HAZELCAST_DEFAULT_PORT)
        node["member_port"] = free_member_port(
            pattern, data, node.get("member_host") or node["address"], start
        )
    at = same[-1] + 1 if same else len(nodes)
    nodes.insert(at, node)
    return at


def remove_node(pattern: Pattern, data: dict[str, Any], name: str) -> int:
    """Remove the node called ``name``; returns the index it had. Refused (a
    :class:`WizardError`) when its role would fall below its minimum."""
    found = data.get("nodes")
    nodes: list[Any] = found if isinstance(found, list) else []
    index = next(
        (i for i, n in enumerate(nodes) if isinstance(n, dict) and n.get("name") == name), None
    )
    if index is None:
        raise WizardError(f"there is no node called {name}", Where(field="nodes"))
    role = str(nodes[index].get("role"))
    if role not in can_shrink(pattern, data):
        spec = pattern.roles.get(role)
        least = spec.min if spec else 1
        label = f" ({spec.label})" if spec else ""
        raise WizardError(
            f"role {role}{label} needs at least {least} node(s): {name} cannot be removed",
            Where(field="nodes"),
            fix="change this node's answers instead",
        )
    del nodes[index]
    return index


def _names(data: dict[str, Any]) -> set[str]:
    names = {str(n.get("name")) for n in nodes_of(data)}
    lb = data.get("lb")
    if isinstance(lb, dict):
        names.add(str(lb.get("name", "lb")))
    return names
