"""How a fake Carbon node resolves host names: like a real node, through its host's hosts
file, never through the resolver of the machine the lab runs on.

Standard library only (copied into the product's ``bin/`` next to ``fakecarbon.py``).

A lab host has a hosts file of its own (``etc-hosts`` next to its product homes, the file
the wizard's ``hosts_entry`` steps edit); ``lab up`` names it in the host's environment as
``CARBON_HOSTS_FILE`` (sshd ``SetEnv`` and ``~/.carbon-env``, see wizard/lab/hostenv.py).
Without that variable the node reads ``/etc/hosts``, as a real node does. There is no DNS:
a name that is neither an IP literal nor in the file does not resolve, and the caller
fails the way the JVM does (``java.net.UnknownHostException: <name>: Name or service not
known``, the text of glibc's EAI_NONAME that Java puts in the exception).
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Mapping
from pathlib import Path

HOSTS_FILE_ENV = "CARBON_HOSTS_FILE"
DEFAULT_HOSTS_FILE = "/etc/hosts"


class UnknownHost(Exception):
    """A host name the node's hosts file does not know (and that is no IP literal)."""

    def __init__(self, name: str, hosts_file: Path) -> None:
        super().__init__(f"{name} is not in {hosts_file}")
        self.name = name
        self.hosts_file = hosts_file

    @property
    def java(self) -> str:
        """The exception as the JVM reports it."""
        return f"java.net.UnknownHostException: {self.name}: Name or service not known"


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_hosts(text: str) -> dict[str, str]:
    """Name (lower case) -> address; the first line naming a host wins (as in glibc)."""
    names: dict[str, str] = {}
    for raw in text.splitlines():
        fields = raw.split("#", 1)[0].split()
        if len(fields) < 2 or not is_ip(fields[0]):
            continue
        for name in fields[1:]:
            names.setdefault(name.lower(), fields[0])
    return names


class Resolver:
    """Resolves through one hosts file, read again when it changes (the wizard may add a
    managed block while the node runs, as an admin edits /etc/hosts)."""

    def __init__(self, hosts_file: Path) -> None:
        self.hosts_file = hosts_file
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._names: dict[str, str] = {}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Resolver:
        return cls(Path(env.get(HOSTS_FILE_ENV) or DEFAULT_HOSTS_FILE))

    def _table(self) -> dict[str, str]:
        try:
            st = os.stat(self.hosts_file)
        except OSError:  # no hosts file: nothing resolves by name
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp:
                try:
                    text = self.hosts_file.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    return {}
                self._names = parse_hosts(text)
                self._stamp = stamp
            return self._names

    def resolve(self, host: str) -> str:
        """The address of ``host``: an IP literal as it is, a name from the hosts file."""
        name = host.strip().removeprefix("[").removesuffix("]")
        if is_ip(name):
            return name
        address = self._table().get(name.lower())
        if address is None:
            raise UnknownHost(name, self.hosts_file)
        return address
