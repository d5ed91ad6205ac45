"""Every clustered pattern end to end on a lab of its own: `carbon-wizard apply` headless
from stock homes to ready nodes behind the lab NGINX, then a re-run that changes nothing.

(apim-all-in-one is covered by test_apply_e2e.py.) Before each pattern the lab's homes are
put back to fresh packs (``labctl.reset_homes``), so every pattern starts from stock.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from wizard.catalog import load_pattern
from wizard.labanswers import answers_for_lab, lab_nodes

pytestmark = pytest.mark.lab

PATTERNS = ["apim-active-passive", "apim-distributed", "ob-apim-cluster", "ob-km-ha"]


@pytest.fixture(scope="module")
def patterns_lab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


def _apply(answers: Path, sessions: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard", "--session-dir", str(sessions), "apply",
         "--answers", str(answers), "--yes", "--start-timeout", "60", *extra],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def _get(url: str) -> tuple[int, dict[str, str]]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
        return resp.status, dict(resp.headers.items())


def _summary(text: str) -> dict[str, int]:
    m = re.search(r"(\d+) changed, (\d+) unchanged, (\d+) failed", text)
    assert m, text
    return dict(zip(("changed", "unchanged", "failed"), map(int, m.groups()), strict=True))


@pytest.mark.parametrize("pattern", PATTERNS)
def test_pattern_runs_to_ready_nodes_then_changes_nothing(
    patterns_lab: dict[str, Any], pattern: str, tmp_path: Path
) -> None:
    from wizard.lab import labctl

    lab = patterns_lab
    labctl.reset_homes(Path(lab["dir"]))  # stock homes, no node running, empty LB
    nodes = lab_nodes(lab, pattern)
    for node in nodes:  # the lab installed each home, owned by its host's user
        home = Path(node["home"])
        assert (home / "bin" / "wso2server.sh").is_file(), home
        assert home.stat().st_uid == Path(node["hosts_file"]).stat().st_uid
        assert not (home / "wso2carbon.pid").exists()
    answers = tmp_path / "answers.yaml"
    prefix = "p" + re.sub(r"[^a-z]", "", pattern)[:10] + "_"
    answers.write_text(answers_for_lab(lab, pattern, db_prefix=prefix))
    sessions = tmp_path / "sessions"

    started = time.monotonic()
    first = _apply(answers, sessions, "--json")
    first_secs = time.monotonic() - started
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr
    events = [json.loads(x) for x in first.stdout.splitlines() if x.startswith("{")]
    states = {e["step"]: e["state"] for e in events if "step" in e}
    assert states and all(s in ("changed", "unchanged") for s in states.values()), states
    assert sum(s == "changed" for s in states.values()) > len(nodes)

    # every node answers on its HTTPS port, served from its own home
    for node in nodes:
        status, headers = _get(f"https://{node['address']}:{9443 + node['offset']}/carbon/")
        assert status == 200
        assert headers["X-Carbon-Node"] == node["host"]
        assert headers["X-Carbon-Port"] == str(9443 + node["offset"])
        assert Path(node["home"], "wso2carbon.pid").is_file()
    # through the lab's NGINX, a request reaches one of the pattern's nodes
    if load_pattern(pattern).lb_role:
        ng = lab["nginx"]
        status, headers = _get(f"https://{ng['address']}:{ng['https_port']}/carbon/")
        assert status == 200
        assert headers["X-Carbon-Node"] in {n["host"] for n in nodes}
        ports = {str(p + n["offset"]) for n in nodes for p in (9443, 8243)}
        assert headers["X-Carbon-Port"] in ports
    if pattern == "ob-apim-cluster":  # the OB datasource was moved to MySQL and checked
        log = Path(nodes[0]["home"], "repository/logs/wso2carbon.log").read_text()
        assert f"Datasource WSO2OB_DB connected to 127.0.0.1:{lab['db']['port']}/{prefix}" in log

    started = time.monotonic()
    again = _apply(answers, sessions)
    again_secs = time.monotonic() - started
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr
    counts = _summary(again.stdout)
    assert counts["changed"] == 0 and counts["failed"] == 0, again.stdout[-4000:]
    assert counts["unchanged"] == len(states)
    print(
        f"\n{pattern}: first apply {first_secs:.1f}s "
        f"({sum(s == 'changed' for s in states.values())} changed, "
        f"{sum(s == 'unchanged' for s in states.values())} unchanged), "
        f"re-run {again_secs:.1f}s ({counts['unchanged']} unchanged)"
    )
