"""Planner part for the artifact sync's SSH key (CHECKLIST C7: "manager→worker SSH key
generated/authorized; worker host key pinned in known_hosts").

Where the plan has a ``sync_script`` step (wizard/planning/run.py), the sync source gets
an ``ssh_key`` step (its key: ``sync.key``, else one the wizard makes on that host in the
sync folder, so the private key never leaves it) and every worker an ``authorized_key``
step (that key's public half in the sync user's ``~/.ssh/authorized_keys``). The
``sync_script`` step, which pins the workers' host keys from the wizard's own verified
ones, comes after them: the cron job then logs in with ``BatchMode=yes`` and
``StrictHostKeyChecking=yes`` and no hand step.
"""

from __future__ import annotations

import posixpath

from wizard.plan import fingerprint
from wizard.planning.base import BuilderBase, uniq

KEY_NAME = "id_ed25519"  # the key the wizard makes, in the sync folder


def add_sync_key(b: BuilderBase) -> None:
    sync = next((s for s in b.steps if s.kind == "sync_script"), None)
    spec = b.p.sync
    if sync is None or spec is None:
        return
    source = sync.host
    given = b.a.sync.key
    key = str(given) if given else posixpath.join(sync.inputs["dir"], KEY_NAME)
    if not given:
        sync.inputs["key"] = key
        sync.fingerprint = fingerprint(sync.kind, sync.host, sync.inputs)
    made = b.add(
        f"{source}:ssh_key",
        "ssh_key",
        source,
        f"SSH key {key} for the artifact sync"
        + (" (sync.key: must be there, without a passphrase)" if given else " (made here once)"),
        {"key": key, "generate": not given, "comment": f"carbon-wizard-sync@{source}"},
        list(sync.rows),
        [b.preflight[source]] if source in b.preflight else [],
    )
    authorized = []
    for w in b.nodes_of(spec.workers):
        user = b.a.sync.user or w["ssh"]["user"]
        authorized.append(
            b.add(
                f"{w['name']}:authorized_key",
                "authorized_key",
                w["name"],
                f"authorise {source}'s sync key for {user} (~{user}/.ssh/authorized_keys)",
                {
                    "user": user,
                    "login_user": w["ssh"]["user"],
                    "key_host": source,
                    "key": key,
                    "comment": f"carbon-wizard-sync@{source}",
                },
                list(sync.rows),
                [made, *([b.preflight[w["name"]]] if w["name"] in b.preflight else [])],
            )
        )
    sync.depends_on = uniq([*sync.depends_on, made, *authorized])
    # plan order: the key steps right before the sync step
    keys = b.steps[-1 - len(authorized) :]
    del b.steps[-1 - len(authorized) :]
    at = b.steps.index(sync)
    b.steps[at:at] = keys
