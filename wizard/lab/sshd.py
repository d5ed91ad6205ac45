"""One ``sshd`` per lab host: own address, own ed25519 host key, key auth only.

(``render_config(password_auth=True)`` also allows passwords: tests of password logins
and sudo start such an sshd of their own; the lab's hosts never do.)

Every host listens on the same port on its own loopback address. The authorized
keys file belongs to the host user (0600, in its 0700 ``.ssh``, when root) and sits
under its home, so that sshd's StrictModes checks pass even when the lab lives under
/tmp (they stop at the home folder). A non-root lab
(one user for all hosts, whose home is elsewhere) runs with StrictModes off.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wizard.errors import step_failed
from wizard.wait import Timeout, poll

SSHD = "/usr/sbin/sshd"
DEFAULT_PORT = 2222


@dataclass(frozen=True)
class SshdFiles:
    """Root-side files of one host's sshd (config, host key, pid, log)."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "sshd_config"

    @property
    def host_key(self) -> Path:
        return self.root / "ssh_host_ed25519_key"

    @property
    def pid_file(self) -> Path:
        return self.root / "sshd.pid"

    @property
    def log(self) -> Path:
        return self.root / "sshd.log"


def render_config(
    *,
    address: str,
    port: int,
    host_key: Path,
    pid_file: Path,
    authorized_keys: Path,
    user: str,
    env: Mapping[str, str],
    strict_modes: bool = True,
    password_auth: bool = False,
) -> str:
    """The sshd_config text of one lab host.

    ``strict_modes`` is off only for a non-root lab: its authorized_keys file cannot
    sit under the (shared, real) home of the user, and /tmp fails sshd's path checks.
    ``password_auth`` also lets ``user`` log in with its Unix password (checked by sshd
    against the shadow file, no PAM; empty passwords stay refused). Keys still work.
    """
    for k, v in env.items():
        if any(c in f"{k}{v}" for c in ' "\n\t'):
            raise ValueError(f"SetEnv value for {k} must not contain spaces or quotes")
    set_env = " ".join(f"{k}={v}" for k, v in env.items())
    lines = [
        "# carbon-wizard lab host: written by 'carbon-wizard lab up'",
        f"ListenAddress {address}",
        f"Port {port}",
        f"HostKey {host_key}",
        f"PidFile {pid_file}",
        f"AuthorizedKeysFile {authorized_keys}",
        "PubkeyAuthentication yes",
        f"PasswordAuthentication {'yes' if password_auth else 'no'}",
        "KbdInteractiveAuthentication no",
        "PermitEmptyPasswords no",
        "UsePAM no",
        f"StrictModes {'yes' if strict_modes else 'no'}",
        "PermitRootLogin no",
        f"AllowUsers {user}",
        "X11Forwarding no",
        "AllowTcpForwarding yes",
        "PrintMotd no",
        "PrintLastLog no",
        "UseDNS no",
        "MaxStartups 64:30:128",
        "MaxSessions 64",
        "LogLevel VERBOSE",
        "Subsystem sftp internal-sftp",
    ]
    if set_env:
        lines.append(f"SetEnv {set_env}")
    return "\n".join(lines) + "\n"


def keygen(key: Path, comment: str) -> subprocess.Popen[bytes]:
    """Start ``ssh-keygen`` for an ed25519 key without passphrase; the caller waits."""
    for p in (key, key.with_name(key.name + ".pub")):
        p.unlink(missing_ok=True)
    return subprocess.Popen(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_keygen(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        out, _ = proc.communicate(timeout=30)
        if proc.returncode != 0:
            raise step_failed(
                f"ssh-keygen failed: {out.decode(errors='replace').strip()}",
                fix="check that openssh-client is installed",
            )


def public_key_line(key: Path) -> str:
    """``ssh-ed25519 AAAA...`` (type and base64, no comment) of a key pair."""
    parts = key.with_name(key.name + ".pub").read_text().split()
    return f"{parts[0]} {parts[1]}"


def fingerprint(key_line: str) -> str:
    """OpenSSH's ``SHA256:...`` fingerprint of ``ssh-ed25519 AAAA...``."""
    blob = base64.b64decode(key_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def ensure_privsep_dir() -> None:
    """sshd run by root needs /run/sshd (its privilege separation directory)."""
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)


def check_config(files: SshdFiles) -> None:
    res = subprocess.run(
        [SSHD, "-t", "-f", str(files.config)], capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        raise step_failed(f"sshd rejects its config: {res.stderr.strip()}", file=str(files.config))


def start(files: SshdFiles) -> subprocess.Popen[bytes]:
    """Start sshd in the foreground mode (-D) as a background child; the caller waits."""
    return subprocess.Popen(
        [SSHD, "-D", "-f", str(files.config), "-E", str(files.log)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def banner(address: str, port: int, timeout: float = 1.0) -> str | None:
    """The server's SSH banner line, or None when nothing answers."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as s:
            data = s.recv(256)
    except OSError:
        return None
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    return line if line.startswith("SSH-2.0-") else None


def wait_ready(proc: subprocess.Popen[bytes], files: SshdFiles, address: str, port: int) -> None:
    def ready() -> bool:
        if proc.poll() is not None:
            log = files.log.read_text(errors="replace").strip() if files.log.exists() else ""
            raise step_failed(
                f"sshd for {address}:{port} exited at start (exit {proc.returncode}): {log[-300:]}",
                fix=f"see {files.log}; is the port taken?",
            )
        return banner(address, port) is not None

    try:
        poll(ready, deadline=15, what=f"sshd {address}:{port}")
    except Timeout as exc:
        proc.terminate()
        raise step_failed(
            f"sshd on {address}:{port} did not answer within {exc.seconds:.0f}s",
            fix=f"see {files.log}",
        ) from exc
