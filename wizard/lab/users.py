"""Unix users of the lab's hosts: one per host when root, the current user otherwise.

A user the lab creates carries a marker in its GECOS field, so that a later run can
recognise (and clean up) a leftover of a lab that died, and never touches any other
account. ``lab down`` removes only the users that this lab created.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from wizard.errors import step_failed
from wizard.wait import Timeout, poll

MARKER = "carbon-wizard lab"
PREFIX = "cwlab"


@dataclass(frozen=True)
class HostUser:
    name: str
    uid: int
    gid: int
    created: bool  # True when this lab created it (and so removes it)


def is_root() -> bool:
    return os.geteuid() == 0


def base_name(address: str, prefix: str = PREFIX) -> str:
    """``127.0.0.3`` -> ``cwlab3``."""
    return f"{prefix}{address.rsplit('.', 1)[-1]}"


def candidate_names(address: str, prefix: str = PREFIX, tries: int = 10) -> list[str]:
    """Names to try for a host's user, most preferred first: cwlab3, cwlab3-1, ..."""
    base = base_name(address, prefix)
    return [base] + [f"{base}-{i}" for i in range(1, tries)]


def lookup(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def is_stale(entry: pwd.struct_passwd) -> bool:
    """A lab user whose lab is gone: marked, home missing, no process running."""
    return (
        entry.pw_gecos.startswith(MARKER)
        and not Path(entry.pw_dir).exists()
        and not pids_of_uid(entry.pw_uid)
    )


def current_user() -> HostUser:
    entry = pwd.getpwuid(os.geteuid())
    return HostUser(entry.pw_name, entry.pw_uid, entry.pw_gid, created=False)


def ensure_user(address: str, home: Path, prefix: str = PREFIX) -> HostUser:
    """Create (as root) the host's user with ``home`` as its home directory.

    Non-root: the current user serves every host.
    """
    if not is_root():
        return current_user()
    for name in candidate_names(address, prefix):
        entry = lookup(name)
        if entry is not None:
            mine = entry.pw_gecos.startswith(MARKER) and Path(entry.pw_dir) == home
            if mine:
                return HostUser(name, entry.pw_uid, entry.pw_gid, created=True)
            if is_stale(entry):
                _run(["userdel", name], name)
            else:
                continue
        _run(["useradd", "-M", "-U", "-d", str(home), "-s", "/bin/bash", "-c", MARKER, name], name)
        # A new account is locked ("!"); sshd without PAM refuses locked accounts even for
        # key logins. "*" means "no password can match" without locking.
        _run(["usermod", "-p", "*", name], name)
        entry = pwd.getpwnam(name)
        return HostUser(name, entry.pw_uid, entry.pw_gid, created=True)
    raise step_failed(
        f"no free user name for host {address} (tried {', '.join(candidate_names(address, prefix))})",
        fix="remove leftover lab users with 'userdel', or run 'carbon-wizard lab down' for old labs",
    )


def remove_user(name: str, home: Path) -> bool:
    """Stop every process of the user the lab created for ``home``, then delete it.

    A user of that name whose home is elsewhere (another lab's) is left alone.
    """
    entry = lookup(name)
    if entry is None or not entry.pw_gecos.startswith(MARKER) or Path(entry.pw_dir) != home:
        return False
    kill_uid(entry.pw_uid)
    _run(["userdel", name], name)
    return True


def pids_of_uid(uid: int) -> list[int]:
    """Pids of the processes whose real uid is ``uid``."""
    pids: list[int] = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            status = (d / "status").read_text()
        except OSError:
            continue
        if "\nState:\tZ" in status:  # a zombie is already dead
            continue
        for line in status.splitlines():
            if line.startswith("Uid:"):
                if int(line.split()[1]) == uid:
                    pids.append(int(d.name))
                break
    return pids


def kill_uid(uid: int, deadline: float = 10.0) -> None:
    """TERM, wait, then KILL every process of ``uid`` (a lab-created user only)."""
    if uid == 0 or uid == os.geteuid():
        return
    for pid in pids_of_uid(uid):
        _signal(pid, signal.SIGTERM)
    try:
        poll(lambda: not pids_of_uid(uid), deadline=deadline, what=f"processes of uid {uid}")
    except Timeout:
        for pid in pids_of_uid(uid):
            _signal(pid, signal.SIGKILL)
        poll(lambda: not pids_of_uid(uid), deadline=5, what=f"processes of uid {uid}")


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _run(cmd: list[str], name: str) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise step_failed(
            f"{cmd[0]} {name} failed: {res.stderr.strip() or res.returncode}",
            fix="check that you are root and /etc/passwd is writable",
        )
