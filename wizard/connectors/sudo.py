"""Running shell text through sudo, the same way on every transport.

The password (when the host needs one) goes on stdin, first line; it is tried once with
``true`` before any real work, so a wrong one is a clear error before a backup or an
upload, and sudo never takes the command's own input lines as password retries.
"""

from __future__ import annotations

from collections.abc import Callable

from wizard.connectors.base import (
    SUDO_NEEDS_PASSWORD,
    SUDO_PROBE,
    HostTarget,
    Result,
    sudo_command,
    sudo_probe_error,
)

# shell text, stdin, timeout -> what it did
ExecText = Callable[[str, bytes | None, float | None], Result]


class SudoState:
    """What a connection learnt about sudo on its host."""

    def __init__(self) -> None:
        self.needs_password: bool | None = None
        self.password_ok = False


def run_with_sudo(
    exec_text: ExecText,
    target: HostTarget,
    state: SudoState,
    script: str,
    stdin: bytes | None = None,
    timeout: float | None = None,
) -> Result:
    pw = target.sudo_password
    if pw is not None and state.needs_password is None:
        state.needs_password = exec_text("sudo -n -k true", None, 30).rc != 0
    with_pw = pw is not None and bool(state.needs_password)
    if with_pw and pw is not None and not state.password_ok:
        probe = exec_text(SUDO_PROBE, pw.reveal().encode() + b"\n", 60)
        if not probe.ok:
            raise sudo_probe_error(probe, target)
        state.password_ok = True
    data = (pw.reveal().encode() + b"\n" + (stdin or b"")) if with_pw and pw else stdin
    res = exec_text(sudo_command(script, with_password=with_pw), data, timeout)
    if not with_pw and res.rc == 1 and res.err.startswith(SUDO_NEEDS_PASSWORD):
        raise sudo_probe_error(res, target)
    return res
