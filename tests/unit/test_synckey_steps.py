"""The artifact sync's SSH key steps (wizard/steps/synckey.py) on this machine: the key
made once on the sync source (journaled for rollback), a given key checked usable by
cron, and its public half one line of the sync user's authorized_keys."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from wizard.connectors.base import Written
from wizard.connectors.local import LocalTransport
from wizard.errors import WizardError
from wizard.executor import RunContext
from wizard.plan import Step
from wizard.steps import handlers

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="no ssh-keygen")


def _ctx(written: list[str] | None = None, **kw: Any) -> RunContext:
    t = LocalTransport()

    def changed(host: str, w: Written, data: bytes) -> None:
        if written is not None:
            written.append(w.path)

    return RunContext(transport=lambda host: t, session_id="s1", changed=changed, **kw)


def _key_step(key: Path, generate: bool = True) -> Step:
    return Step("m:ssh_key", "ssh_key", "m", "key",
                {"key": str(key), "generate": generate, "comment": "carbon-wizard-sync@m"})  # fmt: skip


def _auth_step(key: Path) -> Step:
    user = os.environ.get("USER") or "root"
    return Step("w:authorized_key", "authorized_key", "w", "auth", {
        "user": user, "login_user": user, "key_host": "m", "key": str(key),
        "comment": "carbon-wizard-sync@m"})  # fmt: skip


def test_the_key_is_made_once_and_journaled(tmp_path: Path) -> None:
    key = tmp_path / "sync" / "id_ed25519"
    written: list[str] = []
    step, ctx, h = _key_step(key), _ctx(written), handlers()["ssh_key"]
    assert "would make" in h.check(step, ctx).message
    h.apply(step, ctx)
    assert written == [str(key), f"{key}.pub"]  # rollback removes both
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert h.check(step, ctx).satisfied


def test_a_given_key_must_be_there_and_without_passphrase(tmp_path: Path) -> None:
    h = handlers()["ssh_key"]
    with pytest.raises(WizardError) as info:
        h.check(_key_step(tmp_path / "none", generate=False), _ctx())
    assert info.value.where.field == "sync.key" and "is not on m" in info.value.what
    locked = tmp_path / "locked"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "a passphrase", "-f", str(locked)],
                   check=True, stdin=subprocess.DEVNULL)  # fmt: skip
    with pytest.raises(WizardError, match="without a passphrase") as info:
        h.check(_key_step(locked, generate=False), _ctx())
    assert "cron" in (info.value.fix or "")


def test_the_public_key_is_authorised_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "id_ed25519"
    handlers()["ssh_key"].apply(_key_step(key), _ctx())
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    step, ctx, h = _auth_step(key), _ctx(), handlers()["authorized_key"]
    assert "would add the sync key of m" in h.check(step, ctx).message
    h.apply(step, ctx)
    auth = home / ".ssh" / "authorized_keys"
    lines = auth.read_text().splitlines()
    pub = (tmp_path / "id_ed25519.pub").read_text().split()[:2]
    assert lines == [f"{pub[0]} {pub[1]} carbon-wizard-sync@m"]
    assert stat.S_IMODE(auth.stat().st_mode) == 0o600
    assert stat.S_IMODE(auth.parent.stat().st_mode) == 0o700
    assert h.check(step, ctx).satisfied
    h.apply(step, ctx)
    assert auth.read_text().splitlines() == lines  # no duplicate
    # a line the admin wrote (options, another comment) counts; others are kept
    auth.write_text(f'ssh-rsa AAAAother admin\nfrom="10.0.0.1" {pub[0]} {pub[1]} mine')
    assert h.check(step, ctx).satisfied


def test_an_authorized_keys_without_newline_keeps_its_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "id_ed25519"
    handlers()["ssh_key"].apply(_key_step(key), _ctx())
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "authorized_keys").write_text("ssh-ed25519 AAAAlab lab")
    monkeypatch.setenv("HOME", str(home))
    handlers()["authorized_key"].apply(_auth_step(key), _ctx())
    lines = (home / ".ssh" / "authorized_keys").read_text().splitlines()
    assert lines[0] == "ssh-ed25519 AAAAlab lab" and lines[1].endswith("carbon-wizard-sync@m")
    assert (home / ".ssh" / "authorized_keys.carbon-wizard-s1.bak").exists()  # for rollback


def test_in_check_mode_a_key_still_to_make_is_no_error(tmp_path: Path) -> None:
    out = handlers()["authorized_key"].check(_auth_step(tmp_path / "none"), _ctx(check_mode=True))
    assert not out.satisfied and "once it is made" in out.message
    with pytest.raises(WizardError, match="cannot read the sync key"):
        handlers()["authorized_key"].apply(_auth_step(tmp_path / "none"), _ctx())
