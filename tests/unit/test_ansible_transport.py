"""The Transport the exported playbook's action plugin uses (one shell command per
operation), run through ``sh -c`` on this machine, against the wizard's own LocalTransport:
the same bytes, modes, backups and symlink handling; binary data exact; stat's prefetch
never serves stale bytes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from wizard.ansible_export.transport import ShellTransport
from wizard.connectors.base import TMP_MARK
from wizard.connectors.local import LocalTransport

SUFFIX = ".carbon-wizard-s1.bak"
BINARY = bytes(range(256)) * 3 + b"\r\n\x00end\r\n"


def sh(text: str, stdin: bytes | None, become: bool) -> tuple[int, bytes, bytes]:
    p = subprocess.run(["/bin/sh", "-c", text], input=stdin or b"", capture_output=True)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def t(calls: list[str]) -> ShellTransport:
    def counted(text: str, stdin: bytes | None, become: bool) -> tuple[int, bytes, bytes]:
        calls.append(text)
        return sh(text, stdin, become)

    return ShellTransport("h1", counted)


def _state(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    out = {}
    for p in sorted(folder.iterdir()):
        st = p.lstat()
        out[p.name] = (p.read_bytes(), st.st_mode & 0o7777, st.st_nlink)
    return out


@pytest.mark.parametrize("mode", [None, 0o600, 0o755])
def test_write_atomic_leaves_what_local_transport_leaves(
    tmp_path: Path, t: ShellTransport, mode: int | None
) -> None:
    results = {}
    for name, transport in (("local", LocalTransport()), ("shell", t)):
        folder = tmp_path / name
        folder.mkdir()
        target = folder / "carbon.xml"
        target.write_bytes(b"<old/>\r\n")
        target.chmod(0o640)
        w1 = transport.write_atomic(str(target), BINARY, mode=mode, backup_suffix=SUFFIX)
        w2 = transport.write_atomic(str(target), b"again", mode=mode, backup_suffix=SUFFIX)
        new = folder / "new.properties"
        w3 = transport.write_atomic(str(new), b"a=1\n", backup_suffix=SUFFIX)
        assert (w1.existed, w2.existed, w3.existed) == (True, True, False)
        assert w1.backup == str(target) + SUFFIX and w3.backup is None
        results[name] = _state(folder)
    assert results["shell"] == results["local"]
    shell = results["shell"]
    assert shell["carbon.xml" + SUFFIX][0] == b"<old/>\r\n"  # the first state, kept once
    assert shell["carbon.xml"][1] == (mode if mode is not None else 0o640)
    assert not [n for n in shell if TMP_MARK in n]


def test_a_symlink_keeps_pointing_and_its_target_is_written(
    tmp_path: Path, t: ShellTransport
) -> None:
    real = tmp_path / "real.xml"
    real.write_bytes(b"old")
    link = tmp_path / "link.xml"
    link.symlink_to(real)
    written = t.write_atomic(str(link), b"new", backup_suffix=SUFFIX)
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert written.path == str(real) and Path(str(real) + SUFFIX).read_bytes() == b"old"


def test_stat_then_read_is_one_command_and_exact(
    tmp_path: Path, t: ShellTransport, calls: list[str]
) -> None:
    f = tmp_path / "bin.jks"
    f.write_bytes(BINARY)
    st = t.stat(str(f))
    assert st.exists and st.size == len(BINARY) and st.perm == f.stat().st_mode & 0o777
    assert t.read(str(f), st.size) == BINARY
    assert len(calls) == 1
    # a second read (or one after another command) goes to the host again
    f.write_bytes(b"changed")
    assert t.read(str(f)) == b"changed"
    assert t.stat(str(tmp_path / "missing")).exists is False


def test_prefetch_is_dropped_by_any_other_command(tmp_path: Path, t: ShellTransport) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"one")
    t.stat(str(f))
    t.run(["sh", "-c", f"printf two > {f}"])
    assert t.read(str(f)) == b"two"


def test_run_read_errors_list_mkdir_symlink(tmp_path: Path, t: ShellTransport) -> None:
    res = t.run("cat", stdin=b"secret on stdin")
    assert res.ok and res.out == "secret on stdin"
    assert t.run(["false"]).rc == 1
    with pytest.raises(Exception, match="no such file"):
        t.read(str(tmp_path / "nope"))
    t.mkdir_p(str(tmp_path / "a" / "b"))
    (tmp_path / "a" / "b" / "x y").write_text("1")
    (tmp_path / "a" / "b" / ".hidden").write_text("1")
    assert t.listdir(str(tmp_path / "a" / "b")) == [".hidden", "x y"]
    t.symlink("/etc", str(tmp_path / "l"))
    t.symlink("/etc", str(tmp_path / "l"))
    assert os.readlink(tmp_path / "l") == "/etc"
    with pytest.raises(Exception, match="not a symlink"):
        t.symlink("/etc", str(tmp_path / "a"))


def test_file_edit_step_through_the_shell_transport_writes_the_same_bytes(
    tmp_path: Path,
) -> None:
    """A catalog step run by the wizard's handler over both transports."""
    from wizard.executor import RunContext
    from wizard.plan import Step
    from wizard.steps.files import FileEditHandler

    out = {}
    for name in ("local", "shell"):
        folder = tmp_path / name
        folder.mkdir()
        xml = folder / "carbon.xml"
        xml.write_bytes(
            b'<?xml version="1.0"?>\r\n<Server>\r\n  <Offset>0</Offset>\r\n</Server>\r\n'
        )
        step = Step(
            "n:file_edit:carbon.xml",
            "file_edit",
            "n",
            "carbon.xml",
            {"path": str(xml), "edits": [{"op": "set", "locator": "/Server/Offset", "value": "1"}]},
        )
        transport = LocalTransport() if name == "local" else ShellTransport("n", sh)
        ctx = RunContext(session_id="s1", transport=lambda host, tr=transport: tr)
        handler = FileEditHandler()
        assert not handler.check(step, ctx).satisfied
        handler.apply(step, ctx)
        assert handler.check(step, ctx).satisfied
        out[name] = _state(folder)
    assert out["shell"] == out["local"]
    assert b"<Offset>1</Offset>\r\n" in out["shell"]["carbon.xml"][0]
