"""An SFTP session that reaches its end in the middle of a request while the SSH
connection stays up (paramiko: "Server connection dropped"): the call is made again once
on a new SFTP session of the same connection; no reconnect, so the command channels on
that connection are left alone (wizard/connectors/ssh_link.py)."""

from __future__ import annotations

from typing import Any

import paramiko
import pytest

from wizard.connectors import ssh_link
from wizard.connectors.base import HostTarget


class FakeChannel:
    closed = False

    def settimeout(self, _: float) -> None:
        pass


class FakeSftp:
    made = 0

    def __init__(self) -> None:
        FakeSftp.made += 1
        self.closed = False
        self.channel = FakeChannel()

    def get_channel(self) -> FakeChannel:
        return self.channel

    def close(self) -> None:
        self.closed = True


class FakeTransport:
    def __init__(self) -> None:
        self.active = True

    def is_active(self) -> bool:
        return self.active


class FakeClient:
    def __init__(self) -> None:
        self.transport = FakeTransport()

    def get_transport(self) -> FakeTransport:
        return self.transport

    def close(self) -> None:
        self.transport.active = False


@pytest.fixture
def link(monkeypatch: pytest.MonkeyPatch) -> ssh_link.SshLink:
    FakeSftp.made = 0
    monkeypatch.setattr(ssh_link, "connect_client", lambda target, store: FakeClient())
    monkeypatch.setattr(paramiko.SFTPClient, "from_transport", staticmethod(lambda t: FakeSftp()))
    target = HostTarget(name="h", address="127.0.0.1", port=22, user="u")
    return ssh_link.SshLink(target, store=None)  # type: ignore[arg-type]


def test_a_session_ended_mid_request_is_opened_again_and_the_call_made_again(link) -> None:
    seen: list[Any] = []

    def call(sftp: Any) -> str:
        seen.append(sftp)
        if len(seen) == 1:
            raise paramiko.SSHException("Server connection dropped: ")
        return "done"

    assert link._sftp_call("reading f", call) == "done"
    assert len(seen) == 2 and seen[0] is not seen[1] and seen[0].closed
    assert FakeSftp.made == 2 and link.reconnects == 0


@pytest.mark.parametrize(
    ("error", "tries"),
    [
        ("Server connection dropped: ", 2),  # ends again on the new session: given up
        ("No such subsystem", 1),  # another SFTP error: not tried again
    ],
)
def test_other_failures_are_not_tried_again(link, error: str, tries: int) -> None:
    calls = []

    def call(sftp: Any) -> str:
        calls.append(sftp)
        raise paramiko.SSHException(error)

    with pytest.raises(paramiko.SSHException, match=error.split()[0]):
        link._sftp_call("reading f", call)
    assert len(calls) == tries and link.reconnects == 0
