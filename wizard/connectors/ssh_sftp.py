"""SFTP requests paramiko has no call for (or makes in more round trips than needed)."""

from __future__ import annotations

import errno
import stat as stat_mod
from typing import Any

import paramiko
from paramiko.sftp import (
    CMD_DATA,
    CMD_FSETSTAT,
    CMD_HANDLE,
    CMD_OPEN,
    CMD_READ,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_EXCL,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
    int64,
)

from wizard.connectors.base import FileStat


def file_stat(a: paramiko.SFTPAttributes) -> FileStat:
    return FileStat(
        True, a.st_mode or 0, a.st_uid or 0, a.st_gid or 0, a.st_size or 0, a.st_mtime or 0
    )


def request_api(sftp: paramiko.SFTPClient) -> Any:
    """paramiko's request API (``_request``): pipelined reads and extensions need it."""
    return sftp


def read_at(sftp: paramiko.SFTPClient, fh: paramiko.SFTPFile, offset: int, n: int) -> bytes:
    try:
        t, msg = request_api(sftp)._request(CMD_READ, fh.handle, int64(offset), n)
    except EOFError:
        return b""
    if t != CMD_DATA:
        raise paramiko.SFTPError("Expected data")
    return msg.get_string()


def create(sftp: paramiko.SFTPClient, path: str, mode: int) -> paramiko.SFTPFile:
    """Open a new file for writing, created with ``mode`` (less the server's umask)."""
    attrs = paramiko.SFTPAttributes()
    attrs.st_mode = mode & 0o777
    flags = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC | SFTP_FLAG_EXCL
    t, msg = request_api(sftp)._request(CMD_OPEN, path, flags, attrs)
    if t != CMD_HANDLE:
        raise paramiko.SFTPError("Expected handle")
    fh = paramiko.SFTPFile(sftp, msg.get_binary(), "wb")
    fh.set_pipelined(True)
    return fh


def set_attrs(
    sftp: paramiko.SFTPClient, fh: paramiko.SFTPFile, mode: int, owner: FileStat | None
) -> None:
    """One FSETSTAT: the exact mode, and the owner of the file being replaced (a no-op
    change when it is the SSH user's own; refused by the server when it is not)."""
    attrs = paramiko.SFTPAttributes()
    attrs.st_mode = mode
    if owner is not None:
        attrs.st_uid, attrs.st_gid = owner.uid, owner.gid
    request_api(sftp)._request(CMD_FSETSTAT, fh.handle, attrs)


def reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    if exc.errno == errno.EACCES:
        return "permission denied"
    return exc.strerror or str(exc) or type(exc).__name__


def quiet_remove(sftp: paramiko.SFTPClient, path: str) -> None:
    try:
        sftp.remove(path)
    except OSError:
        pass


def is_dir(sftp: paramiko.SFTPClient, path: str) -> bool:
    try:
        return stat_mod.S_ISDIR(sftp.stat(path).st_mode or 0)
    except OSError:
        return False
