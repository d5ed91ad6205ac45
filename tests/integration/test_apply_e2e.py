"""End to end on a lab of its own: `carbon-wizard apply` headless from stock homes to
running nodes, then a second apply that changes nothing. The lab answers reach the DB by
an alias only the node's own hosts file knows (written by the hosts_entry step)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.lab.answers import answers_for_lab, lab_names, lab_nodes
from wizard.steps.httpget import http_status

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def e2e_lab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


def _apply(answers: Path, sessions: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "wizard",
            "--session-dir",
            str(sessions),
            "apply",
            "--answers",
            str(answers),
            "--yes",
            "--start-timeout",
            "60",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


BLOCK = "carbon-wizard apim-all-in-one"  # the managed block of the pattern


def _https_ok(address: str, port: int) -> bool:
    return http_status(f"https://{address}:{port}/carbon/admin/login.jsp") == 200


def _stop_nodes(lab: dict[str, Any], pattern: str) -> None:
    for node in lab_nodes(lab, pattern):
        pid_file = Path(node["home"]) / "wso2carbon.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), 15)
            except (ProcessLookupError, ValueError):
                pass


def test_apim_all_in_one_files_only_then_full_then_idempotent(
    e2e_lab: dict[str, Any], tmp_path: Path
) -> None:
    pattern = "apim-all-in-one"
    answers = tmp_path / "answers.yaml"
    answers.write_text(answers_for_lab(e2e_lab, pattern, db_prefix="e2eaio_"))
    sessions = tmp_path / "sessions"
    try:
        # the file phase alone (issue 6's entry point)
        files = _apply(answers, sessions, "--only", "files")
        assert files.returncode == 0, files.stdout + files.stderr
        assert " 0 failed" in files.stdout
        node = lab_nodes(e2e_lab, pattern)[0]
        carbon = Path(node["home"]) / "repository/conf/datasources/master-datasources.xml"
        assert b"e2eaio_" in carbon.read_bytes()
        # the node's own hosts file maps the DB alias of the JDBC URLs (hosts_entry step)
        db = yaml.safe_load(answers.read_text())["db"]
        alias = lab_names(e2e_lab)["db"]
        assert db["host"] == db["host_alias"] == alias and db["ip"] == e2e_lab["db"]["host"]
        assert f"jdbc:mysql://{alias}:".encode() in carbon.read_bytes()
        hosts_file = Path(node["hosts_file"])
        lines = hosts_file.read_text().splitlines()
        begin = lines.index(f"# BEGIN {BLOCK}")
        assert lines[begin + 1 : begin + 3] == [f"{db['ip']} {alias}", f"# END {BLOCK}"]
        assert "127.0.0.1\tlocalhost" in lines  # the host's own lines stay

        # everything: databases, scripts, driver, start, readiness
        full = _apply(answers, sessions, "--json")
        assert full.returncode == 0, full.stdout + full.stderr
        events = [json.loads(x) for x in full.stdout.splitlines() if x.startswith("{")]
        states = {e["step"]: e["state"] for e in events if "step" in e}
        assert states, full.stdout
        assert all(s in ("changed", "unchanged") for s in states.values()), states
        assert _https_ok(node["address"], 9443 + node["offset"])
        # the node reached the DB by the alias its hosts file maps (the file phase wrote it)
        assert states["node:hosts_entry"] == "unchanged"
        log = (Path(node["home"]) / "repository/logs/wso2carbon.log").read_text()
        port = e2e_lab["db"]["port"]
        assert f"Datasource WSO2AM_DB connected to {alias}:{port}/e2eaio_" in log
        before = hosts_file.read_bytes()

        # a re-run of a finished setup changes nothing
        again = _apply(answers, sessions)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "0 changed" in again.stdout and " 0 failed" in again.stdout
        assert hosts_file.read_bytes() == before
    finally:
        _stop_nodes(e2e_lab, pattern)


def test_changed_host_key_stops_before_any_write(e2e_lab: dict[str, Any], tmp_path: Path) -> None:
    pattern = "apim-all-in-one"
    text = answers_for_lab(e2e_lab, pattern, db_prefix="e2ekey_")
    other = e2e_lab["hosts"][1]["host_key"]
    mine = e2e_lab["hosts"][0]["host_key"]
    assert mine in text
    answers = tmp_path / "answers.yaml"
    answers.write_text(text.replace(mine, other))
    node = lab_nodes(e2e_lab, pattern)[0]
    carbon = Path(node["home"]) / "repository/conf/carbon.xml"
    before = carbon.read_bytes()
    res = _apply(answers, tmp_path / "s", "--only", "files")
    assert res.returncode != 0
    assert "host key" in res.stderr.lower()
    assert carbon.read_bytes() == before


def test_check_mode_changes_nothing(e2e_lab: dict[str, Any], tmp_path: Path) -> None:
    pattern = "apim-active-passive"
    answers = tmp_path / "answers.yaml"
    answers.write_text(answers_for_lab(e2e_lab, pattern, db_prefix="e2echk_"))
    homes = [Path(n["home"]) for n in lab_nodes(e2e_lab, pattern)]
    snapshot = {p: p.read_bytes() for h in homes for p in (h / "repository/conf").rglob("*.xml")}
    res = _apply(answers, tmp_path / "s", "--check", "--only", "files")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "would change" in res.stdout
    assert "--- " in res.stdout and "+++ " in res.stdout  # diffs shown
    assert {p: p.read_bytes() for p in snapshot} == snapshot
    # no secret reaches the output
    for name in ("db-app", "carbon-admin"):
        secret = Path(e2e_lab["dir"], "secrets", f"{name}.password").read_text().strip()
        assert secret not in res.stdout + res.stderr


def test_online_plan_shows_what_would_change(e2e_lab: dict[str, Any], tmp_path: Path) -> None:
    """`plan` without --offline connects read-only: DB steps and file diffs, no change."""
    pattern = "apim-all-in-one"
    answers = tmp_path / "answers.yaml"
    answers.write_text(answers_for_lab(e2e_lab, pattern, db_prefix="e2eplan_"))
    node = lab_nodes(e2e_lab, pattern)[0]
    registry = Path(node["home"]) / "repository/conf/registry.xml"
    before = registry.read_bytes()
    res = subprocess.run(
        [sys.executable, "-m", "wizard", "plan", "--answers", str(answers), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert res.returncode == 0, res.stderr
    steps = {s["id"]: s for s in json.loads(res.stdout)["steps"]}
    assert steps["db:database:am"]["state"] == "would-change"
    assert "e2eplan_apimgtdb" in steps["db:database:am"]["message"]
    assert registry.read_bytes() == before  # nothing written
    text = subprocess.run(
        [sys.executable, "-m", "wizard", "plan", "--answers", str(answers)],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    ).stdout
    assert "Checked on the hosts (read-only):" in text
    assert "+++ node:" in text  # file diffs
    secret = Path(e2e_lab["dir"], "secrets", "db-app.password").read_text().strip()
    assert secret not in text
