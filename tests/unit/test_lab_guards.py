"""lab up/down/status refuse what they must not touch, before starting anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wizard.cli import main
from wizard.errors import WizardError
from wizard.lab import labctl


def test_up_refuses_a_directory_that_is_not_a_lab(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(WizardError) as err:
        labctl.up(tmp_path, 1)
    assert "is not a lab directory" in err.value.what
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert not (tmp_path / "lab.json").exists()


def test_up_refuses_a_place_host_users_cannot_reach(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("host users exist only in a root lab")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    with pytest.raises(WizardError) as err:
        labctl.up(closed / "lab", 1)
    assert "not traversable" in err.value.what
    assert not (closed / "lab").exists()


def test_up_checks_the_host_count(tmp_path: Path) -> None:
    with pytest.raises(WizardError) as err:
        labctl.up(tmp_path / "lab", 0)
    assert err.value.where.field == "--hosts"


def test_down_and_status_of_no_lab(tmp_path: Path, capsys) -> None:
    (tmp_path / "other.txt").write_text("x")
    assert labctl.down(tmp_path) is False
    assert (tmp_path / "other.txt").exists()  # not a lab: nothing removed
    assert labctl.status(tmp_path) is None
    assert main(["lab", "status", "--dir", str(tmp_path)]) == 1
    assert "no lab in" in capsys.readouterr().out
    assert main(["lab", "down", "--dir", str(tmp_path)]) == 0


def test_default_dir_follows_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CARBON_WIZARD_LAB_DIR", "/tmp/some-lab")
    assert labctl.default_dir() == Path("/tmp/some-lab")
    monkeypatch.delenv("CARBON_WIZARD_LAB_DIR")
    assert labctl.default_dir() == Path(f"/tmp/carbon-wizard-lab-{os.getuid()}")
