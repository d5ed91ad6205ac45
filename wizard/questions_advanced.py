"""The "Cluster, start and advanced" page: the answers the product, database, hosts and
certificates pages leave to the model's defaults (database TLS, Hazelcast clustering,
artifact sync, the start, per-node ports and host names). No UI imports here."""

from __future__ import annotations

from typing import Any

from wizard.catalog.model import Pattern
from wizard.questions_base import Page, Question


def advanced_page(pattern: Pattern, data: dict[str, Any]) -> Page:
    """The answers the other pages leave to their defaults: database TLS, clustering,
    file sync, the start, and per-node ports and names."""
    qs = [
        Question(
            "db.tls.mode",
            "Database TLS",
            "choice",
            choices=("disabled", "preferred", "required", "verify"),
            optional=True,
            default="disabled",
        ),
        Question("db.tls.ca", "Database CA file (for verify)", optional=True),
    ]
    if pattern.cluster.enabled:
        qs += [
            Question(
                "cluster.enabled", "Hazelcast clustering", "bool", optional=True, default="yes"
            ),
            Question(
                "cluster.domain", "Cluster domain", optional=True, default=pattern.cluster.domain
            ),
        ]
    if pattern.sync is not None:
        qs += [
            Question(
                "sync.enabled",
                "Sync deployed artifacts (rsync)",
                "bool",
                optional=True,
                default="yes",
            ),
            Question("sync.user", "Sync SSH user", optional=True, help="default: node's SSH user"),
            Question("sync.key", "Sync SSH key file", optional=True),
            Question("sync.dir", "Sync directory", optional=True, help="default: under the home"),
        ]
    qs += [
        Question(
            "start.timeout", "Start timeout per node (s)", "int", optional=True, default="600"
        ),
        Question(
            "start.setup_flag", "First start with -Dsetup", "bool", optional=True, default="no"
        ),
        Question("start.jvm_opts", "JVM options", "list", help="e.g. -Xms1g -Xmx2g", optional=True),
    ]
    clustered = pattern.cluster.enabled
    for i, node in enumerate(data.get("nodes") or []):
        label = str(node.get("name"))
        role = pattern.roles.get(str(node.get("role")))
        qs += [
            Question(
                f"nodes.{i}.offset",
                f"{label}: port offset",
                "int",
                optional=True,
                default=str(role.offset if role else 0),
            ),
            Question(f"nodes.{i}.hostname", f"{label}: public host name", optional=True),
            Question(
                f"nodes.{i}.ssh.sudo",
                f"{label}: sudo for files of another owner",
                "bool",
                optional=True,
                default="no",
            ),
            Question(
                f"nodes.{i}.ssh.sudo_password",
                f"{label}: sudo password",
                "secret",
                optional=True,
                help="blank: sudo must not ask (NOPASSWD)",
            ),
        ]
        if clustered and role is not None and role.cluster:
            qs.append(
                Question(
                    f"nodes.{i}.member_port",
                    f"{label}: Hazelcast port",
                    "int",
                    optional=True,
                    default="4000",
                )
            )
    return Page(
        "advanced",
        "Cluster, start and advanced",
        "Defaults suit most setups: database TLS, clustering, sync, start, node ports.",
        tuple(qs),
    )
