"""``symlink`` step: a product directory moved onto a shared file system (CHECKLIST
OBK-E26/E27, OBK-A12): the first node copies the existing content to the share once, every
node keeps its old directory as a backup and links it to the share. Never on a running node.
"""

from __future__ import annotations

import shlex

from wizard.errors import step_failed
from wizard.executor import Outcome, RunContext
from wizard.plan import Step
from wizard.stepinputs import SymlinkInputs, inputs
from wizard.steps.files import backup_suffix

q = shlex.quote


class SymlinkHandler:
    def _link(self, step: Step, ctx: RunContext) -> str:
        path = inputs(step, SymlinkInputs)["path"]
        res = ctx.transport(step.host).run(f"readlink {q(path)} || true", timeout=30)
        return res.out.strip()

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        current = self._link(step, ctx)
        if current == inputs(step, SymlinkInputs)["target"]:
            return Outcome(True, "linked")
        what = f"now -> {current}" if current else "a directory now"
        return Outcome(
            False,
            f"would link {inputs(step, SymlinkInputs)['path']} -> {inputs(step, SymlinkInputs)['target']} ({what})",
        )

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        i = inputs(step, SymlinkInputs)
        path, target = i["path"], i["target"]
        home = path.split("/repository/", 1)[0]
        pid = f"{home}/wso2carbon.pid"
        backup = path + backup_suffix(ctx.session_id)
        copy = (
            f'if [ -z "$(ls -A {q(target)} 2>/dev/null)" ] && [ -d {q(path)} ]; then '
            f"cp -a {q(path)}/. {q(target)}/; fi; "
            if i.get("move_existing")
            else ""
        )
        script = (
            "set -e; "
            f'if test -e {q(pid)} && kill -0 "$(cat {q(pid)})" 2>/dev/null; then '
            "echo 'the node is running: stop it before its directories move' >&2; exit 3; fi; "
            + (f"mkdir -p {q(target)}; " if i.get("move_existing") else "")
            + f"test -d {q(target)} || {{ echo 'shared directory {target} is missing' >&2; exit 4; }}; "
            + copy
            + f"if [ -L {q(path)} ]; then rm -f {q(path)}; "
            f"elif [ -e {q(path)} ]; then mv {q(path)} {q(backup)}; fi; "
            f"ln -s {q(target)} {q(path)}"
        )
        res = ctx.transport(step.host).run(script, timeout=600)
        if res.rc != 0:
            raise step_failed(
                f"cannot link {path} -> {target}: {res.err.strip() or res.out.strip()}",
                fix="mount the shared file system at the target (and stop the node), then resume",
                host=step.host,
                file=path,
            )
        return Outcome(True, f"linked (old directory kept as {backup})")


HANDLERS = {"symlink": SymlinkHandler()}
