"""Atomic writes over SFTP in few round trips (pipelined, see ssh_pipe): the part of
the SSH transport that puts bytes on the host."""

from __future__ import annotations

import posixpath
import secrets
from collections.abc import Callable, Iterable
from typing import TypeVar, cast

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_EXTENDED, CMD_LSTAT

from wizard.connectors.base import RUN_TMP, FileChanged, FileStat, Written, file_changed
from wizard.connectors.ssh_link import SshLink
from wizard.connectors.ssh_pipe import AttrsRefused, Pipeline, fill, open_temp, read_files
from wizard.connectors.ssh_sftp import quiet_remove, reason
from wizard.errors import WizardError, step_failed

T = TypeVar("T")


class SshWrites(SshLink):
    """Writes of the SSH transport: temp file, mode and owner, bytes, fsync, rename."""

    def _write_pipelined(
        self,
        path: str,
        data: bytes,
        mode: int | None,
        backup_suffix: str | None,
        expect: FileStat | None = None,
    ) -> Written | None:
        """An atomic write in three round trips: the file's and its backup's lstat with
        the temp file's create (a file whose lstat is not ``expect`` stops there); the
        backup's hard link with the temp file's mode, owner, bytes, fsync and close; the
        rename with the new file's lstat. None for a symlink (the caller resolves it)."""
        parent, name = posixpath.split(path)
        backup = path + backup_suffix if backup_suffix else None
        leftovers: list[str] = []

        def op(sftp: paramiko.SFTPClient) -> Written | None:
            tmp = f"{parent or '.'}/.{name}{RUN_TMP}{secrets.token_hex(4)}"
            pipe = Pipeline(sftp)
            asked = [pipe.send(CMD_LSTAT, p) for p in (path, backup) if p is not None]
            n_tmp = open_temp(pipe, tmp)
            found = [pipe.attrs_or_error(n) for n in asked]
            handle = pipe.handle(n_tmp)
            leftovers.append(tmp)
            try:
                for got in found:
                    if isinstance(got, BaseException):
                        raise got
                st = cast(FileStat, found[0])
                if st.is_link or (expect is not None and st != expect):
                    pipe.forget(CMD_CLOSE, handle)
                    pipe.flush()
                    quiet_remove(sftp, tmp)
                    leftovers.remove(tmp)
                    if not st.is_link:
                        raise file_changed(path, self.host)
                    return None
                copy = backup is not None and st.exists and not cast(FileStat, found[1]).exists
                n_link = None
                if copy and self._hardlink_ok:
                    n_link = pipe.send(CMD_EXTENDED, "hardlink@openssh.com", path, backup)
                self._fill(pipe, handle, [data], mode if mode is not None else (st.perm or 0o644),
                           st, path)  # fmt: skip
                if n_link is not None:
                    linked = pipe.outcome(n_link)
                    copy = isinstance(linked, BaseException)
                    if copy and "unsupported" in str(linked).lower():
                        self._hardlink_ok = False  # a server without the extension: copy
                if copy and backup is not None:
                    self._copy(sftp, path, backup, st, leftovers)
                n_rename = pipe.send(CMD_EXTENDED, "posix-rename@openssh.com", tmp, path)
                n_after = pipe.send(CMD_LSTAT, path)
                renamed = pipe.outcome(n_rename)
                after = pipe.attrs_or_error(n_after)  # read either way: the batch is done
                if isinstance(renamed, BaseException):
                    raise renamed
                leftovers.remove(tmp)
            except FileChanged:
                raise  # the temp file is gone already
            except BaseException as exc:
                self._abandon(sftp, tmp, leftovers, exc)
                raise
            backed = backup if backup and st.exists else None
            return Written(path, st.exists, backed, after if isinstance(after, FileStat) else None)

        return self._writing(path, op, leftovers)

    def _copy(
        self, sftp: paramiko.SFTPClient, path: str, backup: str, st: FileStat, leftovers: list[str]
    ) -> None:
        """The backup as a copy (where the server cannot hard link): bytes, mode, owner, time."""
        data = read_files(sftp, [path])[path][1]
        if data is None:
            with sftp.open(path, "rb") as fh:
                data = fh.read()
        self._put(sftp, backup, [data], st, st.perm, leftovers)
        sftp.utime(backup, (st.mtime, st.mtime))

    def _put(
        self,
        sftp: paramiko.SFTPClient,
        path: str,
        chunks: Iterable[bytes],
        st: FileStat,
        mode: int,
        leftovers: list[str],
    ) -> None:
        """Temp file in the same folder (mode and owner set before any byte) -> bytes ->
        fsync -> rename over ``path``: three round trips."""
        parent, name = posixpath.split(path)
        tmp = f"{parent or '.'}/.{name}{RUN_TMP}{secrets.token_hex(4)}"
        pipe = Pipeline(sftp)
        handle = pipe.handle(open_temp(pipe, tmp))
        leftovers.append(tmp)
        try:
            self._fill(pipe, handle, chunks, mode, st, path)
            pipe.check(pipe.send(CMD_EXTENDED, "posix-rename@openssh.com", tmp, path))
            leftovers.remove(tmp)
        except BaseException as exc:
            self._abandon(sftp, tmp, leftovers, exc)
            raise

    def _abandon(
        self, sftp: paramiko.SFTPClient, tmp: str, leftovers: list[str], exc: BaseException
    ) -> None:
        """A failed write's temp file goes (after a link error it stays for the retry)."""
        if not self._is_link_error(exc):
            quiet_remove(sftp, tmp)
            leftovers.remove(tmp)

    def _fill(
        self,
        pipe: Pipeline,
        handle: bytes,
        chunks: Iterable[bytes],
        mode: int,
        st: FileStat,
        path: str,
    ) -> None:
        # exact mode (no umask) and, for a file that exists, its owner: before any data,
        # so a secret is never readable by others for a moment
        try:
            synced = fill(
                pipe, handle, chunks, mode, st if st.exists else None, fsync=self._fsync_ok
            )
        except AttrsRefused:
            raise step_failed(
                f"cannot keep the owner ({st.uid}:{st.gid}) of {path} when "
                f"rewriting it as {self.target.user}",
                fix="enable sudo for this host, or log in as the file's owner",
                host=self.host,
                file=path,
            ) from None
        if not synced:
            self._fsync_ok = False  # a server without the extension

    def _put_bytes(self, path: str, data: bytes, st: FileStat, mode: int) -> None:
        leftovers: list[str] = []
        self._writing(path, lambda sftp: self._put(sftp, path, [data], st, mode, leftovers),
                      leftovers)  # fmt: skip

    def _writing(
        self, path: str, op: Callable[[paramiko.SFTPClient], T], leftovers: list[str]
    ) -> T:
        try:
            return self._sftp_call(f"writing {path}", op)
        except OSError as exc:
            raise self._file_error("write", path, reason(exc)) from exc
        finally:
            if leftovers and self._alive():  # temp files of an attempt cut by a dropped link
                with self._sftp_lock:
                    for tmp in leftovers:
                        quiet_remove(self._sftp_client(), tmp)

    def _file_error(self, op: str, path: str, reason: str) -> WizardError:
        return step_failed(
            f"cannot {op} {path} as {self.target.user or 'the SSH user'}: {reason}",
            fix="check the path and its permissions on the host (or enable sudo for this host)",
            host=self.host,
            file=path,
        )
