"""One SSH connection per host: opening, keepalive, reconnect with backoff, commands.

A dropped link (EOF, reset, dead transport) is re-opened with backoff, verifying the
host key again; :meth:`SshLink._idempotent` then retries the operation once. A command
is only ever started on a live link and is never re-run.
"""

from __future__ import annotations

import shlex
import socket
import threading
import time
from collections.abc import Callable
from typing import Self, TypeVar

import paramiko

from wizard.connectors.base import FileStat, HostTarget, Result
from wizard.connectors.hostkeys import HostKeyError, HostKeyStore
from wizard.connectors.ssh_connect import connect_client
from wizard.connectors.ssh_run import exec_channel
from wizard.connectors.sudo import SudoState
from wizard.errors import WizardError, step_failed
from wizard.wait import Timeout, poll

T = TypeVar("T")
SFTP_TIMEOUT = 60.0  # seconds without any answer to one SFTP request


class SshLink:
    """One SSH connection to a host: verified, kept alive, re-opened when it drops."""

    def __init__(
        self,
        target: HostTarget,
        store: HostKeyStore,
        *,
        reconnect_attempts: int = 4,
        backoff: float = 0.25,
    ) -> None:
        self.target = target
        self.store = store
        self.host = target.name
        self.reconnect_attempts = reconnect_attempts
        self.backoff = backoff
        self.reconnects = 0  # how many times the link was re-established
        self._lock = threading.RLock()
        self._closed = False
        self._sftp_lock = threading.Lock()  # paramiko's SFTPClient takes one request at a time
        self._client: paramiko.SSHClient | None = connect_client(target, store)
        self._sftp: paramiko.SFTPClient | None = None
        self._uid: int | None = None
        self._fsync_ok = True
        self._hardlink_ok = True
        self._sudo_state = SudoState()
        self._ahead: dict[str, tuple[FileStat, bytes | None]] = {}  # files read ahead

    # -- connection --------------------------------------------------------------------

    def _transport(self) -> paramiko.Transport:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the SSH transport to {self.host} was closed")
            if self._client is None:
                self._reconnect()
            assert self._client is not None
            t = self._client.get_transport()
            if t is None or not t.is_active():
                self._reconnect()
                t = self._client.get_transport()
            assert t is not None
            return t

    def _alive(self) -> bool:
        """True when the connection is up (checked without reconnecting)."""
        client = self._client
        t = client.get_transport() if client is not None else None
        return t is not None and t.is_active()

    def _sftp_client(self) -> paramiko.SFTPClient:
        with self._lock:
            t = self._transport()
            channel = self._sftp.get_channel() if self._sftp is not None else None
            if self._sftp is None or channel is None or channel.closed:
                self._sftp = paramiko.SFTPClient.from_transport(t)
                if self._sftp is not None:  # a server that stops answering counts as dropped
                    fresh = self._sftp.get_channel()
                    if fresh is not None:
                        fresh.settimeout(SFTP_TIMEOUT)
            assert self._sftp is not None
            return self._sftp

    def _sftp_call(self, what: str, fn: Callable[[paramiko.SFTPClient], T]) -> T:
        """Run ``fn(sftp)`` alone on the SFTP session; retried once after a dropped link,
        and once on a new SFTP session when the session alone ended (the host's
        sftp-server gone, the connection up: other channels on it are left alone)."""

        def op() -> T:
            with self._sftp_lock:
                sftp = self._sftp_client()
                try:
                    return fn(sftp)
                except paramiko.SSHException as exc:
                    if not _session_ended(exc) or not self._alive():
                        raise
                    self._end_sftp(sftp)
                return fn(self._sftp_client())

        return self._idempotent(what, op)

    def _end_sftp(self, sftp: paramiko.SFTPClient) -> None:
        """Close an SFTP session that ended; the next call opens a new one."""
        with self._lock:
            if self._sftp is sftp:
                self._sftp = None
        try:
            sftp.close()
        except Exception:  # noqa: BLE001 - it is gone already
            pass

    def _drop(self) -> None:
        with self._lock:
            for closer in (self._sftp, self._client):
                if closer is not None:
                    try:
                        closer.close()
                    except Exception:  # noqa: BLE001 - the link is already gone
                        pass
            self._sftp = None
            self._client = None

    def _reconnect(self) -> None:
        """Open a new connection, with backoff; host key verified again."""
        self._drop()
        attempts = 0
        last: list[WizardError] = []

        def attempt() -> paramiko.SSHClient | None:
            nonlocal attempts
            attempts += 1
            try:
                return connect_client(self.target, self.store)
            except WizardError as exc:
                if isinstance(exc, HostKeyError) or exc.exit_code != 1:
                    raise  # a changed/unknown key or bad input: retrying won't help
                last.append(exc)
                if attempts >= self.reconnect_attempts:
                    raise
                return None

        try:
            client = poll(
                attempt,
                deadline=3600,
                what=f"reconnect to {self.target.endpoint}",
                interval=self.backoff,
                max_interval=self.backoff * 8,
            )
        except Timeout:  # pragma: no cover - the attempt count ends it first
            raise last[-1] from None
        self._client = client
        self.reconnects += 1

    def _is_link_error(self, exc: BaseException) -> bool:
        if isinstance(exc, WizardError):
            return False
        if isinstance(exc, EOFError | ConnectionError | socket.timeout):
            return True
        alive = self._alive()
        if isinstance(exc, paramiko.AuthenticationException):
            return False
        if isinstance(exc, paramiko.SSHException):
            return not alive or "closed" in str(exc).lower() or "not active" in str(exc)
        if isinstance(exc, OSError) and exc.errno is None:
            return not alive or "closed" in str(exc).lower()
        return False

    def _idempotent(self, what: str, op: Callable[[], T]) -> T:
        """Run ``op``; after a dropped link, reconnect and run it once more."""
        try:
            return op()
        except Exception as exc:
            if not self._is_link_error(exc):
                raise
        with self._lock:
            self._reconnect()
        try:
            return op()
        except Exception as exc:
            if self._is_link_error(exc):
                raise self._dropped(what) from exc
            raise

    def _dropped(self, what: str) -> WizardError:
        return step_failed(
            f"the SSH connection to {self.target.endpoint} dropped during {what}",
            fix="check the network and the host's sshd (journalctl -u ssh), then run again",
            host=self.host,
        )

    def _exec(self, text: str, stdin: bytes | None, timeout: float | None) -> Result:
        # Opening the channel is safe to retry; once the command is sent it is not.
        chan = self._idempotent(
            "opening a session", lambda: self._transport().open_session(timeout=15)
        )
        shown = text[:200]
        if timeout is not None:  # the host ends the command itself: nothing lingers there
            text = f"timeout -k 3 {timeout:g} sh -c {shlex.quote(text)}"
        started = time.monotonic()
        try:
            res = exec_channel(chan, text, stdin, None if timeout is None else timeout + 10)
            if timeout is not None and res.rc in (124, 137):
                if time.monotonic() - started >= 0.95 * timeout:
                    raise TimeoutError(text)
            return res
        except TimeoutError:
            raise step_failed(
                f"command timed out after {timeout:g}s on {self.target.endpoint}: {shown}",
                fix="check what the command waits for on the host, or allow more time",
                host=self.host,
            ) from None
        except Exception as exc:
            if self._is_link_error(exc):
                raise step_failed(
                    f"the SSH connection to {self.target.endpoint} dropped while running "
                    f"{shown}; it may or may not have completed",
                    fix="check the host's state, then run again (steps re-check before acting)",
                    host=self.host,
                ) from exc
            raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._drop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _session_ended(exc: paramiko.SSHException) -> bool:
    """paramiko's words for an SFTP channel that reached its end (EOF) mid-request."""
    return str(exc).startswith("Server connection dropped")
