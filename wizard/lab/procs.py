"""Processes the lab started: is it alive, is it still the one we started, stop it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable
from pathlib import Path

from wizard.wait import Timeout, poll


def alive(pid: int | None) -> bool:
    """True when ``pid`` runs (a zombie counts as dead; our own zombies are reaped)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def is_ours(pid: int | None, needle: str) -> bool:
    """Alive and its command line mentions ``needle`` (so a reused pid is left alone)."""
    return alive(pid) and needle in cmdline(pid)  # type: ignore[arg-type]


def read_pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def stop(pids: Iterable[int], *, deadline: float = 15.0) -> list[int]:
    """TERM every pid, wait until all exited, KILL the stubborn; return the pids stopped."""
    todo = [p for p in pids if alive(p)]
    for pid in todo:
        _signal(pid, signal.SIGTERM)
    try:
        poll(lambda: not any(alive(p) for p in todo), deadline=deadline, what="lab processes")
    except Timeout:
        for pid in todo:
            if alive(pid):
                _signal(pid, signal.SIGKILL)
        poll(lambda: not any(alive(p) for p in todo), deadline=5, what="killed lab processes")
    return todo


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
