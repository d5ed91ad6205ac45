"""The lab for integration tests: one per session, real services, torn down at the end.

Fixtures for every integration test:

- ``lab``: the lab dict (lab.json: ``db``, ``hosts``, ``nginx``, ``driver_jar``,
  ``java_home``, ``answers``) of a 4-host lab with a 0.5 s fake Carbon boot.
- ``lab_ssh``: ``connect(host) -> paramiko.SSHClient`` where ``host`` is an index, a
  name (``"h3"``) or a host dict; the client pins the host key from lab.json
  (RejectPolicy). ``connect(host, host_key="ssh-ed25519 AAAA...")`` pins another key.
- ``lab_db_password``: the admin password (read from the lab's 0600 file).
- ``lab_pinned_client(address, port, host_key)``: an SSHClient pinned to that key.
- ``lab_factory(hosts) -> (dir, lab)``: a lab of a test's own (torn down after the test).

When the lab cannot start, the tests skip with the reason, or fail when ``CI=true``.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

SshConnect = Callable[..., paramiko.SSHClient]


def lab_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the lab could not start: {reason}")
    pytest.skip(f"the lab could not start: {reason}")


def make_lab_dir(prefix: str = "cw-lab-") -> Path:
    """A short, traversable directory under /tmp (host users must reach their homes)."""
    d = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    d.chmod(0o755)
    return d


def start_lab(dir: Path, hosts: int, boot_delay: float = 0.5) -> dict[str, Any]:
    from wizard.lab import labctl

    try:
        return labctl.up(dir, hosts, boot_delay=boot_delay)
    except Exception as exc:  # WizardError and missing parts alike: report why
        shutil.rmtree(dir, ignore_errors=True)
        lab_unavailable(f"{type(exc).__name__}: {exc}")
        raise


@pytest.fixture(scope="session")
def lab() -> Iterator[dict[str, Any]]:
    d = make_lab_dir()
    data = start_lab(d, 4)
    try:
        yield data
    finally:
        from wizard.lab import labctl

        labctl.down(d)


def host_of(lab: dict[str, Any], host: int | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(host, dict):
        return host
    if isinstance(host, int):
        return lab["hosts"][host]
    for h in lab["hosts"]:
        if host in (h["name"], h["address"]):
            return h
    raise KeyError(f"no host {host!r} in the lab")


def pinned_client(address: str, port: int, host_key: str) -> paramiko.SSHClient:
    """An SSHClient that accepts exactly ``host_key`` ("type base64") for address:port."""
    key_type, b64 = host_key.split()[:2]
    key = paramiko.PKey.from_type_string(key_type, base64.b64decode(b64))
    client = paramiko.SSHClient()
    name = address if port == 22 else f"[{address}]:{port}"
    client.get_host_keys().add(name, key_type, key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return client


@pytest.fixture(scope="module")
def own_lab(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A lab of the test module's own (``LAB_HOSTS`` hosts, default 4), for tests that
    change product homes, start nodes or kill the wizard: nothing they do leaks into the
    shared ``lab`` or into another module."""
    from wizard.lab import labctl

    hosts = int(getattr(request.module, "LAB_HOSTS", 4))
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:12]
    d = make_lab_dir(f"cw-lab-{name}-")
    data = start_lab(d, hosts)
    try:
        yield data
    finally:
        labctl.down(d)


@pytest.fixture(scope="session")
def lab_ssh(lab: dict[str, Any]) -> Iterator[SshConnect]:
    opened: list[paramiko.SSHClient] = []

    def connect(
        host: int | str | dict[str, Any] = 0, *, host_key: str | None = None
    ) -> paramiko.SSHClient:
        h = host_of(lab, host)
        client = pinned_client(h["address"], h["ssh_port"], host_key or h["host_key"])
        client.connect(
            h["address"],
            port=h["ssh_port"],
            username=h["user"],
            key_filename=h["key"],
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
        opened.append(client)
        return client

    yield connect
    for client in opened:
        client.close()


@pytest.fixture(scope="session")
def lab_db_password(lab: dict[str, Any]) -> str:
    return Path(lab["db"]["password_file"]).read_text().strip()


@pytest.fixture(scope="session")
def lab_pinned_client() -> Callable[[str, int, str], paramiko.SSHClient]:
    return pinned_client


@pytest.fixture
def lab_factory() -> Iterator[Callable[[int], tuple[Path, dict[str, Any]]]]:
    made: list[Path] = []

    def make(hosts: int = 1) -> tuple[Path, dict[str, Any]]:
        d = make_lab_dir("cw-lab-own-")
        made.append(d)
        return d, start_lab(d, hosts)

    yield make
    from wizard.lab import labctl

    for d in made:
        labctl.down(d)


class CmdlineScanner(threading.Thread):
    """Reads /proc/*/cmdline every few ms; remembers every command line holding a needle.

    ``scans`` counts the passes; ``seen`` counts the command lines starting with
    ``watch`` (to prove the scan saw the processes that matter)."""

    def __init__(self, needles: list[str], watch: bytes | None = None, pause: float = 0.002):
        super().__init__(daemon=True)
        self.needles = [n.encode() for n in needles]
        self.watch = watch
        self.pause = pause  # short-lived processes (keytool, sudo) live > 100 ms
        self.hits: list[str] = []
        self.scans = 0
        self.seen = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as fh:
                        line = fh.read()
                except OSError:
                    continue
                if self.watch is not None and line.startswith(self.watch):
                    self.seen += 1
                if any(n in line for n in self.needles):
                    self.hits.append(line.replace(b"\0", b" ").decode(errors="replace"))
            self.scans += 1
            self.stop.wait(self.pause)


@pytest.fixture(scope="session")
def cmdline_scanner() -> type[CmdlineScanner]:
    """The /proc command-line scanner class (a thread: start, then stop.set() and join)."""
    return CmdlineScanner


@pytest.fixture
def control_dir() -> Iterator[Path]:
    """A short folder for ssh's ControlPath (ansible-playbook's connections), removed after."""
    d = Path(tempfile.mkdtemp(prefix="cwcp", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)
