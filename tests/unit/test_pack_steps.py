"""The ``pack`` and ``remove_home`` handlers (wizard/steps/pack.py) on this machine (the
local transport runs the same shell text an SSH host would): upload, sha256, unpack and
rename; a corrupt upload; python3 when there is no unzip; the rollback's drift check."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.connectors.local import LocalTransport
from wizard.errors import WizardError
from wizard.executor import RunContext
from wizard.lab.pack import FILES_DIR
from wizard.lab.packs import zip_home
from wizard.plan import Step
from wizard.planning.pack import PACK_MANIFEST, PACK_MARKER
from wizard.steps import handlers
from wizard.steps import pack as packstep

PRODUCTS = ["WSO2 API Manager 2.6.0"]


@pytest.fixture
def zip_path(tmp_path: Path) -> Path:
    return zip_home(FILES_DIR, tmp_path / "wso2am-2.6.0.zip", "wso2am-2.6.0")


def _step(source: Path, home: Path) -> Step:
    return Step("n1:pack", "pack", "n1", "unpack", {
        "source": str(source), "home": str(home), "products": PRODUCTS,
        "marker": str(home / PACK_MARKER), "manifest": str(home / PACK_MANIFEST)})  # fmt: skip


def _ctx(**kw: Any) -> RunContext:
    t = LocalTransport()
    return RunContext(transport=lambda host: t, session_id="s1", **kw)


def test_a_missing_home_is_unpacked_whole_and_then_found(tmp_path: Path, zip_path: Path) -> None:
    home = tmp_path / "opt" / "wso2am-2.6.0"  # its folder is made too
    step, ctx, h = _step(zip_path, home), _ctx(), handlers()["pack"]
    before = h.check(step, ctx)
    assert not before.satisfied and "would upload wso2am-2.6.0.zip" in before.message
    done = h.apply(step, ctx)
    assert "sha256 ok" in done.message
    assert h.check(step, ctx).satisfied
    assert (home / "repository/conf/carbon.xml").read_bytes() == (
        FILES_DIR / "repository/conf/carbon.xml").read_bytes()  # fmt: skip
    assert os.access(home / "bin/wso2server.sh", os.X_OK)
    marker = packstep.parse_marker((home / PACK_MARKER).read_text())
    assert marker["session"] == "s1" and marker["pack"] == "wso2am-2.6.0.zip"
    manifest = (home / PACK_MANIFEST).read_text()
    assert "./repository/conf/carbon.xml" in manifest and PACK_MANIFEST not in manifest
    assert sorted(os.listdir(home.parent)) == ["wso2am-2.6.0"]  # no work folder left


def test_an_empty_folder_is_filled_but_never_one_with_files(tmp_path: Path, zip_path: Path) -> None:
    home = tmp_path / "wso2am-2.6.0"
    home.mkdir()
    step, ctx, h = _step(zip_path, home), _ctx(), handlers()["pack"]
    h.apply(step, ctx)
    assert h.check(step, ctx).satisfied
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(WizardError, match="holds no repository/conf/carbon.xml") as info:
        h.check(_step(zip_path, other), ctx)
    assert info.value.where.file == str(other)


def test_a_home_of_another_product_is_an_error(tmp_path: Path, zip_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(FILES_DIR, home)
    carbon = home / "repository/conf/carbon.xml"
    carbon.write_text(carbon.read_text().replace("<Version>2.6.0<", "<Version>2.5.0<"))
    with pytest.raises(WizardError, match="2.5.0") as info:
        handlers()["pack"].check(_step(zip_path, home), _ctx())
    assert info.value.where.file == str(carbon)


def test_a_corrupt_upload_fails_and_leaves_nothing(
    tmp_path: Path, zip_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def corrupt(t: Any, local: str, remote: str) -> None:
        data = bytearray(Path(local).read_bytes())
        data[len(data) // 2] ^= 0xFF
        Path(remote).write_bytes(bytes(data))

    monkeypatch.setattr(packstep, "upload", corrupt)
    home = tmp_path / "wso2am-2.6.0"
    with pytest.raises(WizardError) as info:
        handlers()["pack"].apply(_step(zip_path, home), _ctx())
    assert "is corrupt" in info.value.what and "was not made" in info.value.what
    assert info.value.fix and "run again" in info.value.fix
    assert os.listdir(tmp_path) == ["wso2am-2.6.0.zip"]  # no home, no work folder


def test_without_unzip_python3_unpacks_keeping_the_modes(
    tmp_path: Path, zip_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("sh", "python3", "test", "chmod", "find", "sort", "xargs", "sha256sum",
                 "cat", "mv", "rm", "mkdir", "dirname"):  # fmt: skip
        found = sys.executable if name == "python3" else shutil.which(name)
        assert found, name
        (tools / name).symlink_to(os.path.realpath(found))
    monkeypatch.setenv("PATH", str(tools))
    assert shutil.which("unzip") is None
    home = tmp_path / "wso2am-2.6.0"
    step, ctx = _step(zip_path, home), _ctx()
    handlers()["pack"].apply(step, ctx)
    assert os.access(home / "bin/wso2server.sh", os.X_OK)
    assert not os.access(home / "repository/conf/carbon.xml", os.X_OK)
    assert handlers()["pack"].check(step, ctx).satisfied


def _remove(home: Path, session: str = "s1", ignore: list[str] | None = None) -> Step:
    return Step("undo:n1:home", "remove_home", "n1", "remove", {
        "path": str(home), "marker": str(home / PACK_MARKER),
        "manifest": str(home / PACK_MANIFEST), "session": session,
        "ignore": ignore or []})  # fmt: skip


def test_rollback_removes_the_home_it_unpacked_and_names_what_changed(
    tmp_path: Path, zip_path: Path
) -> None:
    home = tmp_path / "wso2am-2.6.0"
    ctx = _ctx()
    handlers()["pack"].apply(_step(zip_path, home), ctx)
    h = handlers()["remove_home"]
    (home / "repository/logs/wso2carbon.log").write_text("a running node writes here\n")
    (home / "wso2carbon.pid").write_text("1\n")
    (home / "repository/conf/user-mgt.xml").write_text("<edited-by-the-session/>")
    api = home / "repository/deployment/server/synapse-configs/default/api/_RevokeAPI_.xml"
    api.write_text("<changed-by-the-admin/>")
    found = h.check(_remove(home, ignore=["repository/conf/user-mgt.xml"]), ctx)
    assert not found.satisfied and packstep.DRIFTED in found.message
    assert found.diff.splitlines()[1:] == [
        "  repository/deployment/server/synapse-configs/default/api/_RevokeAPI_.xml"]  # fmt: skip
    # another session's home (or one without a marker) is kept
    kept = h.check(_remove(home, session="s2"), ctx)
    assert kept.satisfied and "kept" in kept.notes[0]
    h.apply(_remove(home, session="s2"), ctx)
    assert home.is_dir()
    h.apply(_remove(home), ctx)
    assert not home.exists() and os.listdir(tmp_path) == ["wso2am-2.6.0.zip"]
    assert h.check(_remove(home), ctx).satisfied


def test_check_mode_waits_for_a_home_still_to_unpack(tmp_path: Path) -> None:
    data = yaml.safe_load(example_yaml("apim-all-in-one"))
    data["product"].update(home=str(tmp_path / "none"), pack=str(tmp_path / "p.zip"))
    answers, _ = parse_answers(yaml.safe_dump(data))
    node = answers.nodes[0].name
    edit = Step(f"{node}:file_edit:x", "file_edit", node, "x", {
        "path": str(tmp_path / "none/repository/conf/x.xml"), "file": "x", "edits": []})  # fmt: skip
    h = handlers()["file_edit"]
    out = h.check(edit, _ctx(check_mode=True, answers=answers))
    assert not out.satisfied and "once the pack is unpacked" in out.message
    with pytest.raises(WizardError):  # a real check (or apply) is not hidden
        h.check(edit, _ctx(check_mode=False, answers=answers))
