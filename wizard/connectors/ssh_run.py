"""Running one command on an open SSH channel: stdin fed from a thread, both outputs read."""

from __future__ import annotations

import select
import threading
import time

import paramiko

from wizard.connectors.base import Result

CHUNK = 65536


def _feed(chan: paramiko.Channel, data: bytes | None, errors: list[BaseException]) -> None:
    try:
        if data:
            chan.sendall(data)
        chan.shutdown_write()
    except (OSError, EOFError, paramiko.SSHException) as exc:
        errors.append(exc)  # the command exited without reading all of stdin, or the link died


def exec_channel(
    chan: paramiko.Channel, command: str, stdin: bytes | None, timeout: float | None
) -> Result:
    """Execute ``command`` on ``chan`` and collect rc, stdout and stderr.

    Raises ``TimeoutError`` after ``timeout`` seconds (the channel is closed), and
    ``EOFError`` when the link dies before the command's exit status arrives.
    """
    end = None if timeout is None else time.monotonic() + timeout
    out = bytearray()
    err = bytearray()
    try:
        chan.exec_command(command)
        feed_errors: list[BaseException] = []
        feeder = threading.Thread(
            target=_feed, args=(chan, stdin, feed_errors), name="cw-ssh-stdin", daemon=True
        )
        feeder.start()
        transport = chan.get_transport()
        while True:
            wait = 0.5 if end is None else max(0.0, min(0.5, end - time.monotonic()))
            select.select([chan], [], [], wait)
            while chan.recv_ready():
                out += chan.recv(CHUNK)
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(CHUNK)
            if chan.exit_status_ready() and (chan.eof_received or chan.closed):
                if not chan.recv_ready() and not chan.recv_stderr_ready():
                    break
            if chan.closed and not chan.exit_status_ready():
                raise EOFError("channel closed before the command's exit status arrived")
            if transport is None or not transport.is_active():
                if not chan.exit_status_ready():
                    raise EOFError("SSH connection lost while the command ran")
            if end is not None and time.monotonic() >= end:
                raise TimeoutError(command)
        rc = chan.recv_exit_status()
        feeder.join(timeout=5)
    finally:
        chan.close()
    return Result(rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), bytes(out))
