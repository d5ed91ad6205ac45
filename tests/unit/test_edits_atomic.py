"""atomic.write_atomic: same dir temp + rename, mode/owner kept, one backup per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wizard.edits import atomic
from wizard.errors import WizardError


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if "tmp" in p.name)


def test_write_keeps_mode_and_owner_and_backs_up_once_per_session(tmp_path: Path) -> None:
    target = tmp_path / "carbon.xml"
    target.write_bytes(b"original")
    target.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(target, 4321, 4322)
    backup = atomic.write_atomic(target, b"first", session="s1")
    assert backup == tmp_path / "carbon.xml.carbon-wizard-s1.bak"
    assert target.read_bytes() == b"first"
    assert backup.read_bytes() == b"original"
    st = target.stat()
    assert st.st_mode & 0o7777 == 0o640
    assert backup.stat().st_mode & 0o7777 == 0o640
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (4321, 4322)
        assert (backup.stat().st_uid, backup.stat().st_gid) == (4321, 4322)
    # a second write in the same session keeps the first backup (the true original)
    assert atomic.write_atomic(target, b"second", session="s1") == backup
    assert backup.read_bytes() == b"original"
    assert target.read_bytes() == b"second"
    # a new session gets its own backup of what it found
    b2 = atomic.write_atomic(target, b"third", session="s2")
    assert b2 is not None and b2.read_bytes() == b"second"
    baks = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".bak"))
    assert baks == ["carbon.xml.carbon-wizard-s1.bak", "carbon.xml.carbon-wizard-s2.bak"]
    assert _leftovers(tmp_path) == []


def test_equal_bytes_write_nothing_and_new_files_get_the_given_mode(tmp_path: Path) -> None:
    target = tmp_path / "a.properties"
    target.write_bytes(b"k=v\n")
    before = target.stat().st_mtime_ns
    assert atomic.write_atomic(target, b"k=v\n", session="s") is None
    assert target.stat().st_mtime_ns == before
    assert not list(tmp_path.glob("*.bak"))
    new = tmp_path / "secret.conf"
    assert atomic.write_atomic(new, b"x", session="s", mode=0o600) is None
    assert new.stat().st_mode & 0o7777 == 0o600


def test_a_symlink_stays_a_link_and_its_target_is_written(tmp_path: Path) -> None:
    real = tmp_path / "real.xml"
    real.write_bytes(b"old")
    link = tmp_path / "link.xml"
    link.symlink_to(real)
    atomic.write_atomic(link, b"new", session="s")
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert (tmp_path / "real.xml.carbon-wizard-s.bak").read_bytes() == b"old"


def test_failure_leaves_no_temp_file_and_the_original_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "registry.xml"
    target.write_bytes(b"original")
    real_replace = os.replace

    def failing_replace(src: str, dst: str) -> None:
        if Path(dst) == target:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(WizardError) as info:
        atomic.write_atomic(target, b"new", session="s")
    assert "No space left on device" in info.value.what
    assert target.read_bytes() == b"original"
    assert _leftovers(tmp_path) == []


def test_failure_while_writing_the_temp_file_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.xml"
    target.write_bytes(b"original")

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomic.os, "fsync", failing_fsync)
    with pytest.raises(WizardError):
        atomic.write_atomic(target, b"new", session="s")
    assert target.read_bytes() == b"original"
    assert _leftovers(tmp_path) == []


def test_session_ids_must_be_file_name_safe(tmp_path: Path) -> None:
    with pytest.raises(WizardError):
        atomic.write_atomic(tmp_path / "f", b"x", session="../evil")
