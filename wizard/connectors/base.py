"""The transport protocol that SSH and local connectors both implement.

A transport knows one host: it reads and writes files there and runs commands.
It knows nothing of plans or screens. Secrets go to commands through stdin only;
the command line (which every user of the host can see in ``ps``) never holds one.
"""

from __future__ import annotations

import secrets as _random
import shlex
import stat as stat_mod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from wizard.errors import EXIT_STEP_FAILED, Where, WizardError, step_failed
from wizard.secrets import Secret, redact

# Suffix of the temporary file written next to the target by write_atomic.
TMP_MARK = ".cw-tmp-"
# ... as this process writes it: a temp file of this run is never a leftover of a killed
# one (two nodes on one machine write /etc/hosts, or files of one folder, side by side)
RUN_TMP = f"{TMP_MARK}{_random.token_hex(3)}-"


def live_temp(name: str) -> bool:
    """Whether ``name`` is a temp file this process is writing (not a leftover)."""
    return RUN_TMP in name


@dataclass(frozen=True)
class Result:
    """What a command did: exit code, stdout and stderr (decoded, undecodable bytes replaced)."""

    rc: int
    out: str
    err: str
    raw_out: bytes = field(default=b"", repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def check(self, what: str, *, host: str | None = None, fix: str | None = None) -> Result:
        """Return self when rc == 0, else raise a WizardError quoting stderr (redacted)."""
        if self.rc != 0:
            detail = redact((self.err or self.out).strip())[-800:]
            raise step_failed(
                f"{what} failed (exit {self.rc})" + (f": {detail}" if detail else ""),
                fix=fix or "see the message above; fix the cause on the host and run again",
                host=host,
            )
        return self


@dataclass(frozen=True)
class FileStat:
    """``stat`` of a path; ``exists`` is False (and the rest zero) when it is missing."""

    exists: bool
    mode: int = 0  # full st_mode (type and permission bits)
    uid: int = 0
    gid: int = 0
    size: int = 0
    mtime: float = 0.0

    @property
    def perm(self) -> int:
        """Permission bits only, e.g. 0o644."""
        return stat_mod.S_IMODE(self.mode)

    @property
    def is_dir(self) -> bool:
        return self.exists and stat_mod.S_ISDIR(self.mode)

    @property
    def is_link(self) -> bool:
        return self.exists and stat_mod.S_ISLNK(self.mode)


MISSING = FileStat(exists=False)


@dataclass(frozen=True)
class HostTarget:
    """How to reach one host. Passwords are :class:`Secret` values, never plain strings.

    ``transport`` is ``ssh`` or ``local`` (a product home on the machine running the wizard).
    ``host_key`` pins the server key: ``"ssh-ed25519 AAAA..."`` or ``"SHA256:..."``.
    """

    name: str
    address: str = "127.0.0.1"
    port: int = 22
    user: str = ""
    transport: str = "ssh"
    key_file: str | None = None
    key_passphrase: Secret | None = field(default=None, compare=False)
    password: Secret | None = field(default=None, compare=False)
    use_agent: bool = False
    sudo: bool = False
    sudo_password: Secret | None = field(default=None, compare=False)
    host_key: str | None = None
    connect_timeout: float = 10.0

    @property
    def endpoint(self) -> str:
        """``user@address:port`` for messages."""
        user = f"{self.user}@" if self.user else ""
        return f"{user}{self.address}:{self.port}"


@dataclass(frozen=True)
class Written:
    """What an atomic write did: the path written (a symlink's target), whether a file
    was there before, and the backup that holds it (None: no backup was asked, or
    there was nothing to back up). ``after``: the path's stat right after the write,
    where the transport had it without another round trip (else None)."""

    path: str
    existed: bool
    backup: str | None
    after: FileStat | None = None


class FileChanged(WizardError):
    """An atomic write refused, nothing written: the file is not what the caller read
    (its ``expect`` stat)."""


def file_changed(path: str, host: str) -> FileChanged:
    return FileChanged(
        f"{path} changed on the host while the wizard was editing it; nothing was written",
        Where(host=host, file=path),
        "run again: the edits are then made on the file as it is",
        EXIT_STEP_FAILED,
    )


@runtime_checkable
class Transport(Protocol):
    """File and command access to one host."""

    host: str

    def read(self, path: str, size: int | None = None) -> bytes:
        """The file's bytes; ``size`` is a hint from a stat made just before."""
        ...

    def stat(self, path: str) -> FileStat: ...

    def exists(self, path: str) -> bool: ...

    def write_atomic(
        self,
        path: str,
        data: bytes,
        *,
        mode: int | None = None,
        backup_suffix: str | None = None,
        expect: FileStat | None = None,
    ) -> Written:
        """Replace ``path`` with ``data`` whole or not at all (temp file, rename), keeping
        the original as ``path + backup_suffix`` once. ``expect``: the stat the caller
        read the file's bytes with; :class:`FileChanged` (nothing written) when the
        file's stat is another now."""
        ...

    def run(
        self,
        cmd: list[str] | str,
        *,
        stdin: bytes | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        sudo: bool | None = None,
    ) -> Result:
        """Run a command (a list is quoted with shlex, a string is shell text).

        Secrets only through ``stdin``. ``sudo`` (default: the host's setting) runs it as root.
        """
        ...

    def mkdir_p(self, path: str, mode: int = 0o755) -> None: ...

    def symlink(self, target: str, link: str) -> None: ...

    def listdir(self, path: str) -> list[str]: ...

    def put_file(self, local: str | Path, remote: str, mode: int | None = None) -> None: ...

    def close(self) -> None: ...


def read_files(transport: Any, paths: Sequence[str]) -> dict[str, tuple[FileStat, bytes | None]]:
    """Stat and bytes of each path (``(MISSING, None)`` when it is not there), in one
    batch where the transport has one (SSH: two round trips for all of them), else a
    stat and a read per path."""
    batched = getattr(transport, "read_many", None)
    if batched is not None:
        found: dict[str, tuple[FileStat, bytes | None]] = batched(paths)
        return found
    out: dict[str, tuple[FileStat, bytes | None]] = {}
    for path in dict.fromkeys(paths):
        st = transport.stat(path)
        out[path] = (st, transport.read(path, st.size) if st.exists else None)
    return out


def shell_command(cmd: list[str] | str, env: Mapping[str, str] | None = None) -> str:
    """One shell command line: a list is quoted with shlex; a string is taken as shell text.

    ``env`` is for plain settings (JAVA_HOME, ...), never secrets: it shows in ``ps``.
    """
    text = cmd if isinstance(cmd, str) else shlex.join(cmd)
    if env:
        for key in env:
            if not key.isidentifier():
                raise ValueError(f"bad environment variable name: {key!r}")
        assigns = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
        text = f"env {assigns} sh -c {shlex.quote(text)}"
    return text


def sudo_command(text: str, *, with_password: bool) -> str:
    """Wrap shell text to run as root through sudo.

    With a password, sudo reads it from stdin (``-S``, empty prompt) and ignores cached
    credentials (``-k``) so that the first stdin line is always consumed by sudo, never by
    the command. Without one, sudo must not ask (``-n``).
    """
    flags = "-k -S -p ''" if with_password else "-n"
    return f"sudo {flags} -- sh -c {shlex.quote(text)}"


# Shell text that tries the sudo password (on stdin) with ``true``; English messages.
SUDO_PROBE = "LC_ALL=C " + sudo_command("true", with_password=True)
SUDO_NEEDS_PASSWORD = "sudo: a password is required"


def sudo_probe_error(res: Result, target: HostTarget) -> WizardError:
    """The user's error for a failed sudo (``SUDO_PROBE``, or ``sudo -n`` that needed a
    password): sudo missing, the password refused, or the user not allowed."""
    who = target.user or "the SSH user"
    where = target.endpoint
    pw = target.sudo_password
    if res.rc == 127 or "sudo: not found" in res.err or "sudo: command not found" in res.err:
        what = f"sudo is not installed on {where}"
        fix = f"install sudo there, or log in as the owner of the files (not {who})"
    elif res.err.startswith(SUDO_NEEDS_PASSWORD) and pw is None:
        what = f"sudo on {where} asks for a password and none is set"
        fix = (
            "set ssh.sudo_password (a reference such as env:SUDO_PASSWORD), or let "
            f"{who} use sudo without a password (NOPASSWD)"
        )
    elif "incorrect password" in res.err or "no password was provided" in res.err:
        ref = (pw.ref if pw is not None else "") or "the answers"
        what = f"sudo on {where} did not accept the sudo password (from {ref})"
        fix = f"check ssh.sudo_password: it is the password of {who} on that host"
    else:
        detail = redact(res.err.strip() or res.out.strip())[-300:]
        what = f"sudo as {who} on {where} failed (exit {res.rc})" + (
            f": {detail}" if detail else ""
        )
        fix = f"allow {who} to run commands as root with sudo on that host (/etc/sudoers.d)"
    return step_failed(what, fix=fix, host=target.name)


def sudo_install_script(tmp: str, path: str, uid: int, gid: int, mode: int) -> str:
    """Shell text that moves an uploaded temp file into place as root, atomically.

    ``install`` copies it next to the target with owner and mode, then ``mv`` renames it
    over the target (atomic in one directory), then the upload is removed.
    """
    parent = str(Path(path).parent)
    staged = f"{parent}/.{Path(path).name}{RUN_TMP}sudo"
    q = shlex.quote
    return (
        f"set -e; install -o {uid} -g {gid} -m {mode:o} {q(tmp)} {q(staged)}; "
        f"sync {q(staged)} 2>/dev/null || true; mv -f {q(staged)} {q(path)}; rm -f {q(tmp)}"
    )


def sudo_backup_script(path: str, backup: str) -> str:
    """Shell text copying ``path`` to ``backup`` keeping owner, mode and times, once."""
    q = shlex.quote
    return f"test -e {q(backup)} || cp -p -- {q(path)} {q(backup)}"
