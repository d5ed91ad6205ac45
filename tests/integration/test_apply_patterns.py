"""Every clustered pattern end to end on a lab of its own: `carbon-wizard apply` headless
from stock homes to ready nodes behind the lab NGINX, then a re-run that changes nothing.

(apim-all-in-one is covered by test_apply_e2e.py.) Before each pattern the lab's homes are
put back to fresh packs (``labctl.reset_homes``), so every pattern starts from stock.
The lab answers use names (the LB's ``apim.<lab>.test``, the DB alias, distributed node
names) that only the lab hosts' own hosts files know: the runs go through the
``hosts_entry`` steps, and the nodes resolve through those files.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.catalog import load_pattern
from wizard.lab.answers import answers_for_lab, lab_nodes, maps_db_alias
from wizard.steps.httpget import http_get

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


def _get(url: str, resolve: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    got = http_get(url, resolve=resolve, timeout=5)
    assert got is not None, f"{url} does not answer"
    return got


def managed_block(path: Path, pattern: str) -> list[str]:
    """The lines of the wizard's managed block for ``pattern`` in a hosts file."""
    lines = path.read_text().splitlines()
    begin, end = f"# BEGIN carbon-wizard {pattern}", f"# END carbon-wizard {pattern}"
    assert lines.count(begin) == 1 and lines.count(end) == 1, path.read_text()
    return lines[lines.index(begin) + 1 : lines.index(end)]


def expected_hosts_lines(answers: dict[str, Any], pattern: str) -> set[str]:
    """What each node's hosts file must map: the DB alias, the LB's name, node names."""
    db, lb = answers["db"], answers.get("lb")
    want = set()
    if db.get("host_alias"):
        want.add(f"{db['ip']} {db['host_alias']}")
    if lb and pattern != "apim-distributed":  # G004 maps node names, not the LB's
        want.add(f"{lb['ip']} {lb['hostname']}")
    want |= {f"{n['address']} {n['hostname']}" for n in answers["nodes"] if n.get("hostname")}
    return want


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
    data = yaml.safe_load(answers.read_text())
    if maps_db_alias(load_pattern(pattern)):  # the nodes reach the DB by an alias
        assert data["db"]["host"] == data["db"]["host_alias"] != data["db"]["ip"]
    if "lb" in data:  # clients reach the LB by a name
        assert data["lb"]["hostname"].endswith(".test")
        assert data["lb"]["ip"] == lab["nginx"]["address"]
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
    # a node of a role with a profile runs it (-Dprofile=X), its home optimised once for it
    # by the profile step (docs/fake-carbon.md D2); cluster members joined (D1) by the waits
    for node in nodes:
        profile = load_pattern(pattern).roles[node["role"]].profile
        marker = Path(node["home"], ".carbon-wizard-profile")
        assert marker.exists() == bool(profile), node["name"]
        pid = Path(node["home"], "wso2carbon.pid").read_text().strip()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert (f"-Dprofile={profile}".encode() in argv) == bool(profile), argv
        if profile:
            assert marker.read_text().splitlines()[-1] == f"profile={profile}"
    # every node's own hosts file maps the names of the answers, in the pattern's block
    want = expected_hosts_lines(data, pattern)
    assert want, pattern
    hosts_files = {Path(node["hosts_file"]) for node in nodes}
    for path in hosts_files:
        assert set(managed_block(path, pattern)) == want, path
    hosts_text = {path: path.read_bytes() for path in hosts_files}
    # through the lab's NGINX, a request for the LB's name reaches one of the pattern's nodes
    if load_pattern(pattern).lb_role:
        ng, name = lab["nginx"], data["lb"]["hostname"]
        url = f"https://{name}:{ng['https_port']}/carbon/"
        status, headers = _get(url, resolve={name: data["lb"]["ip"]})
        assert status == 200
        assert headers["X-Carbon-Node"] in {n["host"] for n in nodes}
        ports = {str(p + n["offset"]) for n in nodes for p in (9443, 8243)}
        assert headers["X-Carbon-Port"] in ports
    # the nodes reached the DB by the host of their JDBC URLs (the alias: at db.ip)
    db = data["db"]
    via = rf" \({re.escape(db['ip'])}\)" if db.get("host_alias") else ""
    want_db = rf"connected to {re.escape(db['host'])}:{lab['db']['port']}/{prefix}\w+{via}$"
    connected = [
        line
        for node in nodes
        for line in Path(node["home"], "repository/logs/wso2carbon.log").read_text().splitlines()
        if "{org.wso2.carbon.ndatasource.core.DataSourceRepository} - Datasource " in line
    ]
    assert connected and all(re.search(want_db, line) for line in connected), connected
    if pattern == "ob-apim-cluster":  # the OB pack's own OB datasource moved to MySQL, checked
        log = Path(nodes[0]["home"], "repository/logs/wso2carbon.log").read_text()
        ob_db = f"{prefix}openbank_openbankingdb"
        assert re.search(rf"Datasource WSO2_OPEN_BANKING_DB connected to \S+/{ob_db}\b", log)
        ds_dir = Path(nodes[0]["home"], "repository/conf/datasources")
        assert ob_db in (ds_dir / "open-banking-datasources.xml").read_text()
        assert "jdbc/WSO2OpenBankingDB" not in (ds_dir / "master-datasources.xml").read_text()

    started = time.monotonic()
    again = _apply(answers, sessions)
    again_secs = time.monotonic() - started
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr
    counts = _summary(again.stdout)
    assert counts["changed"] == 0 and counts["failed"] == 0, again.stdout[-4000:]
    assert counts["unchanged"] == len(states)
    assert {path: path.read_bytes() for path in hosts_files} == hosts_text  # left as they were
    print(
        f"\n{pattern}: first apply {first_secs:.1f}s "
        f"({sum(s == 'changed' for s in states.values())} changed, "
        f"{sum(s == 'unchanged' for s in states.values())} unchanged), "
        f"re-run {again_secs:.1f}s ({counts['unchanged']} unchanged)"
    )
