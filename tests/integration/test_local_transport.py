"""``ssh.transport: local``: a product home on the machine running the wizard, edited by the
same engine without SSH (no login, no host key), through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.lab.answers import answers_dict
from wizard.lab.pack import install_pack

pytestmark = pytest.mark.lab

PATTERN = "apim-all-in-one"


def _apply(answers: Path, sessions: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "wizard", "--session-dir", str(sessions), "apply",
           "--answers", str(answers), "--yes", "--only", "files"]  # fmt: skip
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def test_local_transport_edits_a_home_here_and_a_rerun_changes_nothing(
    lab: dict[str, Any],
) -> None:
    with tempfile.TemporaryDirectory(prefix="cw-local-", dir="/tmp") as tmp:
        base = Path(tmp)
        home = install_pack(
            base / "wso2am-2.6.0", keystores=Path(lab["dir"]) / "files" / "keystores"
        )
        conf = home / "repository/conf/datasources/master-datasources.xml"
        os.chmod(conf, 0o640)
        data = answers_dict(lab, PATTERN, db_prefix="loc_")
        data["product"]["home"] = str(home)
        node = data["nodes"][0]
        node["home"] = str(home)
        node["ssh"] = {"transport": "local"}  # no user, key or host key
        answers = base / "answers.yaml"
        answers.write_text(yaml.safe_dump(data, sort_keys=False))
        sessions = base / "sessions"

        first = _apply(answers, sessions)
        assert first.returncode == 0, first.stdout + first.stderr
        assert " 0 failed" in first.stdout and " 0 changed" not in first.stdout
        assert b"loc_" in conf.read_bytes()
        assert (conf.stat().st_mode & 0o777) == 0o640  # mode kept
        backups = [p for p in conf.parent.iterdir() if p.name.endswith(".bak")]
        assert len(backups) == 1 and b"loc_" not in backups[0].read_bytes()
        known = list(sessions.rglob("known_hosts"))
        assert all(not p.read_text().strip() for p in known)  # no host key for a local home

        again = _apply(answers, sessions)
        assert again.returncode == 0, again.stdout + again.stderr
        assert " 0 changed" in again.stdout, again.stdout
