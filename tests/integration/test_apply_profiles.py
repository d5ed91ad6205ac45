"""apim-distributed on a lab of its own: every home is optimised for its role's profile
once, by the real script of the pack (bin/profileSetup.sh, what 2.6.0's does), before the
wizard edits it (docs/fake-carbon.md D2). Both hold afterwards: the profile's flags and
deletions, and the wizard's edits in the same files; a second apply changes nothing and
does not optimise again (what a new optimisation would delete stays)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.catalog import load_pattern
from wizard.lab.answers import answers_for_lab, lab_nodes

pytestmark = pytest.mark.lab

PATTERN = "apim-distributed"
DEPLOY = "repository/deployment/server"
AM = "repository/conf/api-manager.xml"
# what 2.6.0's profileSetup.sh leaves per profile: flags still on, Jaggery apps kept
FLAGS_ON = {
    "api-key-manager": set(),
    "traffic-manager": {"DataPublisher", "JMSConnectionDetails", "PolicyDeployer"},
    "api-publisher": {"PolicyDeployer"},
    "api-store": set(),
    "gateway-worker": {"DataPublisher", "JMSConnectionDetails"},
}
JAGGERY = {"api-publisher": {"admin", "publisher"}, "api-store": {"store"}}


def _apply(answers: Path, sessions: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard", "--session-dir", str(sessions), "apply",
         "--answers", str(answers), "--yes", *extra],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def _states(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    events = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    return {e["step"]: e["state"] for e in events if "step" in e}


def flags_on(home: Path) -> set[str]:
    root = ET.parse(home / AM).getroot()
    return {
        tag
        for tag in ("DataPublisher", "JMSConnectionDetails", "PolicyDeployer")
        if any((e.findtext("Enabled") or "").strip() == "true" for e in root.iter(tag))
    }


def test_homes_are_optimised_once_before_the_edits_and_both_hold(
    own_lab: dict[str, Any], tmp_path: Path
) -> None:
    from wizard.lab import labctl

    lab = own_lab
    labctl.reset_homes(Path(lab["dir"]))
    pattern = load_pattern(PATTERN)
    nodes = lab_nodes(lab, PATTERN)
    profile_of = {n["name"]: pattern.roles[n["role"]].profile for n in nodes}
    answers = tmp_path / "answers.yaml"
    answers.write_text(answers_for_lab(lab, PATTERN, db_prefix="pprof_"))
    data = yaml.safe_load(answers.read_text())
    sessions = tmp_path / "sessions"

    first = _apply(answers, sessions, "--only", "profile,files", "--json")
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr
    states = _states(first)
    assert {s for s in states if s.endswith(":profile")} == {f"{n['name']}:profile" for n in nodes}
    assert all(states[f"{n['name']}:profile"] == "changed" for n in nodes), states

    km = next(n for n in nodes if n["role"] == "km")
    km_answer = next(x for x in data["nodes"] if x["role"] == "km")
    km_url = f"https://{km_answer.get('hostname') or km_answer['address']}:"
    for n in nodes:
        home, profile = Path(n["home"]), profile_of[n["name"]]
        marker = (home / ".carbon-wizard-profile").read_text()
        assert marker.splitlines()[-1] == f"profile={profile}", n["name"]
        # the optimisation: flags, senders, deletions of 2.6.0's script for the profile
        assert flags_on(home) == FLAGS_ON[profile], n["name"]
        apps = {p.name for p in (home / DEPLOY / "jaggeryapps").iterdir()}
        assert apps == JAGGERY.get(profile, set()), n["name"]
        # and the wizard's edits of the same file, made to the optimised file
        am = ET.parse(home / AM).getroot()
        if n["role"] in ("gw", "pub", "store"):
            url = am.findtext("./APIKeyValidator/ServerURL") or ""
            assert url.startswith(km_url) and url.endswith("/services/"), url
        assert am.findtext("./DataSourceName") == "jdbc/WSO2AM_DB"

    # what a second optimisation would delete: a synapse-configs folder on the KM (its
    # profile removes them all) and a war on the publisher (it keeps its own only)
    pub = next(n for n in nodes if n["role"] == "pub")
    sentinels = [
        Path(km["home"], DEPLOY, "synapse-configs/default/proxy-services"),
        Path(pub["home"], DEPLOY, "webapps/sentinel.war"),
    ]
    sentinels[0].mkdir()
    sentinels[1].write_bytes(b"PK\x05\x06" + b"\0" * 18)
    edited = {
        p: p.read_bytes() for n in nodes for p in Path(n["home"], "repository/conf").rglob("*.xml")
    }

    again = _apply(answers, sessions, "--only", "profile,files", "--json")
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr
    states = _states(again)
    assert states and set(states.values()) == {"unchanged"}, states
    assert all(p.exists() for p in sentinels)  # not optimised again
    assert {p: p.read_bytes() for p in edited} == edited
