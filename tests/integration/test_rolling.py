"""A rolling change of a running deployment, on a lab of its own: the application
database password of a running apim-active-passive pair is changed in the answers and
applied again. The server's account gets the new password (ALTER USER), every datasource
uses it, the nodes restart one at a time (each ready before the next), and NGINX serves
the store by its public name the whole time."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from wizard.connectors.mysql import MySQL
from wizard.errors import WizardError
from wizard.lab.answers import answers_dict, lab_nodes
from wizard.secrets import Secret
from wizard.steps.httpget import http_status

pytestmark = pytest.mark.lab

PATTERN = "apim-active-passive"
LAB_HOSTS = 2


@pytest.fixture(scope="module")
def rolllab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


def _apply(answers: Path, sessions: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "wizard", "--session-dir", str(sessions), "apply",
           "--answers", str(answers), "--yes", "--json", "--start-timeout", "60"]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)  # fmt: skip


class Watch:
    """GETs the LB's public name every 50 ms from a thread; notes every failure."""

    def __init__(self, url: str, resolve: dict[str, str]) -> None:
        self.url, self.resolve = url, resolve
        self.failures: list[str] = []
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            status = http_status(self.url, False, self.resolve)
            self.count += 1
            if status is None or status >= 500:
                self.failures.append(str(status))

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _login(lab: dict[str, Any], user: str, password: str) -> bool:
    db = lab["db"]
    try:
        with MySQL(db["host"], db["port"], user, Secret(password), tls="off"):
            return True
    except WizardError:
        return False


def test_a_password_change_rolls_through_the_running_pair(
    rolllab: dict[str, Any], tmp_path: Path
) -> None:
    data = answers_dict(rolllab, PATTERN, db_prefix="roll_")
    old = tmp_path / "old.password"
    old.write_text("Roll-old-pw-1")
    data["db"]["password"] = f"file:{old}"
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump(data, sort_keys=False))
    sessions = tmp_path / "sessions"
    first = _apply(answers, sessions)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert _login(rolllab, data["db"]["user"], "Roll-old-pw-1")

    new = tmp_path / "new.password"
    new.write_text("Roll-new-pw-2")
    data["db"]["password"] = f"file:{new}"
    answers.write_text(yaml.safe_dump(data, sort_keys=False))
    lb = data["lb"]
    # /store is served by both nodes (the passive as a backup); /carbon/, /publisher and
    # /admin go to the active only (G002, AP-A11) and pause while it restarts
    url = f"https://{lb['hostname']}:{lb['https_port']}/store/"
    with Watch(url, {lb["hostname"]: lb["ip"]}) as watch:
        second = _apply(answers, sessions)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr
    assert watch.count > 20 and not watch.failures, (watch.count, watch.failures)

    assert _login(rolllab, data["db"]["user"], "Roll-new-pw-2")
    assert not _login(rolllab, data["db"]["user"], "Roll-old-pw-1")
    for node in lab_nodes(rolllab, PATTERN):
        conf = Path(node["home"], "repository/conf/datasources/master-datasources.xml")
        tree = etree.parse(str(conf))
        mysql = [ds for ds in tree.iter("datasource") if "mysql" in (ds.findtext(".//url") or "")]
        assert mysql and all(ds.findtext(".//password") == "Roll-new-pw-2" for ds in mysql)
    events = [json.loads(x) for x in second.stdout.splitlines() if x.startswith('{"ts"')]
    done = [e for e in events if "step" in e and e["state"] != "running"]
    order = [e["step"] for e in done if e["kind"] in ("start", "wait")]
    assert order == ["active:start", "active:wait", "passive:start", "passive:wait"], order
    assert {e["state"] for e in done if e["kind"] == "start"} == {"changed"}  # restarted
    _cleanup = subprocess.run(
        [sys.executable, "-m", "wizard", "--session-dir", str(sessions), "rollback", "--yes",
         "--drop-databases"], capture_output=True, timeout=600,
    )  # fmt: skip
