"""Reading the local lab for the front ends (blocking: call from a worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard.lab import labctl


def lab_dir(explicit: Path | None) -> Path:
    return explicit or labctl.default_dir()


def lab_status(explicit: Path | None) -> dict[str, Any] | None:
    """The lab's status dict, or None when no lab is set up."""
    try:
        return labctl.status(lab_dir(explicit))
    except Exception:  # a damaged lab file reads as "no lab" here; `lab status` explains
        return None


def summary(status: dict[str, Any] | None) -> str:
    if not status:
        return "No local lab is running. Start one with: carbon-wizard lab up"
    hosts = status.get("hosts", [])
    healthy = status.get("healthy", False)
    db = status.get("db", {})
    state = "ready" if healthy else "NOT healthy (see: carbon-wizard lab status)"
    return (
        f"Local lab {state}: {len(hosts)} hosts "
        f"({', '.join(h['address'] for h in hosts)}), "
        f"{db.get('flavour', 'db')} on {db.get('host')}:{db.get('port')}"
    )
