"""The wizard's "test" buttons: the database admin login and every host's SSH login,
before anything is planned or changed (both front ends call these)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from wizard.answers import Answers
from wizard.connectors.hostkeys import (
    CHANGED,
    UNKNOWN,
    UNREACHABLE,
    HostKeyStatus,
    HostKeyStore,
    changed_error,
    pin,
    scan_host_keys,
)
from wizard.connectors.mysql import MySQL, tls_mode
from wizard.connectors.pool import open_transport
from wizard.context import connect_host
from wizard.errors import WizardError
from wizard.runner import Secrets, host_targets
from wizard.secrets import Prompter, resolve

Confirm = Callable[[list[HostKeyStatus]], bool]


def check_database(db: dict[str, Any], prompter: Prompter | None = None) -> str:
    """Log in as the DB admin (answers ``db`` as a mapping, possibly incomplete) and check
    its privileges; a line for the user. Reached where the plan reaches it: ``db.ip``
    when ``db.host`` is an alias only the nodes' hosts files know."""
    password = resolve(str(db.get("admin_password") or ""), "db.admin_password", prompter)
    tls = db.get("tls") or {}
    conn = MySQL(
        connect_host(str(db.get("host")), db.get("host_alias"), db.get("ip")),
        int(db.get("port") or 3306),
        str(db.get("admin_user") or "root"),
        password,
        tls=tls_mode(tls.get("mode")),
        ca=tls.get("ca"),
        connect_timeout=5,
    )
    with conn:
        server = conn.preflight()
    return f"Connected to {server} at {conn.host}:{conn.port} as {conn.user}: privileges OK"


def check_hosts(
    answers: Answers, known_hosts: Path, confirm: Confirm, prompter: Prompter | None = None
) -> str:
    """Scan every host key at once (new ones confirmed in one batch and pinned in
    ``known_hosts``), then log in to each host and run a command. A line per host."""
    targets = list(host_targets(answers, Secrets(answers, prompter)).values())
    store = HostKeyStore(known_hosts, user_file="~/.ssh/known_hosts")
    statuses = scan_host_keys(targets, store)
    for s in statuses:
        if s.state == CHANGED:
            raise changed_error(s)
    unknown = [s for s in statuses if s.state == UNKNOWN]
    lines: list[str] = []
    if unknown:
        if not confirm(unknown):
            return "New host keys were not trusted; nothing was pinned."
        pinned = pin(unknown, store)
        lines.append(f"Pinned {len(pinned)} new host key(s) in the session.")
    down = {s.name: s.error for s in statuses if s.state == UNREACHABLE}
    for t in targets:
        if t.name in down:
            lines.append(f"{t.name:<10} {t.endpoint}: unreachable ({down[t.name]})")
            continue
        try:
            transport = open_transport(t, store)
            try:
                transport.run(["true"], timeout=10).check("a test command", host=t.name)
            finally:
                transport.close()
            lines.append(f"{t.name:<10} {t.endpoint}: OK")
        except WizardError as exc:
            lines.append(f"{t.name:<10} {t.endpoint}: {exc.what}")
    return "\n".join(lines)
