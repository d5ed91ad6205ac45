"""Pipelined SFTP: many requests sent back to back, their replies read after them.

The server answers requests in the order they came; sending a batch and then reading its
replies costs one round trip for the lot instead of one per request. Only requests
that do not depend on each other's answers share a batch: a read needs the handle its
open returned, a rename must wait for the write and the backup before it to succeed.

:func:`read_files` reads many files in two round trips (stat and open all, then read
and close all). :func:`upload` writes a temp file in two round trips (open with a
private mode; then mode and owner, data, fsync and close), the caller renames it.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any, cast

import paramiko
from paramiko.message import Message
from paramiko.sftp import (
    CMD_ATTRS,
    CMD_CLOSE,
    CMD_DATA,
    CMD_EXTENDED,
    CMD_FSETSTAT,
    CMD_HANDLE,
    CMD_NAME,
    CMD_OPEN,
    CMD_OPENDIR,
    CMD_READ,
    CMD_READDIR,
    CMD_STAT,
    CMD_STATUS,
    CMD_WRITE,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_EXCL,
    SFTP_FLAG_READ,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
    int64,
)

from wizard.connectors.base import MISSING, FileStat
from wizard.connectors.ssh_sftp import file_stat

CHUNK = 32768  # bytes per READ/WRITE request: every SFTP server takes this much
MAX_BATCHED = 4 << 20  # larger files are read on their own, streamed
IN_FLIGHT = 64  # write requests under way at once
Reply = tuple[int, Message]
_ATTRS: Any = paramiko.SFTPAttributes  # _from_msg parses a reply's attributes


class Pipeline:
    """Requests on one SFTP session whose replies are read later, in any number.

    Requests are gathered and leave together when a reply is first asked for (or at
    :meth:`flush`): a batch goes out in as few SSH packets as the channel allows, not
    one packet per request. paramiko hands every reply to a request made here to
    :meth:`_async_response`; :meth:`reply` reads packets until the one asked for came.
    The caller holds the session alone (the transport's SFTP lock) while it uses this,
    and flushes before it uses the session directly.
    """

    def __init__(self, sftp: paramiko.SFTPClient) -> None:
        self._api: Any = sftp  # paramiko's request API (_lock, _expecting, _read_response)
        self._got: dict[int, Reply] = {}
        self._out = bytearray()
        self.sent = 0  # requests sent through this pipeline (for profiling)

    def _async_response(self, t: int, msg: Message, num: int) -> None:
        self._got[num] = (t, msg)

    def _queue(self, owner: object, t: int, args: tuple[Any, ...]) -> int:
        """The request as paramiko's _async_request frames it, kept for the next flush."""
        api = self._api
        msg = Message()
        with api._lock:
            num: int = api.request_number
            api._expecting[num] = owner
            api.request_number += 1
        msg.add_int(num)
        for item in args:
            if isinstance(item, int64):
                msg.add_int64(item)
            elif isinstance(item, int):
                msg.add_int(item)
            elif isinstance(item, paramiko.SFTPAttributes):
                cast(Any, item)._pack(msg)
            else:
                msg.add_string(item)
        body = msg.asbytes()
        self._out += struct.pack(">IB", len(body) + 1, t) + body
        self.sent += 1
        return num

    def send(self, t: int, *args: Any) -> int:
        return self._queue(self, t, args)

    def forget(self, t: int, *args: Any) -> None:
        """A request whose reply nobody waits for (a close): a later read reaps it."""
        self._queue(type(None), t, args)

    def flush(self) -> None:
        if self._out:
            out, self._out = bytes(self._out), bytearray()
            self._api._write_all(out)

    def reply(self, num: int) -> Reply:
        self.flush()
        while num not in self._got:
            self._api._read_response(None)
        return self._got.pop(num)

    def check(self, num: int) -> Message:
        """The reply to ``num``; an error status raised as paramiko raises it (OSError
        with errno ENOENT/EACCES, EOFError at the end of a file)."""
        t, msg = self.reply(num)
        if t == CMD_STATUS:
            self._api._convert_status(msg)  # raises unless SFTP_OK
        return msg

    def outcome(self, num: int) -> Message | BaseException:
        """The reply to ``num``, or the error it carries."""
        try:
            return self.check(num)
        except (OSError, EOFError) as exc:
            return exc

    def handle(self, num: int) -> bytes:
        t, msg = self.reply(num)
        if t == CMD_STATUS:
            self._api._convert_status(msg)
        if t != CMD_HANDLE:
            raise paramiko.SFTPError("Expected handle")
        return msg.get_binary()

    def attrs(self, num: int) -> FileStat:
        """A stat's reply; MISSING when there is no such file."""
        t, msg = self.reply(num)
        if t == CMD_STATUS:
            try:
                self._api._convert_status(msg)
            except FileNotFoundError:
                return MISSING
        if t != CMD_ATTRS:
            raise paramiko.SFTPError("Expected attributes")
        return file_stat(_ATTRS._from_msg(msg))

    def attrs_or_error(self, num: int) -> FileStat | BaseException:
        try:
            return self.attrs(num)
        except (OSError, EOFError, paramiko.SFTPError) as exc:
            return exc

    def data(self, num: int) -> bytes:
        t, msg = self.reply(num)
        if t == CMD_STATUS:
            try:
                self._api._convert_status(msg)
            except EOFError:
                return b""
        if t != CMD_DATA:
            raise paramiko.SFTPError("Expected data")
        return msg.get_string()


def _attrs(mode: int | None, owner: FileStat | None = None) -> paramiko.SFTPAttributes:
    attrs = paramiko.SFTPAttributes()
    if mode is not None:
        attrs.st_mode = mode
    if owner is not None:
        attrs.st_uid, attrs.st_gid = owner.uid, owner.gid
    return attrs


def read_files(
    sftp: paramiko.SFTPClient, paths: Sequence[str]
) -> dict[str, tuple[FileStat | None, bytes | None]]:
    """Stat and bytes of each path, in two round trips for all of them.

    A missing path gives ``(MISSING, None)``. The bytes are None where they were not
    read here (not a regular file, not readable, larger than :data:`MAX_BATCHED`, or
    changed while read) and the stat is None where it failed for another reason than a
    missing file: the caller asks again for those alone, with the errors that brings.
    """
    pipe = Pipeline(sftp)
    asked = [(p, pipe.send(CMD_STAT, p), pipe.send(CMD_OPEN, p, SFTP_FLAG_READ, _attrs(None)))
             for p in dict.fromkeys(paths)]  # fmt: skip
    out: dict[str, tuple[FileStat | None, bytes | None]] = {}
    opened: list[tuple[str, FileStat | None, bytes]] = []
    for path, n_stat, n_open in asked:
        st: FileStat | None
        try:
            st = pipe.attrs(n_stat)
        except (OSError, EOFError, paramiko.SFTPError):
            st = None
        out[path] = (st, None)
        try:
            opened.append((path, st, pipe.handle(n_open)))
        except (OSError, EOFError, paramiko.SFTPError):
            pass
    reads: list[tuple[str, FileStat, list[tuple[int, int, int]]]] = []
    for path, st, handle in opened:  # every read and close of the batch, then the replies
        if st is not None and st.exists and not st.is_dir and st.size <= MAX_BATCHED:
            # one byte past the size the stat gave: exactly the size back is the whole file
            wanted = [(off, min(CHUNK, st.size + 1 - off)) for off in range(0, st.size + 1, CHUNK)]
            nums = [(off, n, pipe.send(CMD_READ, handle, int64(off), n)) for off, n in wanted]
            reads.append((path, st, nums))
        pipe.forget(CMD_CLOSE, handle)
    for path, st, nums in reads:
        parts: list[bytes] = []
        whole = True
        for off, n, num in nums:
            try:
                part = pipe.data(num)
            except (OSError, paramiko.SFTPError):
                part, whole = b"", False
            whole = whole and len(part) == min(n, st.size - off)  # the last asks past the end
            parts.append(part)
        out[path] = (st, b"".join(parts) if whole else None)
    pipe.flush()  # the closes of files that were not read
    return out


def open_temp(pipe: Pipeline, tmp: str) -> int:
    """Send the exclusive create of ``tmp`` (0600 until its mode is set): its request."""
    flags = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC | SFTP_FLAG_EXCL
    return pipe.send(CMD_OPEN, tmp, flags, _attrs(0o600))


def fill(
    pipe: Pipeline,
    handle: bytes,
    chunks: Iterable[bytes],
    mode: int,
    owner: FileStat | None,
    *,
    fsync: bool,
) -> bool:
    """Set the exact mode (and the owner of the file being replaced) before any byte,
    write ``chunks``, fsync and close the handle: one round trip for a file of up to
    :data:`IN_FLIGHT` chunks (a larger one keeps that many requests under way).

    Returns whether the fsync worked (False: not asked, or a server without
    fsync@openssh.com). Raises the first error in request order (:class:`AttrsRefused`
    when the mode or owner was refused); the handle is closed either way.
    """
    n_attr = pipe.send(CMD_FSETSTAT, handle, _attrs(mode, owner))
    pending: deque[int] = deque([n_attr])
    first: list[BaseException] = []

    def settle(num: int) -> None:
        got = pipe.outcome(num)
        if isinstance(got, BaseException) and not first:
            refused = num == n_attr and isinstance(got, PermissionError)
            first.append(AttrsRefused(*got.args) if refused else got)

    offset = 0
    for chunk in chunks:
        for i in range(0, len(chunk), CHUNK):
            if first:
                break
            piece = chunk[i : i + CHUNK]
            pending.append(pipe.send(CMD_WRITE, handle, int64(offset), piece))
            offset += len(piece)
            while len(pending) > IN_FLIGHT:
                settle(pending.popleft())
        if first:
            break
    n_sync = pipe.send(CMD_EXTENDED, "fsync@openssh.com", handle) if fsync and not first else None
    n_close = pipe.send(CMD_CLOSE, handle)
    while pending:
        settle(pending.popleft())
    synced = n_sync is not None and not isinstance(pipe.outcome(n_sync), BaseException)
    settle(n_close)
    if first:
        raise first[0]
    return synced


class AttrsRefused(PermissionError):
    """The server refused the mode or owner of a temp file (the owner is not ours)."""


def list_dir(sftp: paramiko.SFTPClient, path: str) -> list[str]:
    """The names in a folder (not ``.`` and ``..``): two round trips for up to a few
    hundred names (open, then the reads of the listing until its end, pipelined)."""
    pipe = Pipeline(sftp)
    handle = pipe.handle(pipe.send(CMD_OPENDIR, path))
    names: list[str] = []
    try:
        pending = [pipe.send(CMD_READDIR, handle) for _ in range(3)]
        while pending:
            t, msg = pipe.reply(pending.pop(0))
            if t == CMD_STATUS:
                try:
                    pipe._api._convert_status(msg)
                except EOFError:
                    for num in pending:  # the reads sent past the end: EOF too
                        pipe.reply(num)
                    break
            if t != CMD_NAME:
                raise paramiko.SFTPError("Expected name response")
            for _ in range(msg.get_int()):
                name = msg.get_text()
                msg.get_text()  # the long name
                _ATTRS._from_msg(msg)
                if name not in (".", ".."):
                    names.append(name)
            if not pending:
                pending.append(pipe.send(CMD_READDIR, handle))
    finally:
        pipe.forget(CMD_CLOSE, handle)
        pipe.flush()
    return names
