"""The steps of a rollback (wizard/undo.py): check-then-act like every step.

``restore_file`` renames a file's session backup back over it (the original's bytes,
mode, owner and time) or removes a file the session created; its check says "drifted" when the file holds
neither what the wizard wrote nor what was there before (the Flow asks before
overwriting that). The others stop a node, put back a directory the session replaced by
a link, remove the sync cron entry, reload NGINX, drop a database the wizard created.
"""

from __future__ import annotations

import hashlib
import shlex
from typing import Any

from wizard.connectors.mysql import quote_ident
from wizard.connectors.nginx import Nginx
from wizard.db import state as dbstate
from wizard.edits.diff import text_diff
from wizard.errors import step_failed
from wizard.executor import Outcome, RunContext
from wizard.plan import Step
from wizard.steps.database import admin_connection
from wizard.steps.sync import MARK
from wizard.wait import Timeout, poll

DRIFTED = "changed on the host since the wizard wrote it"
STOP_DEADLINE = 120.0


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RestoreFileHandler:
    def _state(self, step: Step, ctx: RunContext) -> tuple[bytes | None, bytes | None]:
        """(what the file holds now, what it should hold: None = no file)."""
        i, t = step.inputs, ctx.transport(step.host)
        st = t.stat(i["path"])
        now = t.read(i["path"], st.size) if st.exists else None
        if not i["existed"]:
            return now, None
        if not i["backup"]:
            return now, now  # overwritten without a backup: nothing to put back
        bst = t.stat(i["backup"])
        if not bst.exists:
            if now is not None and _sha(now) != i["written_sha256"]:
                return now, now  # put back already (the backup renamed over it)
            raise step_failed(
                f"the backup {i['backup']} of {i['path']} is gone",
                fix="restore the file by hand (or from another backup), then run again",
                host=step.host,
                file=i["backup"],
            )
        return now, t.read(i["backup"], bst.size)

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        i = step.inputs
        now, want = self._state(step, ctx)
        if now == want:
            note = [] if i["existed"] is False or i["backup"] else [f"{i['path']}: no backup"]
            return Outcome(True, "as it was before the session", notes=note)
        drifted = now is not None and _sha(now) != i["written_sha256"]
        diff = text_diff(i["path"], now or b"", want or b"")
        what = "would remove" if want is None else "would put back"
        message = f"{what} {i['path']}" + (f" ({DRIFTED})" if drifted else "")
        return Outcome(False, message, diff)

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        i, t = step.inputs, ctx.transport(step.host)
        _, want = self._state(step, ctx)
        if want is None:
            t.run(["rm", "-f", "--", i["path"]], timeout=30).check("rm", host=step.host)
            return Outcome(True, f"removed {i['path']}")
        # the backup is a hard link to (or a copy of) the original: renamed back, the file
        # has its old bytes, mode, owner and time, and no backup is left behind
        t.run(["mv", "-f", "--", i["backup"], i["path"]], timeout=30).check("mv", host=step.host)
        return Outcome(True, f"put back {i['path']}")


class StopNodeHandler:
    def _running(self, step: Step, ctx: RunContext) -> bool:
        pid = shlex.quote(f"{step.inputs['home'].rstrip('/')}/wso2carbon.pid")
        script = (
            f'test -e {pid} && kill -0 "$(cat {pid})" 2>/dev/null '
            f"&& ! grep -qs '^State:[[:space:]]*Z' \"/proc/$(cat {pid})/status\" && echo running"
        )
        return ctx.transport(step.host).run(script, timeout=30).out.strip() == "running"

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        if self._running(step, ctx):
            return Outcome(False, "running: would stop")
        return Outcome(True, "not running")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        i = step.inputs
        env = {"JAVA_HOME": i["java_home"]} if i.get("java_home") else None
        res = ctx.transport(step.host).run([i["command"], "stop"], env=env, timeout=120)
        res.check(f"{i['command']} stop", host=step.host)
        try:
            poll(lambda: not self._running(step, ctx), deadline=STOP_DEADLINE, what="node stop")
        except Timeout:
            raise step_failed(
                f"the node at {i['home']} is still running {STOP_DEADLINE:.0f} s after stop",
                fix="stop it by hand (kill the pid in wso2carbon.pid), then run again",
                host=step.host,
            ) from None
        return Outcome(True, "stopped")


class RestoreLinkHandler:
    def check(self, step: Step, ctx: RunContext) -> Outcome:
        t = ctx.transport(step.host)
        if not t.exists(step.inputs["backup"]):
            return Outcome(True, "the directory is in place")
        return Outcome(False, f"would put back {step.inputs['path']}")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        path, backup = (shlex.quote(step.inputs[k]) for k in ("path", "backup"))
        script = f"if [ -L {path} ]; then rm -f {path}; fi && mv {backup} {path}"
        ctx.transport(step.host).run(script, timeout=60).check("mv", host=step.host)
        return Outcome(True, f"put back {step.inputs['path']}")


class RemoveCronHandler:
    def _table(self, step: Step, ctx: RunContext) -> tuple[str, list[str]]:
        table = ctx.transport(step.host).run("crontab -l 2>/dev/null || true", timeout=30).out
        ours = f"{MARK} {step.inputs['dir']}"
        return table, [x for x in table.splitlines() if x.endswith(ours)]

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        _, lines = self._table(step, ctx)
        return Outcome(not lines, "would remove the cron entry" if lines else "no cron entry")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        table, lines = self._table(step, ctx)
        kept = [x for x in table.splitlines() if x not in lines]
        data = ("\n".join(kept) + "\n") if kept else ""
        cmd = "crontab -" if kept else "crontab -r 2>/dev/null || true"
        res = ctx.transport(step.host).run(cmd, stdin=data.encode() if kept else None, timeout=30)
        res.check("crontab", host=step.host)
        return Outcome(True, "removed the cron entry")


class ReloadLbHandler:
    def check(self, step: Step, ctx: RunContext) -> Outcome:
        if step.host in ctx.state.changed_hosts:
            return Outcome(False, "its configuration came back: would test and reload")
        return Outcome(True, "nothing to reload")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        nginx = Nginx(ctx.transport(step.host), step.inputs["command"])
        ok, text = nginx.test()
        if not ok:
            raise step_failed(
                f"nginx -t refuses the configuration as it was: {text[-400:]}",
                fix="fix the NGINX configuration by hand, then run again",
                host=step.host,
            )
        nginx.reload_or_start()
        ctx.state.changed_hosts.discard(step.host)
        return Outcome(True, "nginx -t ok, reloaded")


class DropDatabaseHandler:
    def _ours(self, step: Step, ctx: RunContext) -> tuple[Any, bool, bool]:
        db = admin_connection(step, ctx)
        name = step.inputs["name"]
        exists = db.database_info(name) is not None
        return db, exists, exists and dbstate.created_by_wizard(db, name) is not None

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        _, exists, ours = self._ours(step, ctx)
        name = step.inputs["name"]
        if not exists:
            return Outcome(True, f"{name} is not there")
        if not ours:
            return Outcome(True, f"{name} was not created by the wizard: kept", notes=[
                f"database {name} was there before the wizard: never dropped"])  # fmt: skip
        return Outcome(False, f"would drop {name} (created by the wizard)")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        db, exists, ours = self._ours(step, ctx)
        name = step.inputs["name"]
        if exists and ours:
            db.execute(f"DROP DATABASE {quote_ident(name)}")
            dbstate.forget_created(db, name)
        return Outcome(True, f"dropped {name}")


HANDLERS = {
    "restore_file": RestoreFileHandler(),
    "stop_node": StopNodeHandler(),
    "restore_link": RestoreLinkHandler(),
    "remove_cron": RemoveCronHandler(),
    "reload_lb": ReloadLbHandler(),
    "drop_database": DropDatabaseHandler(),
}
