"""The lab's load balancer: an unprivileged NGINX in a prefix on the first host.

The prefix belongs to the host's user, so the wizard manages it over SSH as that
user: it drops server blocks into ``conf.d/`` and runs ``bin/nginx -t`` and
``bin/nginx -s reload``. The wrapper pins the prefix, the config and the startup
error log (``-e``, so nginx never tries /var/log/nginx as a non-root user).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.errors import step_failed
from wizard.wait import Timeout, poll

NGINX = "/usr/sbin/nginx"
HTTPS_PORT = 8443
HTTP_PORT = 8080
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


@dataclass(frozen=True)
class NginxPrefix:
    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "nginx.conf"

    @property
    def conf_dir(self) -> Path:
        return self.root / "conf.d"

    @property
    def command(self) -> Path:
        return self.root / "bin" / "nginx"

    @property
    def pid_file(self) -> Path:
        return self.root / "logs" / "nginx.pid"

    @property
    def error_log(self) -> Path:
        return self.root / "logs" / "error.log"


def render_conf(prefix: Path) -> str:
    """nginx.conf of the lab: everything inside the prefix, servers come from conf.d."""
    temps = "\n".join(f"    {name}_temp_path {prefix}/temp/{name};" for name in TEMP_DIRS)
    return f"""# carbon-wizard lab load balancer: written by 'carbon-wizard lab up'
worker_processes 1;
pid {prefix}/logs/nginx.pid;
error_log {prefix}/logs/error.log warn;

events {{
    worker_connections 256;
}}

http {{
    access_log {prefix}/logs/access.log;
{temps}
    include {prefix}/mime.types;
    default_type application/octet-stream;
    include conf.d/*.conf;
}}
"""


def render_wrapper(prefix: Path, binary: str = NGINX) -> str:
    p = shlex.quote(str(prefix))
    return (
        "#!/bin/sh\n"
        "# carbon-wizard lab: nginx pinned to this prefix ('bin/nginx -t', 'bin/nginx -s reload')\n"
        f'exec {shlex.quote(binary)} -p {p} -c {p}/nginx.conf -e {p}/logs/error.log "$@"\n'
    )


def make_prefix(prefix: NginxPrefix, owner: tuple[int, int] | None) -> None:
    """Create the prefix tree, config and wrapper, owned by ``owner`` (uid, gid)."""
    root = prefix.root
    dirs = [root, root / "bin", root / "logs", root / "temp", prefix.conf_dir]
    dirs += [root / "temp" / name for name in TEMP_DIRS]
    for d in dirs:
        d.mkdir(mode=0o755, parents=True, exist_ok=True)
    prefix.conf.write_text(render_conf(root))
    mime = Path("/etc/nginx/mime.types")
    (root / "mime.types").write_text(
        mime.read_text() if mime.exists() else "types {\n    text/html html;\n}\n"
    )
    prefix.command.write_text(render_wrapper(root))
    prefix.command.chmod(0o755)
    if owner is not None:
        for path in [*dirs, prefix.conf, root / "mime.types", prefix.command]:
            os.chown(path, *owner)


def _as_user(owner: tuple[int, int] | None) -> dict[str, Any]:
    if owner is None or os.geteuid() != 0:
        return {}
    return {"user": owner[0], "group": owner[1], "extra_groups": []}


def run(
    prefix: NginxPrefix, args: list[str], owner: tuple[int, int] | None
) -> subprocess.CompletedProcess[str]:
    """Run the wrapper (as the prefix's owner when root)."""
    return subprocess.run(
        [str(prefix.command), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=prefix.root,
        timeout=30,
        **_as_user(owner),
    )


def read_pid(prefix: NginxPrefix) -> int | None:
    try:
        return int(prefix.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def start(prefix: NginxPrefix, owner: tuple[int, int] | None) -> int:
    """Test the config, start the (daemonising) master, return its pid."""
    test = run(prefix, ["-t"], owner)
    if test.returncode != 0:
        raise step_failed(f"nginx -t failed: {test.stderr.strip()}", file=str(prefix.conf))
    res = run(prefix, [], owner)
    if res.returncode != 0:
        raise step_failed(
            f"nginx did not start: {res.stderr.strip()}", fix=f"see {prefix.error_log}"
        )
    try:
        pid = poll(lambda: read_pid(prefix), deadline=10, what="nginx pid file")
    except Timeout as exc:
        raise step_failed("nginx wrote no pid file", fix=f"see {prefix.error_log}") from exc
    return pid
