"""``load_balancer`` steps: the pattern's NGINX config on the LB host.

check: render the config from the step inputs and compare it with the installed file
(a unified diff of old → new). apply: install it only if the real ``nginx -t`` accepts
it, keep the previous file as a session backup, then reload (start when not running).
Same rendered bytes → unchanged, no reload.
"""

from __future__ import annotations

import difflib
import posixpath
from typing import Any

from wizard.connectors.nginx import Nginx, render_conf
from wizard.executor import Outcome, RunContext
from wizard.plan import Step
from wizard.secrets import redact
from wizard.steps.files import backup_suffix


def conf_diff(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"{path} (installed)" if old else "/dev/null",
        tofile=f"{path} (new)",
    )
    return redact("".join(lines))


class LoadBalancerHandler:
    def _target(self, step: Step, ctx: RunContext) -> tuple[Nginx, str, bytes, bytes | None]:
        inputs: dict[str, Any] = step.inputs
        nginx = Nginx(ctx.transport(step.host), inputs.get("command") or "nginx")
        path = posixpath.join(nginx.conf_dir(inputs.get("conf_dir")), inputs["conf_name"])
        new = render_conf(inputs).encode("utf-8")
        old = nginx.t.read(path) if nginx.t.exists(path) else None
        return nginx, path, new, old

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        _, path, new, old = self._target(step, ctx)
        if old == new:
            return Outcome(True, f"unchanged ({path})")
        old_text = (old or b"").decode("utf-8", "replace")
        what = "would install" if old is None else "would change"
        return Outcome(False, f"{what} {path}", conf_diff(path, old_text, new.decode("utf-8")))

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        nginx, path, new, _ = self._target(step, ctx)
        result = nginx.install(path, new, backup_suffix=backup_suffix(ctx.session_id))
        if not result.changed:
            return Outcome(True, f"unchanged ({path})")
        done = "started nginx" if result.started else "reloaded nginx"
        return Outcome(True, f"installed {path}, nginx -t ok, {done}")


HANDLERS = {"load_balancer": LoadBalancerHandler()}
