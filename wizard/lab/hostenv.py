"""The environment a lab host gives its product: JAVA_HOME and the fake node's settings.

Two ways in, both written by ``lab up``: sshd's ``SetEnv`` (every SSH command gets
them, no shell start-up file needed) and ``~/.carbon-env`` (its path is ``env_file``
in lab.json), which the wizard can source: ``. ~/.carbon-env && bin/wso2server.sh start``.

``CARBON_HOSTS_FILE`` is the host's own hosts file (``etc-hosts`` next to its homes, the
file the wizard's hosts_entry steps edit: the lab hosts share this machine's /etc/hosts,
which the lab never touches). The fake node resolves host names through it only
(wizard/lab/fakecarbon_hosts.py), as a real node resolves through its /etc/hosts.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path

from wizard.errors import step_failed


def is_java_home(path: Path) -> bool:
    return (path / "bin" / "java").is_file() and os.access(path / "bin" / "java", os.X_OK)


def find_java_home() -> Path:
    """$JAVA_HOME when it is a Java installation, else the one of ``java`` on PATH."""
    env = os.environ.get("JAVA_HOME")
    if env and is_java_home(Path(env)):
        return Path(env).resolve()
    java = shutil.which("java")
    if java:
        home = Path(java).resolve().parents[1]
        if is_java_home(home):
            return home
    raise step_failed(
        "no Java installation found (the product and keytool need one)",
        fix="install a JDK (e.g. apt-get install openjdk-17-jdk-headless) or set JAVA_HOME",
    )


def env_file_text(env: Mapping[str, str]) -> str:
    lines = ["# carbon-wizard lab: the environment of this host's product commands"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    if "JAVA_HOME" in env:
        lines.append('export PATH="$JAVA_HOME/bin:$PATH"')
    return "\n".join(lines) + "\n"
