"""Password logins and sudo (password on stdin) over SSH, against a real sshd and sudo.

The module makes everything it needs and removes it at the end, even on failure: a Unix
user with a random password (set through ``chpasswd`` on stdin), a sudoers drop-in
letting that user run anything with its password, an sshd of its own that accepts
passwords (the lab's hosts are key-only), and a "product home" owned by root. Needs
root; when ``sudo`` is missing the tests skip, or fail when ``CI=true``.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wizard.connectors.base import TMP_MARK, HostTarget
from wizard.connectors.hostkeys import HostKeyStore
from wizard.connectors.ssh import SshTransport
from wizard.errors import WizardError
from wizard.executor import RunContext
from wizard.lab import sshd
from wizard.lab.users import kill_uid
from wizard.plan import Step
from wizard.secrets import Secret
from wizard.steps.files import FileEditHandler, backup_suffix
from wizard.wait import poll

pytestmark = pytest.mark.lab

TAG = secrets.token_hex(4)
OLD_MTIME = 1_600_000_000  # the originals' mtime, to see that backups keep it
STOCK_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<Server xmlns="http://wso2.org/projects/carbon/carbon.xml">\n'
    b"    <HostName>localhost</HostName>\n"
    b"</Server>\n"
)


def unavailable(reason: str) -> None:
    """Skip, or fail under CI (like the lab fixtures): CI must run these tests."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"sudo/password tests cannot run: {reason}")
    pytest.skip(f"sudo/password tests cannot run: {reason}")


@dataclass
class SudoHost:
    """What the module fixture made: user, passwords, sshd and the root-owned home."""

    user: str
    uid: int
    password: str
    address: str
    port: int
    host_key: str
    sshd_log: Path
    home: Path  # the product home, root's
    known_hosts: Path

    def target(self, **over: object) -> HostTarget:
        fields: dict = {
            "name": "sudohost",
            "address": self.address,
            "port": self.port,
            "user": self.user,
            "password": Secret(self.password, "env:CW_TEST_SSH_PASSWORD"),
            "host_key": self.host_key,
            "connect_timeout": 15.0,
        }
        fields.update(over)
        return HostTarget(**fields)

    def sudo_target(self, sudo_password: str | None = None) -> HostTarget:
        pw = self.password if sudo_password is None else sudo_password
        return self.target(sudo=True, sudo_password=Secret(pw, "env:CW_TEST_SUDO_PASSWORD"))

    def connect(self, target: HostTarget) -> SshTransport:
        return SshTransport(target, HostKeyStore(self.known_hosts, user_file=None))


def _run(cmd: list[str], stdin: bytes | None = None) -> None:
    res = subprocess.run(cmd, input=stdin, capture_output=True, timeout=60, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {res.stderr.decode(errors='replace').strip()}")


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def _write_sudoers(user: str) -> Path:
    """/etc/sudoers.d/cw-test-<random> (0440), checked with ``visudo -cf`` before it counts.

    It is written under a name with a dot first (sudo ignores those), then renamed.
    """
    final = Path(f"/etc/sudoers.d/cw-test-{TAG}")
    staged = Path(f"/etc/sudoers.d/.cw-test-{TAG}.new")
    staged.write_text(
        f"# carbon-wizard test {TAG}: removed by the test\n{user} ALL=(ALL:ALL) ALL\n"
    )
    staged.chmod(0o440)
    try:
        _run(["visudo", "-cf", str(staged)])
        staged.rename(final)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return final


def _start_sshd(root: Path, user: str) -> tuple[subprocess.Popen[bytes], str, int, str, Path]:
    files = sshd.SshdFiles(root)
    root.mkdir(mode=0o700)
    sshd.wait_keygen([sshd.keygen(files.host_key, f"cw-test-{TAG}")])
    sshd.ensure_privsep_dir()
    last: Exception | None = None
    for _ in range(5):  # another test may take the port between our probe and sshd's bind
        address = f"127.{77 + secrets.randbelow(40)}.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
        port = _free_port(address)
        files.config.write_text(
            sshd.render_config(
                address=address,
                port=port,
                host_key=files.host_key,
                pid_file=files.pid_file,
                authorized_keys=root / "no-authorized-keys",
                user=user,
                env={},
                password_auth=True,
            )
        )
        sshd.check_config(files)
        proc = sshd.start(files)
        try:
            sshd.wait_ready(proc, files, address, port)
        except WizardError as exc:
            last = exc
            proc.kill()
            proc.wait(10)
            continue
        return proc, address, port, sshd.public_key_line(files.host_key), files.log
    raise RuntimeError(f"sshd did not start: {last}")


@pytest.fixture(scope="module")
def host() -> Iterator[SudoHost]:
    if os.geteuid() != 0:
        pytest.skip("needs root (creates a user, a sudoers file and an sshd)")
    for tool in ("sudo", "visudo"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            unavailable(f"{tool} is not installed (scripts/setup.sh installs it)")
    if not Path(sshd.SSHD).exists():
        unavailable("openssh-server is not installed")
    base = Path(tempfile.mkdtemp(prefix=f"cw-sudo-{TAG}-", dir="/tmp"))
    base.chmod(0o755)
    user = f"cwsudo{TAG}"
    password = f"Ssh-{secrets.token_hex(12)}"
    cleanups: list[Callable[[], object]] = []
    try:
        home = base / "home"
        useradd = ["useradd", "-M", "-U", "-s", "/bin/sh", "-c", "carbon-wizard test"]
        _run([*useradd, "-d", str(home), user])
        entry = pwd.getpwnam(user)
        cleanups.append(lambda: (kill_uid(entry.pw_uid), _run(["userdel", user])))
        home.mkdir(mode=0o755)
        os.chown(home, entry.pw_uid, entry.pw_gid)
        _run(["chpasswd"], stdin=f"{user}:{password}\n".encode())  # never in argv
        sudoers = _write_sudoers(user)
        cleanups.append(lambda: sudoers.unlink(missing_ok=True))  # runs first
        proc, address, port, host_key, log = _start_sshd(base / "sshd", user)

        def stop_sshd() -> None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

        cleanups.insert(1, stop_sshd)  # before the user: sessions end with it
        product = base / "wso2am-2.6.0"
        (product / "repository" / "conf").mkdir(parents=True)
        for d in (product, product / "repository", product / "repository" / "conf"):
            d.chmod(0o755)  # root's, traversable: the SSH user can stat but not write
        yield SudoHost(
            user,
            entry.pw_uid,
            password,
            address,
            port,
            host_key,
            log,
            product,
            base / "known_hosts",
        )
    finally:
        errors = []
        for fn in reversed(cleanups):  # sudoers file first, then sshd, then the user
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - clean up everything, report after
                errors.append(exc)
        shutil.rmtree(base, ignore_errors=True)
        assert not Path(f"/etc/sudoers.d/cw-test-{TAG}").exists()
        if errors:
            raise errors[0]


# ---------------------------------------------------------------- helpers


def root_file(host: SudoHost, name: str, data: bytes, mode: int, gid: int = 0) -> Path:
    """A file of the product home owned by root (group ``gid``) with an old mtime."""
    p = host.home / "repository" / "conf" / name
    p.write_bytes(data)
    os.chown(p, 0, gid)
    p.chmod(mode)
    os.utime(p, (OLD_MTIME, OLD_MTIME))
    return p


def owner_mode(p: Path) -> tuple[int, int, int]:
    st = p.stat()
    return st.st_uid, st.st_gid, st.st_mode & 0o7777


def temps(host: SudoHost) -> list[str]:
    """Temp files of a write: next to the targets, and uploads of our user in /tmp."""
    left = [str(p) for p in host.home.rglob("*") if TMP_MARK in p.name]
    for p in Path("/tmp").glob("cw-upload-*"):
        try:
            if p.lstat().st_uid == host.uid:
                left.append(str(p))
        except FileNotFoundError:
            pass
    return left


# ---------------------------------------------------------------- password login


def test_render_config_allows_passwords_only_when_asked(tmp_path: Path) -> None:
    common = {
        "address": "127.0.0.9",
        "port": 2222,
        "host_key": tmp_path / "k",
        "pid_file": tmp_path / "p",
        "authorized_keys": tmp_path / "a",
        "user": "u",
        "env": {},
    }
    assert "PasswordAuthentication no\n" in sshd.render_config(**common)
    text = sshd.render_config(**common, password_auth=True)
    assert "PasswordAuthentication yes\n" in text
    assert "PermitEmptyPasswords no\n" in text and "PubkeyAuthentication yes\n" in text


def test_password_login_works(host: SudoHost) -> None:
    with host.connect(host.target()) as t:
        assert t.run(["id", "-un"]).out.strip() == host.user


def test_wrong_password_gives_a_clear_auth_error(host: SudoHost) -> None:
    wrong = f"Wrong-{secrets.token_hex(12)}"
    with pytest.raises(WizardError) as info:
        host.connect(host.target(password=Secret(wrong, "env:CW_TEST_SSH_PASSWORD")))
    err = info.value
    text = err.render()
    assert f"{host.user}@{host.address}:{host.port}" in err.what
    assert "password" in err.what and "env:CW_TEST_SSH_PASSWORD" in err.what
    assert "PasswordAuthentication" in (err.fix or "")
    assert "Traceback" not in text
    assert wrong not in text and host.password not in text
    assert err.exit_code == 1


# ---------------------------------------------------------------- sudo


def test_sudo_write_keeps_owner_mode_backs_up_once(host: SudoHost) -> None:
    p = root_file(host, "carbon.xml", b"<original/>\n", 0o640, gid=1)
    before = owner_mode(p)
    assert before == (0, 1, 0o640)
    bak = Path(str(p) + ".cw-bak-s1")
    with host.connect(host.sudo_target()) as t:
        with host.connect(host.target()) as plain, pytest.raises(WizardError):
            plain.read(str(p))  # the SSH user itself cannot even read it
        t.write_atomic(str(p), b"<v2/>\n", backup_suffix=".cw-bak-s1")
        assert p.read_bytes() == b"<v2/>\n"
        assert owner_mode(p) == before
        assert bak.read_bytes() == b"<original/>\n"
        assert owner_mode(bak) == before and bak.stat().st_mtime == OLD_MTIME
        assert temps(host) == []
        # the same suffix again: the first backup is kept as it was
        t.write_atomic(str(p), b"<v3/>\n", backup_suffix=".cw-bak-s1")
        assert p.read_bytes() == b"<v3/>\n" and owner_mode(p) == before
        assert bak.read_bytes() == b"<original/>\n" and bak.stat().st_mtime == OLD_MTIME
        # a mode given by the caller wins; the owner stays
        t.write_atomic(str(p), b"<v4/>\n", mode=0o600)
        assert owner_mode(p) == (0, 1, 0o600)
        assert sorted(x.name for x in p.parent.iterdir() if x.name.startswith("carbon")) == [
            "carbon.xml",
            "carbon.xml.cw-bak-s1",
        ]
        assert temps(host) == []


def test_sudo_read_and_run(host: SudoHost) -> None:
    data = os.urandom(70_000) + b"\n"  # above the one-request size, binary
    p = root_file(host, "secret.jks", data, 0o600)
    with host.connect(host.sudo_target()) as t:
        assert t.read(str(p)) == data
        assert t.read(str(p), len(data)) == data
        assert t.run(["id", "-u"], sudo=True).out.strip() == "0"
        assert t.run(["id", "-un"]).out.strip() == "root"  # the host's setting: sudo
        assert t.run(["id", "-un"], sudo=False).out.strip() == host.user
        # stdin after the password line reaches the command intact
        res = t.run("cat; echo; cat " + str(p) + " | wc -c", stdin=b"line1\nline2", sudo=True)
        assert res.out == f"line1\nline2\n{len(data)}\n"
        new = host.home / "repository" / "conf" / f"new-{TAG}.properties"
        t.write_atomic(str(new), b"a=1\n")  # a new file in root's folder: root's, 0644
        assert owner_mode(new) == (0, 0, 0o644) and new.read_bytes() == b"a=1\n"
        assert temps(host) == []


def test_wrong_sudo_password_is_clear_and_changes_nothing(host: SudoHost) -> None:
    p = root_file(host, "user-mgt.xml", b"<stock/>\n", 0o640)
    before = p.stat()
    wrong = f"Sudo-{secrets.token_hex(12)}"
    with host.connect(host.sudo_target(wrong)) as t:
        for suffix in (".cw-bak-w1", None):  # with a backup first, and the plain upload
            with pytest.raises(WizardError) as info:
                t.write_atomic(str(p), b"<changed/>\n", backup_suffix=suffix)
            text = info.value.render()
            assert "did not accept the sudo password (from env:CW_TEST_SUDO_PASSWORD)" in text
            assert f"{host.user}@{host.address}:{host.port}" in text, text
            assert wrong not in text and host.password not in text
            assert "Traceback" not in text
        with pytest.raises(WizardError) as info:
            t.run(["true"], sudo=True)
        assert "did not accept the sudo password" in info.value.what
        with pytest.raises(WizardError) as info:
            t.read(str(p))  # the read's sudo fallback
        assert "did not accept the sudo password" in info.value.what
    after = p.stat()
    assert p.read_bytes() == b"<stock/>\n"
    assert (after.st_uid, after.st_gid, after.st_mode, after.st_mtime) == (
        before.st_uid,
        before.st_gid,
        before.st_mode,
        before.st_mtime,
    )
    assert not Path(str(p) + ".cw-bak-w1").exists()
    assert temps(host) == []


def test_sudo_without_a_password_when_one_is_needed(host: SudoHost) -> None:
    p = root_file(host, "master-datasources.xml", b"<ds/>\n", 0o640)
    with host.connect(host.target(sudo=True)) as t:
        with pytest.raises(WizardError) as info:
            t.write_atomic(str(p), b"<changed/>\n", backup_suffix=".cw-bak-n1")
    err = info.value
    assert f"sudo on {host.user}@{host.address}:{host.port} asks for a password" in err.what
    assert "ssh.sudo_password" in (err.fix or "")
    assert p.read_bytes() == b"<ds/>\n" and temps(host) == []


def test_scanner_sees_a_secret_in_argv(cmdline_scanner: Any) -> None:
    """The scan below can fail: a command line holding a needle is caught."""
    needle = f"Needle-{secrets.token_hex(8)}"
    scanner = cmdline_scanner([needle])
    scanner.start()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", needle])
    try:
        poll(lambda: scanner.hits, deadline=30, what="the scanner to see the needle")
    finally:
        proc.kill()
        proc.wait(10)
        scanner.stop.set()
        scanner.join(10)
    assert any(needle in h for h in scanner.hits)


def test_no_secret_in_any_command_line(host: SudoHost, cmdline_scanner: Any) -> None:
    """While a password login and sudo writes run, no process shows either password."""
    p = root_file(host, "axis2.xml", b"<axis/>\n", 0o640)
    # sudo asks for the user's own password: the SSH and the sudo password are one secret
    scanner = cmdline_scanner([host.password], watch=b"sudo\0-k\0-S\0", pause=0.003)
    scanner.start()
    try:
        with host.connect(host.sudo_target()) as t:
            rounds = 0

            def wrote_while_seen() -> bool:
                nonlocal rounds
                rounds += 1
                t.write_atomic(str(p), f"<axis n='{rounds}'/>\n".encode(), backup_suffix=".b")
                return scanner.seen > 0 and rounds >= 3

            poll(wrote_while_seen, deadline=60, what="a sudo write seen in /proc", interval=0.01)
            assert t.read(str(p)) == f"<axis n='{rounds}'/>\n".encode()
    finally:
        scanner.stop.set()
        scanner.join(10)
    assert scanner.seen > 0, "no sudo process was seen: the scan proves nothing"
    assert scanner.hits == []
    assert host.password not in host.sshd_log.read_text(errors="replace")


# ---------------------------------------------------------------- through the engine


def test_file_edit_step_through_sudo(host: SudoHost) -> None:
    """A catalog-style file_edit on a root-owned 0600 file: check reads it via sudo,
    apply writes it via sudo with the session's backup, the re-check is satisfied."""
    p = root_file(host, "carbon-engine.xml", STOCK_XML, 0o600)
    step = Step(
        id="n1:carbon.xml",
        kind="file_edit",
        host="n1",
        description="carbon.xml HostName",
        inputs={
            "path": str(p),
            "sudo": True,
            "edits": [
                {"op": "set", "locator": "/c:Server/c:HostName", "value": "apim.example.com"}
            ],
        },
    )
    handler = FileEditHandler()
    with host.connect(host.sudo_target()) as t:
        ctx = RunContext(session_id=f"s{TAG}", transport=lambda name: t)
        first = handler.check(step, ctx)
        assert not first.satisfied and "would change" in first.message
        assert handler.apply(step, ctx).satisfied
        fresh = RunContext(session_id=f"s{TAG}", transport=lambda name: t)
        assert handler.check(step, fresh).satisfied
    assert b"<HostName>apim.example.com</HostName>" in p.read_bytes()
    assert owner_mode(p) == (0, 0, 0o600)
    bak = Path(str(p) + backup_suffix(f"s{TAG}"))
    assert bak.read_bytes() == STOCK_XML and owner_mode(bak) == (0, 0, 0o600)
    assert temps(host) == []
