"""NGINX on the load balancer host: render, install, ``nginx -t``, reload.

The config of a pattern is one file in the ``conf.d`` directory that nginx.conf includes
inside its ``http {}`` block, so the file holds only ``upstream`` and ``server`` blocks.
A new config is written in place, tested with the real ``nginx -t`` and, when the test
fails, the previous bytes are put back (or the new file removed) before the error is
reported: a broken config never stays live. The previous file is kept once per session
as ``<file>.carbon-wizard-<session>.bak``.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import Any

from wizard.connectors.base import Transport
from wizard.errors import bad_input, step_failed
from wizard.secrets import redact
from wizard.templating import render_file

HEADER = "# Managed by carbon-wizard: changes here are replaced on the next run.\n"
_NOT_RUNNING = (
    "invalid PID",
    'nginx.pid" failed',
    "No such process",
    "No such file or directory",
    "is not running",
)


def render_conf(inputs: dict[str, Any]) -> str:
    """The conf.d file of a ``load_balancer`` step, from its template and inputs."""
    for up in inputs.get("upstreams", []):
        if up.get("sticky") and any(s.get("backup") for s in up.get("servers", [])):
            raise bad_input(
                f"upstream {up['name']}: ip_hash (sticky) cannot have backup servers",
                fix="make the upstream sticky or give it backup servers, not both",
            )
        if not up.get("servers"):
            raise bad_input(f"upstream {up['name']} has no servers", fix="check the pattern roles")
    ctx = {
        "listen_address": None,
        "redirect_http": False,
        "fail_timeout": 10,  # NGINX's default, for plans made before it was planned
        **inputs,
        "port_suffix": "" if int(inputs["https_port"]) == 443 else f":{inputs['https_port']}",
        "upstream_by_name": {u["name"]: u for u in inputs.get("upstreams", [])},
    }
    text = render_file(inputs["template"], ctx)
    text = re.sub(r"^}\n(?=\S)", "}\n\n", text, flags=re.M)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"
    return HEADER + text


@dataclass(frozen=True)
class InstallResult:
    path: str
    changed: bool
    started: bool = False
    reloaded: bool = False


class Nginx:
    """One NGINX on one host; ``command`` is the binary or a wrapper (``-t``, ``-s reload``)."""

    def __init__(self, transport: Transport, command: str = "nginx") -> None:
        self.t = transport
        self.command = shlex.split(command)

    def _run(self, *args: str) -> tuple[int, str]:
        res = self.t.run([*self.command, *args], timeout=60)
        return res.rc, redact((res.err + res.out).strip())

    def conf_dir(self, given: str | None = None) -> str:
        """``given``, else ``conf.d`` next to the ``--conf-path`` that ``nginx -V`` reports."""
        if given:
            return given
        rc, text = self._run("-V")
        if rc != 0:
            raise step_failed(
                f"cannot run {' '.join(self.command)} -V: {text[-300:]}",
                fix="install nginx on the load balancer host or set lb.command / lb.conf_dir",
                host=self.t.host,
            )
        m = re.search(r"--conf-path=(\S+)", text)
        conf = m.group(1) if m else None
        if conf is None:
            m = re.search(r"--prefix=(\S+)", text)
            conf = posixpath.join(m.group(1), "conf", "nginx.conf") if m else None
        if conf is None:
            raise step_failed(
                "nginx -V shows neither --conf-path nor --prefix",
                fix="set lb.conf_dir in the answers",
                host=self.t.host,
            )
        return posixpath.join(posixpath.dirname(conf), "conf.d")

    def test(self) -> tuple[bool, str]:
        rc, text = self._run("-t")
        return rc == 0, text

    def reload_or_start(self) -> tuple[bool, bool]:
        """Reload a running nginx, start one that is not running. Returns (started, reloaded)."""
        rc, text = self._run("-s", "reload")
        if rc == 0:
            return False, True
        if not any(m in text for m in _NOT_RUNNING):
            raise step_failed(
                f"nginx -s reload failed: {text[-500:]}",
                fix="see nginx's error log on the load balancer host",
                host=self.t.host,
            )
        rc, text = self._run()
        if rc != 0:
            raise step_failed(
                f"nginx did not start: {text[-500:]}",
                fix="see nginx's error log on the load balancer host (port in use?)",
                host=self.t.host,
            )
        return True, False

    def install(self, path: str, data: bytes, *, backup_suffix: str) -> InstallResult:
        """Put ``data`` at ``path`` only if ``nginx -t`` accepts it, then reload/start."""
        st = self.t.stat(path)
        old = self.t.read(path) if st.exists else None
        if old == data:
            return InstallResult(path, changed=False)
        self.t.mkdir_p(posixpath.dirname(path))
        self.t.write_atomic(
            path, data, mode=st.perm if st.exists else 0o644, backup_suffix=backup_suffix
        )
        ok, text = self.test()
        if not ok:
            if old is None:
                self.t.run(["rm", "-f", "--", path], timeout=30)
            else:
                self.t.write_atomic(path, old, mode=st.perm)
            raise step_failed(
                f"nginx -t rejected the new config, the previous one is kept: {text[-800:]}",
                fix="fix the cause nginx names (certificate paths, a clashing server or "
                "upstream in another conf.d file), then run again",
                host=self.t.host,
                file=path,
            )
        started, reloaded = self.reload_or_start()
        return InstallResult(path, changed=True, started=started, reloaded=reloaded)
