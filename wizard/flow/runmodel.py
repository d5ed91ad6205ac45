"""What a run looks like so far, from the executor's events (pure; both front ends use it):
per-host progress, the step log, node states for the live topology, and the URLs to open."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from wizard.flow import Event
from wizard.plan import Plan

DONE_STATES = ("changed", "unchanged", "would-change", "failed", "skipped")


@dataclass
class RunModel:
    plan: Plan
    done: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)  # node -> waiting|configuring|...
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for s in self.plan.steps:
            self.total[s.host] = self.total.get(s.host, 0) + 1
            self.done.setdefault(s.host, 0)
            if s.kind == "start":
                self.nodes[s.host] = "waiting"

    def update(self, e: Event) -> str | None:
        """Fold one event in; the log line it adds, if any."""
        host = e.step.host
        if host in self.nodes:
            self.nodes[host] = _node_state(self.nodes[host], e)
        if e.state == "running":
            return None
        self.done[host] = self.done.get(host, 0) + 1
        if e.state == "failed":
            self.failed[host] = self.failed.get(host, 0) + 1
        line = f"{time.strftime('%H:%M:%S')} {host:<8} {e.state:<10} {e.step.id}"
        if e.message and e.state not in ("unchanged", "changed"):
            line += f"  {e.message.splitlines()[0]}"
        self.log.append(line)
        return line

    def host_line(self, host: str) -> str:
        bad = f", {self.failed[host]} failed" if self.failed.get(host) else ""
        return f"{host}: {self.done.get(host, 0)}/{self.total.get(host, 0)} steps{bad}"

    def progress_text(self, width: int = 16) -> str:
        """One line per host: a text bar and its step count."""
        lines = []
        for host, total in self.total.items():
            done = self.done.get(host, 0)
            filled = width * done // total if total else width
            bar = "#" * filled + "." * (width - filled)
            bad = f" \u2717{self.failed[host]}" if self.failed.get(host) else ""  # fits 40 cols
            lines.append(f"{host:<8} [{bar}] {done:>3}/{total:<3}{bad}")
        return "\n".join(lines)

    def topology(self, data: dict[str, Any]) -> str:
        """Nodes with their live state, behind the load balancer when there is one."""
        lines = []
        lb = data.get("lb")
        if lb:
            lines.append(f"clients -> NGINX {lb.get('address')}:{lb.get('https_port', 443)}")
        for n in data.get("nodes") or []:
            name = str(n.get("name"))
            state = self.nodes.get(name, "waiting")
            port = 9443 + int(n.get("offset") or 0)
            lines.append(f"  [{state:^11}] {name:<10} {n.get('address')}:{port}")
        db = data.get("db") or {}
        lines.append(f"  MySQL {db.get('host')}:{db.get('port', 3306)}")
        return "\n".join(lines)


def _node_state(current: str, e: Event) -> str:
    kind, state = e.step.kind, e.state
    if state == "failed":
        return "failed"
    if current == "failed":
        return current
    if kind == "start" and state == "running":
        return "starting"
    if kind == "wait" and state in ("changed", "unchanged"):
        return "running"
    if current == "waiting" and state == "running":
        return "configuring"
    return current


def urls(data: dict[str, Any]) -> list[str]:
    """Where to open the deployment: through the load balancer, and each node's console."""
    out = []
    lb = data.get("lb")
    if lb:
        port = int(lb.get("https_port") or 443)
        suffix = "" if port == 443 else f":{port}"
        host = lb.get("hostname") or lb.get("address")
        out += [f"https://{host}{suffix}/carbon", f"https://{host}{suffix}/publisher"]
    for n in data.get("nodes") or []:
        port = 9443 + int(n.get("offset") or 0)
        out.append(f"https://{n.get('address')}:{port}/carbon  ({n.get('name')})")
    return out


def replay_lines(session_path: str, session_id: str) -> list[str]:
    return [
        f"Session saved in {session_path}",
        f"Replay headless: carbon-wizard apply --answers {session_path}/answers.yaml --yes",
        f"Resume this session: carbon-wizard resume {session_id}",
    ]
