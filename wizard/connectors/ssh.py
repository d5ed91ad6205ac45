"""The SSH transport: one paramiko connection per host, reused for SFTP and commands.

A dropped link (EOF, reset, dead transport) reconnects with backoff, verifying the host
key again, then retries the operation once when it is idempotent (reads, stat, atomic
writes, uploads). A command that was already started is never re-run.
"""

from __future__ import annotations

import posixpath
import secrets
import shlex
import stat as stat_mod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import paramiko
from paramiko.sftp import CMD_EXTENDED

from wizard.connectors.base import (
    MISSING,
    RUN_TMP,
    FileStat,
    Result,
    Written,
    file_changed,
    shell_command,
    sudo_backup_script,
    sudo_install_script,
)
from wizard.connectors.ssh_pipe import list_dir, read_files
from wizard.connectors.ssh_sftp import (
    file_stat,
    is_dir,
    quiet_remove,
    read_at,
    reason,
    request_api,
)
from wizard.connectors.ssh_write import SshWrites
from wizard.connectors.sudo import run_with_sudo

ONE_READ = 65536  # files below this size (by a fresh stat) are read with one request


class SshTransport(SshWrites):
    """File and command access to one host over SSH (one connection, one SFTP session)."""

    # -- files -------------------------------------------------------------------------

    def read(self, path: str, size: int | None = None) -> bytes:
        """The bytes of ``path``; ``size`` (from a stat just made) saves the server a stat."""

        def op(sftp: paramiko.SFTPClient) -> bytes:
            fh = sftp.open(path, "rb")
            try:
                if size is not None and size < ONE_READ:
                    # one request for one byte more than the stat said: exactly the size
                    # back means the whole file (the server stops at its end)
                    head = read_at(sftp, fh, 0, size + 1)
                    if len(head) == size:
                        return head
                    fh.seek(len(head))  # the file changed since the stat: read on to its end
                    return head + fh.read()
                fh.prefetch(size)
                return fh.read()
            finally:
                cast(Any, fh)._close(
                    async_=True
                )  # nothing to wait for: the next request reaps the reply

        try:
            return self._sftp_call(f"reading {path}", op)
        except PermissionError:
            if not self.target.sudo:
                raise self._file_error("read", path, "permission denied") from None
            res = self._sudo(f"cat -- {shlex.quote(path)}")
            return res.check(f"sudo cat {path}", host=self.host).raw_out
        except OSError as exc:
            raise self._file_error("read", path, reason(exc)) from exc

    def read_ahead(self, paths: Sequence[str]) -> None:
        """Read ``paths`` now, in one batch, for the :meth:`read_many` calls that follow:
        each file is handed out once, and every one is dropped at this transport's next
        change on the host (a write, a command, a link...), whoever makes it."""
        got = self.read_many(paths)
        with self._lock:
            self._ahead = {p: v for p, v in got.items() if v[1] is not None}

    def _drop_ahead(self) -> None:
        with self._lock:
            self._ahead = {}

    def read_many(self, paths: Sequence[str]) -> dict[str, tuple[FileStat, bytes | None]]:
        """Stat and bytes of each path, two round trips for all of them (pipelined);
        ``(MISSING, None)`` for a missing path. What the batch could not do (a file
        only sudo reads, a stat refused, a file that changed while read) is done again
        path by path, with the errors :meth:`stat` and :meth:`read` give."""
        with self._lock:
            ahead = self._ahead
            if ahead and paths and all(p in ahead for p in paths):
                return {p: ahead.pop(p) for p in paths}
        got = self._sftp_call(f"reading {len(paths)} files", lambda sftp: read_files(sftp, paths))
        out: dict[str, tuple[FileStat, bytes | None]] = {}
        for path, (st, data) in got.items():
            if st is None:
                st = self.stat(path)
            if data is None and st.exists:
                data = self.read(path, st.size)
            out[path] = (st, data)
        return out

    def stat(self, path: str) -> FileStat:
        def op(sftp: paramiko.SFTPClient) -> FileStat:
            try:
                return file_stat(sftp.stat(path))
            except FileNotFoundError:
                return MISSING

        try:
            return self._sftp_call(f"stat {path}", op)
        except OSError as exc:
            raise self._file_error("stat", path, reason(exc)) from exc

    def exists(self, path: str) -> bool:
        return self.stat(path).exists

    def write_atomic(
        self,
        path: str,
        data: bytes,
        *,
        mode: int | None = None,
        backup_suffix: str | None = None,
        expect: FileStat | None = None,
    ) -> Written:
        self._drop_ahead()  # the host changes: what was read ahead may be stale
        if not self.target.sudo and (self._hardlink_ok or not backup_suffix):
            fast = self._write_pipelined(path, data, mode, backup_suffix, expect)
            if fast is not None:
                return fast
        path, st = self._resolve_link(path)  # rewrite what a symlink points to, keep the link
        if expect is not None and st != expect:
            raise file_changed(path, self.host)
        done = Written(
            path, st.exists, path + backup_suffix if backup_suffix and st.exists else None
        )
        if self._needs_sudo(path, st):
            self._sudo_write(path, data, st, mode, backup_suffix)
            return done
        if backup_suffix and st.exists:
            self._backup(path, path + backup_suffix, st)
        self._put_bytes(path, data, st, mode if mode is not None else (st.perm or 0o644))
        return done

    def _backup(self, path: str, backup: str, st: FileStat) -> None:
        """Keep the original as ``backup`` (once): a hard link to it, which the rename that
        follows leaves holding the old bytes, mode, owner and time; a copy where the server
        or the file system cannot link."""

        def op(sftp: paramiko.SFTPClient) -> bool:
            try:
                sftp.lstat(backup)
                return True  # this session's backup is already there
            except FileNotFoundError:
                pass
            return self._hardlink(sftp, path, backup)

        if self._sftp_call(f"backup of {path}", op):
            return
        self._put_bytes(backup, self.read(path, st.size), st, st.perm)
        self._sftp_call(f"touch {backup}", lambda sftp: sftp.utime(backup, (st.mtime, st.mtime)))

    def _hardlink(self, sftp: paramiko.SFTPClient, old: str, new: str) -> bool:
        if not self._hardlink_ok:
            return False
        try:
            request_api(sftp)._request(CMD_EXTENDED, "hardlink@openssh.com", old, new)
            return True
        except OSError as exc:
            if "unsupported" in str(exc).lower():
                self._hardlink_ok = False  # a server without the extension: copy from now on
            return False

    def _resolve_link(self, path: str) -> tuple[str, FileStat]:
        """The path a write goes to (a symlink's target) and its stat."""

        def op(sftp: paramiko.SFTPClient) -> tuple[str, FileStat]:
            try:
                a = sftp.lstat(path)
            except FileNotFoundError:
                return path, MISSING
            if not stat_mod.S_ISLNK(a.st_mode or 0):
                return path, file_stat(a)
            real = sftp.normalize(path)
            try:
                return real, file_stat(sftp.stat(real))
            except FileNotFoundError:
                return real, MISSING

        try:
            return self._sftp_call(f"resolving {path}", op)
        except OSError as exc:
            raise self._file_error("resolve", path, reason(exc)) from exc

    def put_file(self, local: str | Path, remote: str, mode: int | None = None) -> None:
        self._drop_ahead()  # the host changes: what was read ahead may be stale
        src = Path(local)
        file_mode = src.stat().st_mode & 0o7777 if mode is None else mode
        leftovers: list[str] = []

        def op(sftp: paramiko.SFTPClient) -> None:
            with src.open("rb") as inp:
                chunks = iter(lambda: inp.read(1 << 20), b"")
                self._put(sftp, remote, chunks, MISSING, file_mode, leftovers)

        self._writing(remote, op, leftovers)

    def mkdir_p(self, path: str, mode: int = 0o755) -> None:
        self._drop_ahead()  # the host changes: what was read ahead may be stale

        def op(sftp: paramiko.SFTPClient) -> None:
            todo: list[str] = []
            cur = posixpath.normpath(path)
            while cur not in ("/", "", "."):
                try:
                    sftp.stat(cur)
                    break
                except FileNotFoundError:
                    todo.append(cur)
                    cur = posixpath.dirname(cur)
            for d in reversed(todo):
                try:
                    sftp.mkdir(d, mode)
                except OSError:
                    if not is_dir(sftp, d):
                        raise

        try:
            self._sftp_call(f"mkdir {path}", op)
        except OSError as exc:
            raise self._file_error("create directory", path, reason(exc)) from exc

    def symlink(self, target: str, link: str) -> None:
        """Make ``link`` point to ``target``; replace an existing symlink atomically."""
        self._drop_ahead()  # the host changes: what was read ahead may be stale

        def op(sftp: paramiko.SFTPClient) -> None:
            try:
                a = sftp.lstat(link)
            except FileNotFoundError:
                a = None
            if a is not None:
                if not stat_mod.S_ISLNK(a.st_mode or 0):
                    raise self._file_error("symlink", link, "exists and is not a symlink")
                if sftp.readlink(link) == target:
                    return
            tmp = f"{link}{RUN_TMP}{secrets.token_hex(4)}"
            sftp.symlink(target, tmp)
            try:
                sftp.posix_rename(tmp, link)
            except BaseException:
                quiet_remove(sftp, tmp)
                raise

        try:
            self._sftp_call(f"symlink {link}", op)
        except OSError as exc:
            raise self._file_error("symlink", link, reason(exc)) from exc

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(self._sftp_call(f"listing {path}", lambda sftp: list_dir(sftp, path)))
        except OSError as exc:
            raise self._file_error("list", path, reason(exc)) from exc

    # -- commands ----------------------------------------------------------------------

    def run(
        self,
        cmd: list[str] | str,
        *,
        stdin: bytes | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        sudo: bool | None = None,
    ) -> Result:
        self._drop_ahead()  # the host changes: what was read ahead may be stale
        text = shell_command(cmd, env)
        if sudo if sudo is not None else self.target.sudo:
            return self._sudo(text, stdin=stdin, timeout=timeout)
        return self._exec(text, stdin, timeout)

    # -- sudo --------------------------------------------------------------------------

    def _sudo(
        self, script: str, *, stdin: bytes | None = None, timeout: float | None = None
    ) -> Result:
        return run_with_sudo(self._exec, self.target, self._sudo_state, script, stdin, timeout)

    def _my_uid(self) -> int:
        if self._uid is None:
            self._uid = int(self._exec("id -u", None, 30).check("id -u", host=self.host).out)
        return self._uid

    def _needs_sudo(self, path: str, st: FileStat) -> bool:
        if not self.target.sudo:
            return False
        ref = st if st.exists else self.stat(posixpath.dirname(path) or "/")
        return ref.exists and ref.uid != self._my_uid()

    def _sudo_write(
        self, path: str, data: bytes, st: FileStat, mode: int | None, backup_suffix: str | None
    ) -> None:
        if backup_suffix and st.exists:
            self._sudo(sudo_backup_script(path, path + backup_suffix)).check(
                f"backup of {path}", host=self.host
            )
        tmp = f"/tmp/cw-upload-{secrets.token_hex(8)}"
        self._put_bytes(tmp, data, MISSING, 0o600)
        if st.exists:
            uid, gid, perm = st.uid, st.gid, st.perm
        else:
            parent = self.stat(posixpath.dirname(path) or "/")
            uid, gid, perm = parent.uid, parent.gid, 0o644
        script = sudo_install_script(tmp, path, uid, gid, mode if mode is not None else perm)
        try:
            self._sudo(script).check(f"writing {path} through sudo", host=self.host)
        finally:
            self._exec(f"rm -f {shlex.quote(tmp)}", None, 30)
