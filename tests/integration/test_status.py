"""``status`` on a lab of its own: after a clustered setup (apim-active-passive behind
NGINX), every node is up, started, its ports open, both members see each other, the LB
answers its public name, the databases take the application user: exit 0. A node
stopped by hand turns it to exit 1 with that node named; nothing is changed by status."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from wizard.lab.answers import answers_for_lab, lab_nodes
from wizard.wait import poll

from .clirun import wizard

pytestmark = pytest.mark.lab

PATTERN = "apim-active-passive"
LAB_HOSTS = 2


@pytest.fixture(scope="module")
def slab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


def test_status_of_a_running_cluster_then_of_a_stopped_node(
    slab: dict[str, Any], tmp_path: Path
) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(answers_for_lab(slab, PATTERN, db_prefix="st_"))
    sessions = tmp_path / "sessions"
    first = wizard(sessions, "apply", "--answers", str(answers), "--yes", "--start-timeout", "60")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr

    ok = wizard(sessions, "status", "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    data = json.loads(ok.stdout)
    assert data["healthy"] is True
    assert [n["node"] for n in data["nodes"]] == ["active", "passive"]
    for n in data["nodes"]:
        assert n["running"] and n["started"] and all(n["ports"].values()), n
        assert (n["members"], n["expected_members"]) == (2, 2), n
        assert len(n["member"]) == 36  # the Hazelcast uuid of its start
    assert data["load_balancer"] and all(c["ok"] for c in data["load_balancer"])
    assert any(".test" in c["what"] for c in data["load_balancer"])  # by its public name
    assert len(data["databases"]) == 3 and all(c["ok"] for c in data["databases"])

    table = wizard(sessions, "status")
    assert table.returncode == 0 and "healthy" in table.stdout and "2/2" in table.stdout

    passive = next(n for n in lab_nodes(slab, PATTERN) if n["name"] == "passive")
    pid = int(Path(passive["home"], "wso2carbon.pid").read_text().strip())
    os.kill(pid, signal.SIGTERM)
    poll(lambda: not Path(f"/proc/{pid}").exists(), deadline=60, what="passive stopped")
    bad = wizard(sessions, "status", "--json")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    data = json.loads(bad.stdout)
    assert data["healthy"] is False
    down = {n["node"]: n for n in data["nodes"]}
    assert not down["passive"]["running"] and "process not running" in down["passive"]["problems"]
    assert down["active"]["running"]
    wizard(sessions, "rollback", "--yes", "--drop-databases")
