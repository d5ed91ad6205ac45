"""The "Cluster, start and advanced" page: the answers the product, database, hosts and
certificates pages leave to the model's defaults (database TLS, Hazelcast clustering,
artifact sync, the start, per-node ports and host names). No UI imports here."""

from __future__ import annotations

from typing import Any

from wizard.catalog.model import Pattern
from wizard.questions.base import Page
from wizard.questions.model import ask


def advanced_page(pattern: Pattern, data: dict[str, Any]) -> Page:
    """The answers the other pages leave to their defaults: database TLS, clustering,
    file sync, the start, and per-node ports and names."""
    qs = [ask("db.tls.mode"), ask("db.tls.ca")]
    if pattern.cluster.enabled:
        qs += [ask("cluster.enabled"), ask("cluster.domain", default=pattern.cluster.domain)]
    if pattern.sync is not None:
        qs += [ask("sync.enabled"), ask("sync.user"), ask("sync.key"), ask("sync.dir")]
    qs += [ask("start.timeout"), ask("start.setup_flag"), ask("start.jvm_opts")]
    qs.append(ask("product.secure_vault"))
    clustered = pattern.cluster.enabled
    for i, node in enumerate(data.get("nodes") or []):
        prefix = f"{node.get('name')}: "
        role = pattern.roles.get(str(node.get("role")))
        qs += [
            ask(f"nodes.{i}.offset", prefix=prefix, default=str(role.offset if role else 0)),
            ask(f"nodes.{i}.hostname", prefix=prefix),
            ask(f"nodes.{i}.ssh.sudo", prefix=prefix),
            ask(f"nodes.{i}.ssh.sudo_password", prefix=prefix),
        ]
        if clustered and role is not None and role.cluster:
            qs.append(ask(f"nodes.{i}.member_port", prefix=prefix))
    return Page(
        "advanced",
        "Cluster, start and advanced",
        "Defaults suit most setups: database TLS, clustering, sync, start, node ports.",
        tuple(qs),
    )
