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


JDK8_VERSION = (
    'openjdk version "1.8.0_412"\n'
    "OpenJDK Runtime Environment (build 1.8.0_412-b08)\n"
    "OpenJDK 64-Bit Server VM (build 25.412-b08, mixed mode)\n"
)


def make_jdk8_home(dest: Path, real: Path) -> Path:
    """The lab hosts' JAVA_HOME: a stand-in for the JDK 8 that API Manager 2.6.0 hosts run
    (its wso2server.sh: "supported only on JDK 1.7 and 1.8"). This machine has a newer
    JDK; the fake product is not Java, so only ``java -version`` has to say 1.8; the other
    tools (keytool for the keystores) are this machine's, linked."""
    bin_dir = dest / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in (real / "bin").iterdir():
        link = bin_dir / tool.name
        if tool.name != "java" and not link.exists():
            link.symlink_to(tool)
    java = bin_dir / "java"
    java.write_text(
        "#!/bin/sh\n"
        "# carbon-wizard lab: a JDK 8 stand-in (see wizard/lab/hostenv.py make_jdk8_home)\n"
        'case "$1" in -version|--version|-showversion)\n'
        "  cat >&2 <<'EOF'\n" + JDK8_VERSION + "EOF\n"
        "  exit 0;;\n"
        "esac\n"
        f'exec {real / "bin" / "java"} "$@"\n'
    )
    java.chmod(0o755)
    dest.chmod(0o755)
    return dest
