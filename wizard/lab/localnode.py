"""Fake nodes on this machine, started and awaited by the wizard's own ``start`` and
``wait`` steps through a LocalTransport: for tests of readiness against the fake pack
without the lab's hosts (no sshd, no NGINX, no database unless a test brings one).

``LocalNodes(tmp, keystores)`` installs homes (``add``), edits their files, starts them
(``start``: the start step's ``wso2server.sh start``) and waits (``wait``: the wait step,
as the planner writes it); ``stop_all`` stops every node it started. The fake's timings
come from the environment the caller sets (``env``).
"""

from __future__ import annotations

import os
import random
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.connectors.local import LocalTransport
from wizard.executor import Outcome, RunContext
from wizard.lab import pack
from wizard.plan import Step
from wizard.steps.nodes import StartHandler, WaitHandler
from wizard.wait import poll

LOG_REL = "repository/logs/wso2carbon.log"
BASE_PORTS = (9443, 9763, 8243, 8280, 5672, 9611, 9711, 10397)


def java_home() -> Path | None:
    keytool = shutil.which("keytool")
    return Path(keytool).resolve().parents[1] if keytool else None


def port_free(port: int, address: str = "127.0.0.1") -> bool:
    try:
        with socket.create_server((address, port)):
            return True
    except OSError:
        return False


def free_offset(low: int = 600, high: int = 1000) -> int:
    """An offset whose ports are all free now (other suites may run alongside)."""
    for offset in random.sample(range(low, high), high - low):
        if all(port_free(base + offset) for base in BASE_PORTS):
            return offset
    raise RuntimeError(f"no free port offset in {low}..{high}")


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def set_text(path: Path, old: str, new: str, encoding: str = "utf-8") -> None:
    text = path.read_text(encoding=encoding)
    if old not in text:
        raise AssertionError(f"{old!r} is not in {path}")
    path.write_text(text.replace(old, new, 1), encoding=encoding)


def cluster(home: Path, port: int, members: list[int], domain: str = "wso2.carbon.domain") -> None:
    """Switch on WKA clustering in the home's axis2.xml: member port ``port`` on
    127.0.0.1, the WKA members at ``members`` (ports on 127.0.0.1)."""
    axis2 = home / "repository/conf/axis2/axis2.xml"
    text = axis2.read_text(encoding="iso-8859-1")
    text = text.replace('enable="false">', 'enable="true">', 1).replace(">multicast<", ">wka<")
    text = text.replace('"localMemberPort">4000<', f'"localMemberPort">{port}<')
    text = text.replace(">wso2.carbon.domain<", f">{domain}<")
    wka = "".join(
        f"<member><hostName>127.0.0.1</hostName><port>{p}</port></member>" for p in members
    )
    start, end = text.index("<members>"), text.index("</members>")
    text = text[: start + len("<members>")] + wka + text[end:]
    axis2.write_text(text, encoding="iso-8859-1")


@dataclass
class LocalNodes:
    root: Path
    keystores: Path
    boot_delay: float = 0.2
    transport: LocalTransport = field(default_factory=LocalTransport)
    homes: dict[str, Path] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)
    ctx: RunContext = field(init=False)

    def __post_init__(self) -> None:
        self.ctx = RunContext(transport=lambda _host: self.transport)

    def add(self, name: str, flavour: str = "apim") -> Path:
        home = pack.install_pack(
            self.root / name, keystores=self.keystores, boot_delay=self.boot_delay,
            flavour=flavour,
        )  # fmt: skip
        self.homes[name] = home
        return home

    def log(self, name: str) -> str:
        path = self.homes[name] / LOG_REL
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def start_step(self, name: str, args: list[str] | None = None) -> Step:
        home = str(self.homes[name])
        jh = java_home()
        return Step(
            f"{name}:start", "start", name, f"start {name}",
            {"action": "start", "home": home, "java_home": str(jh) if jh else None,
             "command": f"{home}/bin/wso2server.sh", "args": list(args or []), "jvm_opts": []},
        )  # fmt: skip

    def wait_step(self, name: str, timeout: float = 120, **extra: Any) -> Step:
        off = self.offsets[name]
        home = str(self.homes[name])
        inputs: dict[str, Any] = {
            "address": "127.0.0.1",
            "ports": {"https": 9443 + off},
            "log": f"{home}/{LOG_REL}",
            "marker": "WSO2 Carbon started in",
            "console_url": f"https://127.0.0.1:{9443 + off}/carbon/admin/login.jsp",
            "members": None,
            "timeout": timeout,
            **extra,
        }
        return Step(f"{name}:wait", "wait", name, f"wait for {name}", inputs)

    def start(self, name: str, offset: int | None = None, args: list[str] | None = None) -> None:
        off = free_offset() if offset is None else offset
        self.offsets[name] = off
        set_text(self.homes[name] / "repository/conf/carbon.xml", "<Offset>0</Offset>",
                 f"<Offset>{off}</Offset>", encoding="iso-8859-1")  # fmt: skip
        StartHandler().apply(self.start_step(name, args), self.ctx)

    def wait(self, name: str, timeout: float = 120, **extra: Any) -> Outcome:
        return WaitHandler().apply(self.wait_step(name, timeout, **extra), self.ctx)

    def peer(self, name: str) -> dict[str, str]:
        """A ``cluster_peers`` entry of the wait step, as the planner writes it."""
        return {"node": name, "log": f"{self.homes[name]}/{LOG_REL}"}

    def pid(self, name: str) -> int | None:
        try:
            return int((self.homes[name] / "wso2carbon.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop_all(self) -> None:
        for name in self.homes:
            pid = self.pid(name)
            if pid is None:
                continue
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                continue

            def gone(p: int = pid) -> bool:
                try:
                    os.kill(p, 0)
                except ProcessLookupError:
                    return True
                return False

            poll(gone, deadline=15, what=f"{name} to stop")
