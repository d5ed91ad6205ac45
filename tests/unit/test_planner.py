"""Planner: answers + catalog -> ordered, deterministic, secret-free plan."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.catalog import load_pattern, pattern_ids
from wizard.plan import fingerprint
from wizard.planning.build import plan

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


def plan_for(text: str):
    answers, pattern = parse_answers(text)
    return plan(answers, pattern)


def example_with(pattern_id: str, **top: object) -> str:
    data = yaml.safe_load(example_yaml(pattern_id))
    for key, value in top.items():
        section, _, field = key.partition("__")
        if field:
            data.setdefault(section, {})[field] = value
        else:
            data[section] = value
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_plan_snapshot(pattern_id):
    """The plan of the pattern's example answers, indented for review (the session's
    plan.json has a step per line); UPDATE_SNAPSHOTS=1 rewrites it."""
    plan = plan_for(example_yaml(pattern_id))
    assert json.loads(plan.to_json()) == plan.to_dict()
    text = json.dumps(plan.to_dict(), indent=2, ensure_ascii=False) + "\n"
    snap = SNAPSHOTS / f"plan-{pattern_id}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not snap.exists():
        if os.environ.get("UPDATE_SNAPSHOTS") != "1" and os.environ.get("CI"):
            pytest.fail(f"missing snapshot {snap.name}; run with UPDATE_SNAPSHOTS=1")
        snap.write_text(text, encoding="utf-8")
    assert text == snap.read_text(encoding="utf-8"), (
        f"plan of {pattern_id} changed; review and run with UPDATE_SNAPSHOTS=1"
    )


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_plan_is_deterministic_ordered_and_fingerprinted(pattern_id):
    text = example_yaml(pattern_id)
    first, second = plan_for(text), plan_for(text)
    assert first.to_json() == second.to_json()
    seen: set[str] = set()
    for step in first.steps:
        assert step.id not in seen
        assert all(d in seen for d in step.depends_on), f"{step.id} depends on a later step"
        seen.add(step.id)
        assert step.fingerprint == fingerprint(step.kind, step.host, step.inputs)
        assert step.rows, f"{step.id} implements no CHECKLIST row"
        assert all(r.startswith(load_pattern(pattern_id).prefix + "-") for r in step.rows)
    # one file_edit step per (node, file)
    targets = [(s.host, s.inputs["path"]) for s in first.steps if s.kind == "file_edit"]
    assert len(targets) == len(set(targets))


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_plan_holds_no_secret_and_no_reference(pattern_id, monkeypatch):
    data = yaml.safe_load(example_yaml(pattern_id))
    data["db"]["password"] = "env:CW_TEST_DB_PASSWORD"
    monkeypatch.setenv("CW_TEST_DB_PASSWORD", "very-secret-db-pw")
    text = plan_for(yaml.safe_dump(data)).to_json()
    assert "very-secret-db-pw" not in text
    assert "env:CW_TEST_DB_PASSWORD" not in text and "env:DB_ADMIN_PASSWORD" not in text
    assert "\u27e6secret:db.password\u27e7" in text


def test_changing_an_answer_changes_only_the_affected_fingerprints():
    base = plan_for(example_yaml("apim-active-passive"))
    other = plan_for(example_with("apim-active-passive", cluster__domain="other.domain"))
    changed = {
        s.id for s, t in zip(base.steps, other.steps, strict=True) if s.fingerprint != t.fingerprint
    }
    assert changed == {
        "active:file_edit:repository/conf/axis2/axis2.xml",
        "passive:file_edit:repository/conf/axis2/axis2.xml",
    }


def test_active_passive_shape():
    p = plan_for(example_yaml("apim-active-passive"))
    kinds = [s.kind for s in p.steps]
    assert kinds.count("database") == 3 and kinds.count("dbscript") == 3
    axis2 = p.step("passive:file_edit:repository/conf/axis2/axis2.xml").inputs["edits"]
    members = next(e for e in axis2 if e["op"] == "repl")["value"]["members"]["member"]
    assert members == [{"hostName": "192.0.2.11", "port": "4000"}]  # the peer only
    carbon = p.step("passive:file_edit:repository/conf/carbon.xml").inputs["edits"]
    assert carbon == [{"op": "set", "locator": "/c:Server/c:Ports/c:Offset", "value": "1"}]
    lb = p.step("lb:load_balancer").inputs
    allnodes = next(u for u in lb["upstreams"] if u["name"] == "allnodes")
    assert allnodes["servers"] == [
        {"address": "192.0.2.11", "port": 9443, "backup": False},
        {"address": "192.0.2.12", "port": 9444, "backup": True},
    ]
    jndi2 = p.step("active:file_edit:repository/conf/jndi2.properties")
    assert jndi2.inputs["create_from"].endswith("repository/conf/jndi.properties")
    topic = jndi2.inputs["edits"][0]
    assert topic["secret"] is True
    assert "tcp://192.0.2.12:5673" in topic["value"]  # the peer's AMQP port with its offset
    # order: LB, then active ready, then passive, then the sync cron
    order = [s.id for s in p.steps]
    assert order.index("lb:load_balancer") < order.index("active:start")
    assert "active:wait" in p.step("passive:start").depends_on
    assert set(p.step("active:sync_script").depends_on) == {
        "active:wait", "passive:wait", "active:ssh_key", "passive:authorized_key"
    }  # fmt: skip
    assert p.step("passive:wait").inputs["members"] == 2


def test_setup_flag_replaces_dbscripts_with_dsetup():
    p = plan_for(example_with("apim-all-in-one", start__setup_flag=True))
    assert not [s for s in p.steps if s.kind == "dbscript"]
    assert "-Dsetup" in p.step("node:start").inputs["args"]


def test_keystore_replace_adds_certificate_truststore_and_references():
    text = example_with(
        "apim-active-passive",
        keystore={"replace": True, "password": "env:KS_PW"},
    )
    p = plan_for(text)
    cert = p.step("active:certificate:keystore")
    assert cert.inputs["password"] == "\u27e6secret:keystore.password\u27e7"
    trust = p.step("passive:truststore:keystore")
    assert trust.inputs["copy_keystore"]["from_host"] == "active"
    assert cert.id in trust.depends_on
    cat = p.step("passive:file_edit:repository/conf/tomcat/catalina-server.xml")
    assert {e["attr"] for e in cat.inputs["edits"]} == {"keystoreFile", "keystorePass"}
    assert trust.id in p.step("passive:start").depends_on


def test_hostname_and_hosts_entries_follow_answers():
    data = yaml.safe_load(example_yaml("apim-all-in-one"))
    data["nodes"][0]["hostname"] = "apim.example.org"
    data["db"]["host_alias"] = "carbondb.example.org"
    data["db"]["ip"] = "192.0.2.10"
    p = plan_for(yaml.safe_dump(data))
    carbon = p.step("node:file_edit:repository/conf/carbon.xml").inputs["edits"]
    assert [e["locator"] for e in carbon if e["op"] == "ins"] == ["c:HostName", "c:MgtHostName"]
    assert p.step("node:hosts_entry").inputs["path"] == "/etc/hosts"
    hosts = p.step("node:hosts_entry").inputs["edits"][0]
    assert hosts["value"] == ["192.0.2.10 carbondb.example.org"]
    plain = plan_for(example_yaml("apim-all-in-one"))
    assert "node:hosts_entry" not in {s.id for s in plain.steps}


def test_datasource_url_and_registry_mount():
    p = plan_for(example_yaml("apim-all-in-one"))
    md = p.step("node:file_edit:repository/conf/datasources/master-datasources.xml")
    add_um = md.inputs["edits"][1]
    conf = add_um["value"]["datasource"]["definition"]["configuration"]
    assert conf["url"] == "jdbc:mysql://192.0.2.10:3306/userdb?autoReconnect=true&useSSL=false"
    assert (
        add_um["locator"]
        == "/datasources-configuration/datasources/datasource[jndiConfig/name='jdbc/WSO2UM_DB']"
    )
    reg = p.step("node:file_edit:repository/conf/registry.xml").inputs["edits"]
    mounts = [e["value"]["mount"] for e in reg if "mount" in e["value"]]
    assert {m["instanceId"] for m in mounts} == {"gov"}
    remote = reg[1]["value"]["remoteInstance"]
    assert remote["@url"] == "https://192.0.2.11:9443/registry"
    assert remote["cacheId"] == ["apimuser@jdbc:mysql://192.0.2.10:3306/regdb"]
