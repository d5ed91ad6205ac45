"""The SSH and local transports against real sshd hosts of the lab (and this machine).

Behaviour both transports share is parametrized over ``ssh`` (first lab host) and
``local`` (a temp dir here). Host key, reconnect and auth tests need the lab.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from wizard.connectors.base import TMP_MARK, HostTarget, Transport
from wizard.connectors.hostkeys import (
    CHANGED,
    KNOWN,
    UNKNOWN,
    HostKeyStore,
    require_trusted,
    scan_host_keys,
    scan_one,
)
from wizard.connectors.local import LocalTransport
from wizard.connectors.parallel import run_per_host
from wizard.connectors.pool import ConnectionCache, open_transport
from wizard.connectors.ssh import SshTransport
from wizard.errors import WizardError
from wizard.wait import poll


def target_from(h: dict, *, pin: bool = True, **over: object) -> HostTarget:
    fields: dict = {
        "name": h["name"],
        "address": h["address"],
        "port": h["ssh_port"],
        "user": h["user"],
        "key_file": h["key"],
        "host_key": h["host_key"] if pin else None,
        "connect_timeout": 5.0,
    }
    fields.update(over)
    return HostTarget(**fields)


def scratch_dir(h: dict) -> str:
    """A fresh directory next to the host's product home (the host user owns its home)."""
    return f"{posixpath.dirname(h['home'])}/cwtest-ssh-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def store(tmp_path: Path) -> HostKeyStore:
    return HostKeyStore(tmp_path / "session" / "known_hosts", user_file=None)


@pytest.fixture(params=[pytest.param("ssh", marks=pytest.mark.lab), "local"])
def fs(request, tmp_path, store):
    """(transport, an empty directory it may write in)."""
    if request.param == "local":
        work = tmp_path / "work"
        work.mkdir()
        with LocalTransport() as t:
            yield t, str(work)
        return
    h = request.getfixturevalue("lab")["hosts"][0]
    work = scratch_dir(h)
    with SshTransport(target_from(h), store) as t:
        t.mkdir_p(work)
        yield t, work
        t.run(["rm", "-rf", "--", work])


def no_temps(t: Transport, d: str) -> list[str]:
    return [n for n in t.listdir(d) if TMP_MARK in n]


# ---------------------------------------------------------------- shared behaviour


def test_write_atomic_keeps_mode_backs_up_once_leaves_no_temp(fs):
    t, d = fs
    p = f"{d}/carbon.xml"
    t.write_atomic(p, b"<original/>\n", mode=0o640)
    assert t.stat(p).perm == 0o640
    owner = (t.stat(p).uid, t.stat(p).gid)
    t.write_atomic(p, b"<v2/>\n", backup_suffix=".cw-bak-s1")
    t.write_atomic(p, b"<v3/>\n", backup_suffix=".cw-bak-s1")
    assert t.read(p) == b"<v3/>\n"
    assert t.read(p + ".cw-bak-s1") == b"<original/>\n"  # the first original, kept once
    after = t.stat(p)
    assert (after.perm, after.uid, after.gid, after.size) == (0o640, *owner, 6)
    assert t.stat(p + ".cw-bak-s1").perm == 0o640
    assert t.listdir(d) == ["carbon.xml", "carbon.xml.cw-bak-s1"]
    # another session's suffix gets its own backup of what is there now
    t.write_atomic(p, b"<v4/>\n", mode=0o600, backup_suffix=".cw-bak-s2")
    assert t.read(p + ".cw-bak-s2") == b"<v3/>\n"
    assert t.stat(p).perm == 0o600
    assert no_temps(t, d) == []


@pytest.mark.parametrize("link", [True, False], ids=["hardlink", "copy"])
def test_backup_holds_the_original_bytes_mode_and_time(fs, monkeypatch, link):
    """The backup is a hard link to the original (the rename leaves it the old inode), or a
    copy where the server cannot link: either way the old bytes, mode and mtime."""
    t, d = fs
    if not link:
        kind = SshTransport if isinstance(t, SshTransport) else LocalTransport
        if kind is SshTransport:
            monkeypatch.setattr(kind, "_hardlink", lambda self, sftp, old, new: False)
        else:
            monkeypatch.setattr(os, "link", _no_link)
    p = f"{d}/user-mgt.xml"
    t.write_atomic(p, b"<stock/>\n", mode=0o604)
    t.run(["touch", "-d", "2020-01-02 03:04:05", p])
    before = t.stat(p)
    t.write_atomic(p, b"<edited/>\n", backup_suffix=".bak")
    bak = t.stat(p + ".bak")
    assert t.read(p + ".bak") == b"<stock/>\n" and t.read(p) == b"<edited/>\n"
    assert (bak.perm, int(bak.mtime), bak.uid) == (0o604, int(before.mtime), before.uid)
    links = t.run(["stat", "-c", "%h", p, p + ".bak"]).out.split()
    assert links == ["1", "1"]  # two files now, whichever way the backup was made
    assert no_temps(t, d) == []


def _no_link(src: object, dst: object) -> None:
    raise OSError(1, "Operation not permitted")


def test_read_with_a_stale_size_hint_reads_the_whole_file(fs):
    t, d = fs
    p = f"{d}/grown.xml"
    data = os.urandom(70_000)
    t.write_atomic(p, data)
    assert t.read(p, 10) == data  # a file grown since its stat is read to the end
    assert t.read(p, 200_000) == data  # or shrunk
    assert t.read(p, 0) == data
    assert t.read(p, 70_000) == data and t.read(p) == data
    t.write_atomic(p, b"")
    assert t.read(p, 0) == b"" and t.read(p, 5) == b""
    t.write_atomic(p, data[:100])
    assert t.read(p, 100) == data[:100] and t.read(p, 300) == data[:100]


def test_new_file_gets_given_or_default_mode(fs):
    t, d = fs
    t.write_atomic(f"{d}/plain.properties", b"a=b\n")
    t.write_atomic(f"{d}/db.password", b"s3cret\n", mode=0o600, backup_suffix=".bak")
    assert t.stat(f"{d}/plain.properties").perm == 0o644
    assert t.stat(f"{d}/db.password").perm == 0o600
    assert not t.exists(f"{d}/db.password.bak")  # nothing to back up for a new file
    big = os.urandom(3 * 1024 * 1024 + 7)
    t.write_atomic(f"{d}/big.bin", big)
    assert t.read(f"{d}/big.bin") == big
    assert no_temps(t, d) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a file of another owner")
def test_file_of_another_owner(fs):
    """Local as root keeps the owner; a non-root SSH user is refused and nothing changes."""
    t, d = fs
    p = f"{d}/owned.xml"
    t.write_atomic(p, b"<a/>\n", mode=0o666)
    os.chown(p, 4321, 4321)  # lab hosts live on this machine: same path here
    if isinstance(t, LocalTransport):
        t.write_atomic(p, b"<b/>\n")
        st = t.stat(p)
        assert (st.uid, st.gid, st.perm, t.read(p)) == (4321, 4321, 0o666, b"<b/>\n")
    else:
        with pytest.raises(WizardError) as info:
            t.write_atomic(p, b"<b/>\n")
        assert "owner" in info.value.what and "sudo" in (info.value.fix or "")
        assert t.read(p) == b"<a/>\n"
    assert no_temps(t, d) == []


def test_write_through_symlink_keeps_the_link(fs):
    t, d = fs
    t.mkdir_p(f"{d}/conf")
    t.write_atomic(f"{d}/conf/real.xml", b"<a/>\n", mode=0o640)
    t.symlink("conf/real.xml", f"{d}/link.xml")
    t.write_atomic(f"{d}/link.xml", b"<b/>\n", backup_suffix=".bak")
    assert t.run(["readlink", f"{d}/link.xml"]).out == "conf/real.xml\n"
    assert t.read(f"{d}/conf/real.xml") == b"<b/>\n"
    assert t.read(f"{d}/conf/real.xml.bak") == b"<a/>\n"
    assert t.stat(f"{d}/conf/real.xml").perm == 0o640


def test_one_transport_serves_many_threads(fs):
    t, d = fs

    def work(i: int) -> tuple[bytes, str]:
        data = os.urandom(50_000 + i)
        t.write_atomic(f"{d}/f{i}", data, backup_suffix=".bak")
        return t.read(f"{d}/f{i}") == data, t.run(["echo", str(i)]).out

    out = run_per_host(range(12), work, parallelism=6)
    assert [out[i] for i in range(12)] == [(True, f"{i}\n") for i in range(12)]
    assert len(t.listdir(d)) == 12 and no_temps(t, d) == []


def _sftp_sessions(user: str) -> list[int]:
    """The pids of ``user``'s SFTP sessions (the lab's sshd: Subsystem internal-sftp, a
    process of its own per session, the connection's process its parent)."""
    out = subprocess.run(["ps", "-o", "pid=,args=", "-u", user], capture_output=True, text=True)
    return [int(line.split()[0]) for line in out.stdout.splitlines() if "@internal-sftp" in line]


@pytest.mark.lab
def test_an_ended_sftp_session_is_opened_again_on_the_same_connection(lab, store):
    """The host's SFTP session ends while the SSH connection stays up (its process killed):
    the next file call opens a new session on the same connection and succeeds; a command
    channel on it works throughout (no reconnect, nothing else of the link torn down)."""
    h = lab["hosts"][0]
    d = scratch_dir(h)
    with SshTransport(target_from(h), store) as t:
        t.mkdir_p(d)
        t.write_atomic(f"{d}/f", b"before\n")
        sessions = _sftp_sessions(h["user"])
        assert sessions
        for pid in sessions:
            os.kill(pid, signal.SIGKILL)
        poll(lambda: not set(sessions) & set(_sftp_sessions(h["user"])), deadline=10)
        assert t.read(f"{d}/f") == b"before\n"
        t.write_atomic(f"{d}/f", b"after\n")
        assert t.read(f"{d}/f") == b"after\n"
        assert t.run(["echo", "up"]).out == "up\n"
        assert t.reconnects == 0


def test_missing_file_is_reported_with_path(fs):
    t, d = fs
    p = f"{d}/nope/carbon.xml"
    st = t.stat(p)
    assert not st.exists and not t.exists(p)
    with pytest.raises(WizardError) as info:
        t.read(p)
    assert p in info.value.render()
    assert "no such file" in info.value.what.lower()


def test_run_quotes_arguments_and_reports_rc_out_err(fs):
    t, _ = fs
    r = t.run(["printf", "%s|", "a b", "it's", "$HOME", "*", ""])
    assert (r.rc, r.out) == (0, "a b|it's|$HOME|*||")
    r = t.run("echo out; echo err >&2; exit 7")
    assert (r.rc, r.out, r.err, r.ok) == (7, "out\n", "err\n", False)
    with pytest.raises(WizardError) as info:
        r.check("the thing")
    assert "exit 7" in info.value.what and "err" in info.value.what
    r = t.run(["sh", "-c", 'printf %s "$CW_X"'], env={"CW_X": "v 1 'q'"})
    assert r.out == "v 1 'q'"
    big = os.urandom(2 * 1024 * 1024)  # both pipes busy at once must not deadlock
    r = t.run("cat; head -c 300000 /dev/zero >&2", stdin=big, timeout=30)
    assert (r.raw_out, len(r.err)) == (big, 300000)


def test_run_timeout_ends_the_command(fs):
    t, _ = fs
    nap = f"7.{uuid.uuid4().int % 10**6:06d}"
    start = time.monotonic()
    with pytest.raises(WizardError) as info:
        t.run(["sleep", nap], timeout=0.4)
    assert "timed out after 0.4s" in info.value.what
    assert time.monotonic() - start < 7  # ended at the timeout, not when the command ended
    # nothing lingers on the host
    poll(lambda: all(f"sleep\0{nap}".encode() not in c for c in _cmdlines()), deadline=5)
    assert t.run(["echo", "still usable"]).out == "still usable\n"


def _cmdlines() -> list[bytes]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    out.append(fh.read())
            except OSError:
                pass
    return out


def test_secret_on_stdin_never_in_any_command_line(fs):
    """The host's process list (ps) never shows a secret passed to a command."""
    t, _ = fs
    secret = f"S3cr3t-{uuid.uuid4().hex}"
    nap = f"0.5{uuid.uuid4().int % 10**5:05d}"  # a sleep we can recognise in /proc
    cmd = f'IFS= read -r pw; sleep {nap}; printf %s "$pw" | sha256sum'
    box: dict = {}
    runner = threading.Thread(
        target=lambda: box.update(r=t.run(cmd, stdin=secret.encode() + b"\n", timeout=20))
    )
    runner.start()
    seen_sleep = leaks = 0
    while runner.is_alive():
        for line in _cmdlines():
            seen_sleep += f"sleep\0{nap}".encode() in line
            leaks += secret.encode() in line
        time.sleep(0.02)
    runner.join()
    assert seen_sleep > 0, "the command was not seen running: the scan proves nothing"
    assert leaks == 0
    assert box["r"].out.split()[0] == hashlib.sha256(secret.encode()).hexdigest()


def test_dirs_links_listing_and_upload(fs, tmp_path):
    t, d = fs
    t.mkdir_p(f"{d}/a/b/c")
    t.mkdir_p(f"{d}/a/b/c")
    assert t.stat(f"{d}/a/b/c").is_dir
    jar = tmp_path / "driver.jar"
    jar.write_bytes(os.urandom(300_001))
    t.put_file(jar, f"{d}/a/lib.jar", mode=0o644)
    assert t.read(f"{d}/a/lib.jar") == jar.read_bytes()
    assert t.stat(f"{d}/a/lib.jar").perm == 0o644
    t.symlink("b", f"{d}/a/current")
    t.symlink("b", f"{d}/a/current")
    t.symlink("b/c", f"{d}/a/current")  # re-pointed
    assert t.run(["readlink", f"{d}/a/current"]).out == "b/c\n"
    with pytest.raises(WizardError):
        t.symlink("b", f"{d}/a/lib.jar")  # never replaces a regular file
    assert t.listdir(f"{d}/a") == ["b", "current", "lib.jar"]


# ---------------------------------------------------------------- SSH only


@pytest.mark.lab
def test_every_lab_host_over_one_cached_connection(lab, store):
    hosts = [target_from(h) for h in lab["hosts"]]
    with ConnectionCache(lambda h: open_transport(h, store)) as cache:
        users = run_per_host(hosts, lambda h: cache.get(h).run(["id", "-un"]).out.strip())
        again = run_per_host(hosts, lambda h: cache.get(h))
        assert {h.name: users[h] for h in hosts} == {h["name"]: h["user"] for h in lab["hosts"]}
        assert all(again[h] is cache.get(h) for h in hosts)
        t = cache.get(hosts[0])
        assert isinstance(t, SshTransport)
        first = _session_pid(t)  # files and commands share one connection
        t.listdir("/")
        t.stat(lab["hosts"][0]["home"])
        assert _session_pid(t) == first and t.reconnects == 0
    assert not store.session_file.exists()  # pinned keys need no known_hosts entry


class SlowLink:
    """A TCP relay to ``(address, port)`` that adds ``delay`` seconds before connecting,
    like a distant host. Each client gets its own relay threads. With a ``gate`` (a barrier
    shared by several links) a client also waits there: it goes on only when every link
    has a client of its own at the same time."""

    def __init__(
        self, address: str, port: int, delay: float, gate: threading.Barrier | None = None
    ) -> None:
        self.target = (address, port)
        self.delay = delay
        self.gate = gate
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        time.sleep(self.delay)
        if self.gate is not None:
            try:
                self.gate.wait()
            except threading.BrokenBarrierError:  # the clients did not come at once
                client.close()
                return
        with client, socket.create_connection(self.target) as upstream:

            def pump(a: socket.socket, b: socket.socket) -> None:
                try:
                    while data := a.recv(65536):
                        b.sendall(data)
                except OSError:
                    pass
                finally:
                    try:
                        b.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass

            back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
            back.start()
            pump(client, upstream)
            back.join(5)

    def close(self) -> None:
        self.server.close()


@pytest.mark.lab
def test_host_key_scan_runs_in_parallel(lab, store):
    """Behind 0.2s of latency per host, a scan of all hosts waits for them side by side:
    every host's connection is open at once (the links let a client through only then)."""
    delay = 0.2
    links = [SlowLink(h["address"], h["ssh_port"], delay) for h in lab["hosts"]]
    try:
        hosts = [
            HostTarget(name=h["name"], address="127.0.0.1", port=link.port)
            for h, link in zip(lab["hosts"], links, strict=True)
        ]
        start = time.monotonic()
        sequential = [scan_one(store, h) for h in hosts]
        t_seq = time.monotonic() - start
        gate = threading.Barrier(len(links), timeout=30)  # one host at a time breaks it
        for link in links:
            link.gate = gate
        start = time.monotonic()
        parallel = scan_host_keys(hosts, store)
        t_par = time.monotonic() - start
    finally:
        for link in links:
            link.close()
    print(
        f"\nscan behind {delay}s latency, {len(hosts)} hosts: seq {t_seq:.2f}s, parallel {t_par:.2f}s"
    )
    want = [h["host_key_fingerprint"] for h in lab["hosts"]]
    assert [s.fingerprint for s in sequential] == [s.fingerprint for s in parallel] == want
    assert not gate.broken  # every host's connection was open at the same time


@pytest.mark.lab
def test_unknown_keys_collected_in_one_scan_then_pinned(lab, store):
    hosts = [target_from(h, pin=False) for h in lab["hosts"]]
    start = time.monotonic()
    statuses = scan_host_keys(hosts, store)
    print(f"\nhost key scan of {len(hosts)} lab hosts: {time.monotonic() - start:.3f}s")
    assert [s.state for s in statuses] == [UNKNOWN] * len(hosts)
    assert [s.fingerprint for s in statuses] == [h["host_key_fingerprint"] for h in lab["hosts"]]
    with pytest.raises(WizardError) as info:  # headless without --accept-new-host-keys
        require_trusted(statuses, store)
    assert all(h["host_key_fingerprint"] in info.value.what for h in lab["hosts"])
    with pytest.raises(WizardError):
        SshTransport(hosts[0], store)  # an unknown key is never accepted on connect
    assert not store.session_file.exists()
    pinned = require_trusted(statuses, store, accept_new=True)
    assert len(pinned) == len(hosts)
    lines = store.session_file.read_text().splitlines()
    assert lines == [f"[{h['address']}]:{h['ssh_port']} {h['host_key']}" for h in lab["hosts"]]
    assert [s.state for s in scan_host_keys(hosts, store)] == [KNOWN] * len(hosts)
    with SshTransport(hosts[0], store) as t:
        assert t.run(["true"]).ok


@pytest.mark.lab
def test_changed_key_refused_before_any_write(lab, store):
    h, other = lab["hosts"][0], lab["hosts"][1]
    assert h["host_key"] != other["host_key"], "every lab host has a host key of its own"
    marker = f"{scratch_dir(h)}-marker"
    wrong = target_from(h, host_key=other["host_key"])
    with pytest.raises(WizardError) as info:
        with SshTransport(wrong, store) as t:
            t.write_atomic(marker, b"must not happen")
    msg = info.value.render()
    pattern = f"[{h['address']}]:{h['ssh_port']}"
    assert "CHANGED" in msg and pattern in msg and info.value.where.host == h["name"]
    assert other["host_key_fingerprint"] in msg and h["host_key_fingerprint"] in msg
    assert "host_key" in (info.value.fix or "")
    assert not os.path.exists(marker)
    # the same through a stale known_hosts entry: the fix names file and line
    store.session_file.parent.mkdir(parents=True, exist_ok=True)
    text = f"# session\n{pattern} {other['host_key']}\n"
    store.session_file.write_text(text)
    statuses = scan_host_keys([target_from(h, pin=False)], store)
    assert statuses[0].state == CHANGED
    with pytest.raises(WizardError) as info:
        require_trusted(statuses, store, accept_new=True)
    assert f"{store.session_file} line 2" in (info.value.fix or "")
    assert store.session_file.read_text() == text


def _session_pid(t: SshTransport) -> int:
    """The sshd process serving this connection (parent of the command's shell)."""
    return int(t.run("echo $PPID").out)


@pytest.mark.lab
def test_dropped_connection_reconnects_and_retries(lab, store):
    h = lab["hosts"][0]
    work = scratch_dir(h)
    with SshTransport(target_from(h), store, backoff=0.05) as t:
        t.mkdir_p(work)
        p = f"{work}/state.xml"
        t.write_atomic(p, b"before")
        os.kill(_session_pid(t), signal.SIGKILL)
        assert t.read(p) == b"before"  # reconnected, host key checked again
        assert t.reconnects == 1
        t._client.get_transport().sock.shutdown(socket.SHUT_RDWR)  # the link dies under us
        t.write_atomic(p, b"after", backup_suffix=".bak")
        assert t.read(p) == b"after" and t.read(p + ".bak") == b"before"
        assert t.reconnects == 2
        os.kill(_session_pid(t), signal.SIGKILL)
        t.run(f"echo once >> {work}/log")  # a command is started on a live link only
        assert t.read(f"{work}/log") == b"once\n"
        assert no_temps(t, work) == []
        t.run(["rm", "-rf", "--", work])


@pytest.mark.lab
def test_reconnect_verifies_host_key_again(lab, store):
    h = lab["hosts"][0]
    other = lab["hosts"][-1]
    assert h["host_key"] != other["host_key"], "every lab host has a host key of its own"
    require_trusted(scan_host_keys([target_from(h, pin=False)], store), store, accept_new=True)
    with SshTransport(target_from(h, pin=False), store, backoff=0.05) as t:
        pattern = f"[{h['address']}]:{h['ssh_port']}"
        store.session_file.write_text(f"{pattern} {other['host_key']}\n")  # now "changed"
        os.kill(_session_pid(t), signal.SIGKILL)
        with pytest.raises(WizardError) as info:
            t.read(h["home"] + "/../.carbon-env")
        assert "CHANGED" in info.value.what


@pytest.mark.lab
def test_auth_failure_names_key_user_and_endpoint(lab, store, tmp_path):
    h = lab["hosts"][0]
    key = tmp_path / "not_authorized"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30
    )
    with pytest.raises(WizardError) as info:
        SshTransport(target_from(h, key_file=str(key)), store)
    endpoint = f"{h['user']}@{h['address']}:{h['ssh_port']}"
    assert f"key {key} not accepted by {endpoint}" in info.value.what
    assert "authorized_keys" in (info.value.fix or "")
    assert info.value.where.host == h["name"]
    key.chmod(0o644)
    with pytest.raises(WizardError) as info:
        SshTransport(target_from(h, key_file=str(key)), store)
    assert info.value.fix == f"chmod 600 {key}"


@pytest.mark.lab
def test_login_through_ssh_agent(lab, store, tmp_path, monkeypatch):
    h = lab["hosts"][0]
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        poll(sock.exists, deadline=10, what="ssh-agent socket")
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", h["key"]], env=env, check=True, timeout=30)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        with SshTransport(target_from(h, key_file=None, use_agent=True), store) as t:
            assert t.run(["id", "-un"]).out.strip() == h["user"]
        subprocess.run(["ssh-add", "-q", "-D"], env=env, check=True, timeout=30)
        with pytest.raises(WizardError) as info:
            SshTransport(target_from(h, key_file=None, use_agent=True), store)
        assert "agent" in info.value.what and h["user"] in info.value.what
    finally:
        agent.terminate()
        agent.wait(10)


def test_unreachable_host_names_endpoint(store):
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    target = HostTarget(name="gone", address="127.0.0.1", port=port, user="nobody", use_agent=True)
    with pytest.raises(WizardError) as info:
        SshTransport(target, store)
    assert f"cannot reach nobody@127.0.0.1:{port}" in info.value.what
    assert info.value.where.host == "gone"
    statuses = scan_host_keys([target], store)
    assert statuses[0].state == "unreachable"
    with pytest.raises(WizardError) as info:
        require_trusted(statuses, store, accept_new=True)
    assert f"127.0.0.1:{port}" in info.value.what


def test_silent_server_times_out_with_endpoint(store):
    with socket.create_server(("127.0.0.1", 0)) as server:  # accepts, never says a word
        port = server.getsockname()[1]
        target = HostTarget(
            name="mute",
            address="127.0.0.1",
            port=port,
            user="u",
            use_agent=True,
            connect_timeout=0.5,
        )
        start = time.monotonic()
        with pytest.raises(WizardError) as info:
            SshTransport(target, store)
        assert time.monotonic() - start < 5
    assert f"u@127.0.0.1:{port}" in info.value.what
    assert "timed out" in info.value.what


def test_run_per_host_collects_results_and_exceptions():
    together = threading.Barrier(6, timeout=30)  # one at a time, it would break

    def work(n: int) -> int:
        together.wait()  # side by side: all six hosts are under way at once
        if n == 3:
            raise ValueError("bad host")
        return n * 10

    out = run_per_host(range(6), work, parallelism=6)
    assert [out[n] for n in (0, 1, 2, 4, 5)] == [0, 10, 20, 40, 50]
    assert isinstance(out[3], ValueError)
