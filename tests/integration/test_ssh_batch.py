"""Batched file access (issue 19): many files stat'ed and read in one batch, folder
listings, atomic writes with their backups in few round trips, and the host key scan's
connection reused for the login. Both transports where they share the behaviour."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import paramiko
import pytest

from wizard.connectors import ssh_handshake
from wizard.connectors.base import MISSING, FileChanged, read_files
from wizard.connectors.hostkeys import HostKeyStore, require_trusted, scan_host_keys
from wizard.connectors.pool import open_transport
from wizard.connectors.ssh import SshTransport

from .test_ssh import fs, store, target_from  # noqa: F401 - fixtures


class Sent:
    """SFTP requests and SSH channel writes of ``t`` from now on (SSH only; zeros for
    local): a batch of requests leaves in one write, a round trip per batch."""

    def __init__(self, t: object) -> None:
        self.sftp: Any = t._sftp_client() if isinstance(t, SshTransport) else None
        self.first = self.sftp.request_number if self.sftp is not None else 0
        self.writes = 0
        if self.sftp is not None:
            chan = self.sftp.sock
            real = chan.send

            def send(data: bytes) -> int:
                self.writes += 1
                n: int = real(data)
                return n

            chan.send = send

    def requests(self) -> int:
        return self.sftp.request_number - self.first if self.sftp is not None else 0


def test_read_files_in_one_batch(fs) -> None:  # noqa: F811
    t, d = fs
    small = os.urandom(1000)
    big = os.urandom(200_000)  # several read requests
    for name, data in (("small", small), ("big", big), ("empty", b"")):
        t.write_atomic(f"{d}/{name}", data)
    t.mkdir_p(f"{d}/sub")
    paths = [f"{d}/{n}" for n in ("small", "big", "empty", "missing")]
    sent = Sent(t)
    got = read_files(t, paths)
    requests, writes = sent.requests(), sent.writes
    assert [got[p][1] for p in paths] == [small, big, b"", None]
    assert got[paths[3]][0] == MISSING
    assert [got[p][0].size for p in paths[:3]] == [1000, 200_000, 0]
    if isinstance(t, SshTransport):  # stat+open per file; the reads and the closes
        assert (requests, writes) == (4 * 2 + (1 + 7 + 1) + 3, 2)
    with pytest.raises(Exception, match="sub"):
        read_files(t, [f"{d}/sub"])  # a folder cannot be read, as with read()


def test_listing_of_a_large_folder(fs) -> None:  # noqa: F811
    t, d = fs
    t.run(f"cd {d} && for i in $(seq 1 350); do : > f$i; done")
    names = t.listdir(d)
    assert len(names) == 350 and names[0] == "f1" and "." not in names


def test_atomic_write_and_backup_in_few_requests(fs) -> None:  # noqa: F811
    t, d = fs
    path = f"{d}/conf.xml"
    t.write_atomic(path, b"old\n", mode=0o640)
    sent = Sent(t)
    done = t.write_atomic(path, b"new\n", backup_suffix=".bak")
    requests, writes = sent.requests(), sent.writes
    assert done.existed and done.backup == f"{path}.bak"
    assert t.read(path) == b"new\n" and t.read(f"{path}.bak") == b"old\n"
    assert t.stat(path).perm == 0o640
    if isinstance(t, SshTransport):  # 2 lstat + open; link, mode, data, fsync, close;
        assert (requests, writes) == (3 + 5 + 2, 3)  # rename and the new file's lstat
    assert done.after == t.stat(path)  # what the check after the write compares with
    t.write_atomic(path, b"newer\n", backup_suffix=".bak")
    assert t.read(f"{path}.bak") == b"old\n"  # the first backup stays


def test_a_write_expecting_a_stat_is_refused_when_the_file_changed(fs) -> None:  # noqa: F811
    t, d = fs
    path = f"{d}/conf.xml"
    t.write_atomic(path, b"as read\n")
    seen = t.stat(path)
    t.write_atomic(path, b"someone else's edit, longer\n")  # between the read and the write
    before = sorted(t.listdir(d))
    with pytest.raises(FileChanged, match="changed on the host"):
        t.write_atomic(path, b"ours\n", backup_suffix=".bak", expect=seen)
    assert t.read(path) == b"someone else's edit, longer\n"
    assert sorted(t.listdir(d)) == before  # no temp file, no backup left
    done = t.write_atomic(path, b"ours\n", backup_suffix=".bak", expect=t.stat(path))
    assert t.read(path) == b"ours\n" and done.backup == f"{path}.bak"
    new = f"{d}/new.xml"
    t.write_atomic(new, b"created\n", expect=MISSING)  # expected missing, and it is
    with pytest.raises(FileChanged):
        t.write_atomic(new, b"again\n", expect=MISSING)


@pytest.mark.lab
def test_the_scan_connection_is_the_login_connection(lab, store: HostKeyStore) -> None:  # noqa: F811
    ssh_handshake.close_all()
    h = lab["hosts"][0]
    target = target_from(h, pin=False)
    statuses = scan_host_keys([target], store)
    require_trusted(statuses, store, accept_new=True)
    parked = ssh_handshake._parked[(h["address"], h["ssh_port"])][0][0]
    # no Nagle from the first packet: each login message would wait for a delayed ACK
    assert parked.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    t = open_transport(target, store)
    try:
        assert isinstance(t, SshTransport)
        assert t._transport() is parked and parked.is_authenticated()
        assert not ssh_handshake._parked  # taken
        assert t.run(["id", "-un"]).out.strip() == h["user"]
    finally:
        t.close()


@pytest.mark.lab
def test_a_parked_connection_is_verified_again(lab, tmp_path: Path) -> None:
    """A key trusted at the scan but not any more at the login is refused."""
    ssh_handshake.close_all()
    h = lab["hosts"][0]
    empty = HostKeyStore(tmp_path / "known_hosts", user_file=None)
    scan_host_keys([target_from(h, pin=False)], empty)  # unknown, parked anyway
    with pytest.raises(Exception, match="unknown host key"):
        open_transport(target_from(h, pin=False), empty)
    assert not ssh_handshake._parked


@pytest.mark.lab
def test_a_dead_parked_connection_gives_way_to_a_new_one(lab, store: HostKeyStore) -> None:  # noqa: F811
    ssh_handshake.close_all()
    h = lab["hosts"][0]
    scan_host_keys([target_from(h)], store)
    parked: paramiko.Transport = ssh_handshake._parked[(h["address"], h["ssh_port"])][0][0]
    parked.sock.close()  # the server or the network dropped it
    t = open_transport(target_from(h), store)
    try:
        assert t.run(["true"]).ok
        fresh = t._transport()
        assert fresh is not parked
        assert fresh.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        t.close()


@pytest.mark.lab
@pytest.mark.parametrize(
    "change",
    ["write", "run", "mkdir", "symlink"],
)
def test_files_read_ahead_are_handed_out_once_until_the_host_changes(
    lab,  # noqa: F811
    store: HostKeyStore,  # noqa: F811
    change: str,
) -> None:
    h = lab["hosts"][0]
    with SshTransport(target_from(h), store) as t:
        d = f"/tmp/cw-ahead-{os.getpid()}-{change}"
        t.run(["rm", "-rf", "--", d])
        t.mkdir_p(d)
        try:
            paths = [f"{d}/a.xml", f"{d}/b.xml", f"{d}/c.xml"]
            for i, p in enumerate(paths):
                t.write_atomic(p, f"<v>{i}</v>\n".encode())
            t.read_ahead(paths)
            sent = Sent(t)
            assert read_files(t, [paths[0]])[paths[0]][1] == b"<v>0</v>\n"
            assert sent.requests() == 0  # from what was read ahead
            assert read_files(t, [paths[0]])[paths[0]][1] == b"<v>0</v>\n"
            assert sent.requests() > 0  # handed out once: read again
            # someone else changes a file on the host (not through this transport)...
            Path(paths[2]).write_bytes(b"<v>new</v>\n")
            # ...and any change this transport makes drops what it read ahead
            if change == "write":
                t.write_atomic(f"{d}/other.xml", b"<v/>\n")
            elif change == "run":
                t.run(["true"])
            elif change == "mkdir":
                t.mkdir_p(f"{d}/sub")
            else:
                t.symlink(paths[0], f"{d}/link.xml")
            before = sent.requests()
            assert read_files(t, [paths[2]])[paths[2]][1] == b"<v>new</v>\n"
            assert read_files(t, [paths[1]])[paths[1]][1] == b"<v>1</v>\n"
            assert sent.requests() > before  # read from the host, not from the batch
        finally:
            t.run(["rm", "-rf", "--", d])
