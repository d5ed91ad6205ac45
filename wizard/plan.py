"""A plan: the ordered graph of steps the executor carries out.

Plans hold no secret values, only tokens (``wizard.secretrefs``). The same answers give
a byte-identical ``to_json()``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wizard.critical import CriticalPath, critical_path
from wizard.secretrefs import paths_in as token_paths_in

STEP_KINDS = (
    "pack",  # product.pack: upload, verify and unpack a missing home (wizard/steps/pack.py)
    "preflight",
    "profile",
    "database",
    "dbscript",
    "driver",
    "file_edit",
    "certificate",
    "truststore",
    "load_balancer",
    "hosts_entry",
    "symlink",
    "ssh_key",  # the sync source's SSH key (wizard/steps/synckey.py)
    "authorized_key",  # ... authorised for the sync user on a worker
    "sync_script",
    "start",
    "wait",
    "vault",  # Secure Vault: cipher-text.properties, secret-conf.properties (wizard/steps/vault.py)
)
# words that name several step kinds (``apply --only files``, the Ansible export's tags)
KIND_GROUPS: dict[str, tuple[str, ...]] = {
    "files": ("pack", "file_edit", "hosts_entry", "vault"),
    "db": ("database", "dbscript"),
    "databases": ("database", "dbscript"),
    "certs": ("certificate", "truststore"),
    "lb": ("load_balancer",),
    "nodes": ("start", "wait"),
    "sync": ("ssh_key", "authorized_key", "sync_script"),
}


def kind_tags(kind: str) -> tuple[str, ...]:
    """The group words a step kind belongs to (``files`` for file_edit...)."""
    return tuple(g for g, kinds in KIND_GROUPS.items() if kind in kinds and g != "databases")


# the steps of a rollback (wizard/undo.py): they put back what a session changed
UNDO_KINDS = (
    "stop_node",
    "restore_file",
    "restore_link",
    "remove_cron",
    "reload_lb",
    "drop_database",
    "remove_home",  # a home a pack step unpacked (wizard/steps/pack.py)
)


# steps run from the wizard's machine on the database server (plan host ``db``)
DB_KINDS = ("database", "dbscript", "drop_database")


def lane(step: Step) -> str:
    """The queue a step waits in: the steps of one lane run one at a time (they share a
    connection, a host's SSH session). Database work runs from the wizard's machine with
    one admin connection per database: each database is a lane of its own, so one
    database's dbscript does not wait for another's."""
    if step.host == "db" and step.kind in DB_KINDS:
        name = step.inputs.get("database") or step.inputs.get("name")
        if name:
            return f"db:{name}"
    return step.host


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(kind: str, host: str, inputs: dict[str, Any]) -> str:
    blob = canonical_json({"kind": kind, "host": host, "inputs": inputs})
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class Step:
    id: str
    kind: str
    host: str
    description: str
    inputs: dict[str, Any]
    rows: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if self.kind not in STEP_KINDS and self.kind not in UNDO_KINDS:
            raise ValueError(f"unknown step kind {self.kind!r}")
        if not self.fingerprint:
            self.fingerprint = fingerprint(self.kind, self.host, self.inputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "host": self.host,
            "description": self.description,
            "depends_on": list(self.depends_on),
            "fingerprint": self.fingerprint,
            "rows": list(self.rows),
            "inputs": self.inputs,
        }


@dataclass
class Plan:
    pattern: str
    steps: list[Step]
    # node -> database key -> where its datasource is (file, name, jndi, how)
    layout: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    # host -> what the plan found on it and leaves as is, for the admin to read
    notes: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The steps: what a session keeps and replays (``layout`` and ``notes`` describe
        the homes at planning time and are not part of it; see :meth:`report`)."""
        return {"pattern": self.pattern, "steps": [s.to_dict() for s in self.steps]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """A plan as :meth:`to_dict` wrote it (a session's plan.json)."""
        steps = [
            Step(
                s["id"],
                s["kind"],
                s["host"],
                s["description"],
                s["inputs"],
                list(s.get("rows", [])),
                list(s.get("depends_on", [])),
                s.get("fingerprint", ""),
            )
            for s in data.get("steps", [])
        ]
        return cls(str(data["pattern"]), steps)

    def report(self, durations: Mapping[str, float] | None = None) -> dict[str, Any]:
        """Where each database lands per node, what was found and left as is, and the
        critical path (``durations``: seconds an earlier run journaled per step)."""
        return {
            "layout": self.layout,
            "notes": self.notes,
            "critical_path": self.critical_path(durations).to_dict(),
        }

    def critical_path(self, durations: Mapping[str, float] | None = None) -> CriticalPath:
        """The heaviest chain of dependent steps (see :mod:`wizard.critical`)."""
        return critical_path(self, durations)

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON, one step per line (json's C encoder: ``indent=`` takes
        its pure-Python one, ~10x slower on a plan of 16 nodes)."""
        steps = ",\n".join(
            json.dumps(s.to_dict(), ensure_ascii=False, separators=(", ", ": ")) for s in self.steps
        )
        pattern = json.dumps(self.pattern, ensure_ascii=False)
        return f'{{"pattern": {pattern}, "steps": [\n{steps}\n]}}\n'

    def secret_paths(self) -> list[str]:
        """The answer paths of the secret tokens in the steps (description, rows, inputs),
        in plan order, without repeats: those :meth:`to_json` holds, without writing it."""
        return token_paths_in([(s.description, s.rows, s.inputs) for s in self.steps])

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def hosts(self) -> list[str]:
        return list(dict.fromkeys(s.host for s in self.steps))

    def rows(self) -> set[str]:
        return {r for s in self.steps for r in s.rows}

    def render_text(self) -> str:
        """The plan grouped by host, each host's steps in plan order."""
        index = {s.id: i + 1 for i, s in enumerate(self.steps)}
        lines = [f"Plan for pattern {self.pattern}: {len(self.steps)} steps"]
        for host in self.hosts():
            lines.append("")
            lines.append(f"[{host}]")
            lines.extend(f"  note: {n}" for n in self.notes.get(host, []))
            for s in self.steps:
                if s.host != host:
                    continue
                after = ", ".join(str(index[d]) for d in s.depends_on)
                rows = f"  ({', '.join(s.rows)})" if s.rows else ""
                lines.append(f"  {index[s.id]:>3}. {s.kind:<13} {s.description}{rows}")
                if after:
                    lines.append(f"       after: {after}")
                if s.kind in ("file_edit", "hosts_entry"):
                    for e in s.inputs.get("edits", []):
                        lines.append(f"       - {_edit_line(e)}")
        return "\n".join(lines) + "\n"


def _edit_line(e: dict[str, Any]) -> str:
    target = e.get("locator") or e.get("parent") or ""
    if e.get("attr"):
        target += f"/@{e['attr']}"
    value = e.get("value")
    if isinstance(value, str):
        shown = value if len(value) <= 70 else value[:67] + "..."
    elif value is None:
        shown = ""
    else:
        shown = canonical_json(value)
        shown = shown if len(shown) <= 70 else shown[:67] + "..."
    return f"{e['op']} {target} = {shown}".rstrip(" =")
