"""``sync_script`` step: rsync artifact sync from the manager node to its workers, run by
cron (CHECKLIST C7, with the guide's script bugs fixed: bash, ``mkdir -p``, the trap set
only once the lock is won, one file name for script and cron, worker host keys pinned)."""

from __future__ import annotations

import base64
import posixpath
import shlex
from typing import Any

from wizard.errors import step_failed
from wizard.executor import Outcome, RunContext
from wizard.plan import Step
from wizard.templating import render_file

MARK = "# carbon-wizard sync"


def _files(step: Step, ctx: RunContext) -> dict[str, tuple[bytes, int]]:
    i = step.inputs
    known_hosts = posixpath.join(i["dir"], "known_hosts")
    script = render_file(
        "sync/rsync-for-carbon-depsync.sh.j2",
        {**i, "known_hosts": known_hosts, "exclude": i.get("exclude") or []},
    )
    ports = i.get("worker_ports") or [22] * len(i["workers"])
    workers = "".join(f"{w} {p}\n" for w, p in zip(i["workers"], ports, strict=False))
    return {
        i["script"]: (script.encode(), 0o755),
        i["workers_file"]: (workers.encode(), 0o644),
        known_hosts: (_known_hosts(i, ports, ctx).encode(), 0o644),
    }


def _known_hosts(i: dict[str, Any], ports: list[int], ctx: RunContext) -> str:
    """The workers' host keys as this run verified them (never StrictHostKeyChecking=no)."""
    store = ctx.hostkeys
    lines = []
    for worker, port in zip(i["workers"], ports, strict=False):
        address = worker.split("@", 1)[-1].split(":", 1)[0]
        name = address if int(port) == 22 else f"[{address}]:{port}"
        keys = [
            f"{k.key_type} {base64.b64encode(k.blob).decode()}"
            for k in (store.lookup(address, int(port)) if store is not None else [])
            if k.key_type and k.blob and not k.marker
        ] or _pinned(ctx, address)
        if not keys:
            raise step_failed(
                f"no verified host key for sync worker {address}:{port}",
                fix="run the whole plan (the worker's key is checked at the start of a run)",
            )
        lines += [f"{name} {k}" for k in keys]
    return "\n".join(lines) + "\n"


def _pinned(ctx: RunContext, address: str) -> list[str]:
    """A full host key pinned in the answers for the node at ``address``."""
    answers = ctx.answers
    for node in getattr(answers, "nodes", []):
        key = node.ssh.host_key
        if node.address == address and key and not key.startswith("SHA256:"):
            return [" ".join(key.split()[:2])]
    return []


def _cron_line(step: Step) -> str:
    i = step.inputs
    return f"{i['cron']} {shlex.quote(i['script'])} {MARK} {i['dir']}"


def _crontab(step: Step, ctx: RunContext) -> str:
    res = ctx.transport(step.host).run("crontab -l 2>/dev/null || true", timeout=30)
    return res.out


class SyncHandler:
    def _pending(self, step: Step, ctx: RunContext) -> list[str]:
        t = ctx.transport(step.host)
        out = []
        for path, (data, _mode) in _files(step, ctx).items():
            if not t.exists(path) or t.read(path) != data:
                out.append(path)
        if _cron_line(step) not in _crontab(step, ctx).splitlines():
            out.append("crontab")
        return out

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        pending = self._pending(step, ctx)
        return Outcome(not pending, "would write " + ", ".join(pending) if pending else "")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        t = ctx.transport(step.host)
        t.mkdir_p(step.inputs["dir"])
        for path, (data, mode) in _files(step, ctx).items():
            t.write_atomic(path, data, mode=mode)
        line = _cron_line(step)
        current = _crontab(step, ctx)
        if line not in current.splitlines():
            kept = [
                x for x in current.splitlines() if not x.endswith(f"{MARK} {step.inputs['dir']}")
            ]
            table = "\n".join([*kept, line]) + "\n"
            res = t.run("crontab -", stdin=table.encode(), timeout=30)
            res.check(
                "crontab",
                host=step.host,
                fix="install cron on the node (apt-get install cron) and resume",
            )
        return Outcome(True, "sync script and cron entry installed")


HANDLERS = {"sync_script": SyncHandler()}
