"""Planning ``product.pack`` (wizard/planning/pack.py) and the sync key
(wizard/planning/synckey.py), and rolling back a home the session unpacked
(wizard/undo.py)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.catalog import pattern_ids
from wizard.changes import Change
from wizard.journal import Entry
from wizard.plan import Plan, kind_tags
from wizard.planning.build import plan
from wizard.stepinputs import problems
from wizard.undo import undo_plan

PACK = "/srv/packs/wso2am-2.6.0.zip"


def _plan(pattern: str, **product: Any) -> Plan:
    data = yaml.safe_load(example_yaml(pattern))
    data["product"].update(product)
    return plan(*parse_answers(yaml.safe_dump(data)))


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_each_node_unpacks_first_and_everything_in_its_home_waits_for_it(pattern_id: str) -> None:
    p = _plan(pattern_id, pack=PACK)
    packs = [s for s in p.steps if s.kind == "pack"]
    nodes = {s.host for s in p.steps if s.kind == "start"}
    assert {s.host for s in packs} == nodes and len(packs) == len(nodes)
    assert p.steps[: len(packs)] == packs  # first: every host's upload starts at once
    for s in packs:
        assert s.depends_on == [] and s.inputs["source"] == PACK
        assert s.inputs["marker"].startswith(s.inputs["home"] + "/")
        assert not problems(s)
    by_host = {s.host: s.id for s in packs}
    for s in p.steps:
        if s.host in by_host and s.kind != "pack":
            assert by_host[s.host] in s.depends_on, s.id
        if s.kind == "dbscript":
            assert by_host[s.inputs["source_node"]] in s.depends_on, s.id
    # the same plan otherwise
    plain = _plan(pattern_id)
    assert [s.id for s in p.steps if s.kind != "pack"] == [s.id for s in plain.steps]
    assert "files" in kind_tags("pack")


def test_the_pack_step_names_the_products_the_home_may_hold() -> None:
    p = _plan("apim-all-in-one", pack=PACK)
    (step,) = [s for s in p.steps if s.kind == "pack"]
    assert step.inputs["products"] == ["WSO2 API Manager 2.6.0"]


def test_the_sync_source_gets_a_key_the_workers_authorise() -> None:
    p = _plan("apim-active-passive")
    sync = p.step("active:sync_script")
    key = p.step("active:ssh_key")
    auth = p.step("passive:authorized_key")
    assert key.inputs["generate"] is True
    assert key.inputs["key"] == sync.inputs["key"]
    assert key.inputs["key"].startswith(sync.inputs["dir"] + "/")
    assert auth.inputs["key_host"] == "active" and auth.inputs["key"] == key.inputs["key"]
    assert auth.inputs["user"] == auth.inputs["login_user"] == "wso2"
    assert {key.id, auth.id} <= set(sync.depends_on) and key.id in auth.depends_on
    order = [s.id for s in p.steps]
    assert order.index(auth.id) < order.index(sync.id)


def test_a_given_sync_key_and_user_are_used() -> None:
    data = yaml.safe_load(example_yaml("ob-apim-cluster"))
    data["sync"] = {"key": "/home/wso2/.ssh/sync_rsa", "user": "syncer"}
    p = plan(*parse_answers(yaml.safe_dump(data)))
    key = p.step("node1:ssh_key")
    assert key.inputs == {"key": "/home/wso2/.ssh/sync_rsa", "generate": False,
                          "comment": "carbon-wizard-sync@node1"}  # fmt: skip
    auth = p.step("node2:authorized_key")
    assert auth.inputs["user"] == "syncer" and auth.inputs["login_user"] == "wso2"
    assert p.step("node1:sync_script").inputs["key"] == "/home/wso2/.ssh/sync_rsa"


def test_no_sync_no_key() -> None:
    data = yaml.safe_load(example_yaml("apim-active-passive"))
    data["sync"] = {"enabled": False}
    p = plan(*parse_answers(yaml.safe_dump(data)))
    assert not {"ssh_key", "authorized_key", "sync_script"} & {s.kind for s in p.steps}


def _done(step: str, kind: str, host: str, outcome: str, *changes: Change) -> Entry:
    wrote = {"wrote": [c.to_dict() for c in changes]} if changes else {}
    return Entry("done", step, host, kind, "fp", outcome, extra=wrote)


def test_rollback_removes_a_home_the_session_unpacked_after_its_files() -> None:
    p = _plan("apim-all-in-one", pack=PACK)
    node = next(s.host for s in p.steps if s.kind == "pack")
    home = p.step(f"{node}:pack").inputs["home"]
    conf = Change(node, f"{home}/repository/conf/carbon.xml", True, f"{home}/c.bak", "1" * 64)
    jar = Change(node, f"{home}/repository/components/lib/d.jar", False, None, "2" * 64)
    entries = [
        _done(f"{node}:pack", "pack", node, "changed"),
        _done(f"{node}:file_edit:repository/conf/carbon.xml", "file_edit", node, "changed", conf),
        _done(f"{node}:driver", "driver", node, "changed", jar),
        _done(f"{node}:start", "start", node, "changed"),
        # a second run of the same session found everything in place
        _done(f"{node}:pack", "pack", node, "unchanged"),
        _done(f"{node}:start", "start", node, "unchanged"),
    ]
    undo = undo_plan(p, entries, session_id="s1").plan
    kinds = [s.kind for s in undo.steps]
    assert kinds[0] == "stop_node"  # started by the session: still stopped
    remove = undo.step(f"undo:{node}:home")
    assert remove.kind == "remove_home" and not problems(remove)
    assert remove.inputs["path"] == home and remove.inputs["session"] == "s1"
    assert remove.inputs["ignore"] == [
        "repository/components/lib/d.jar", "repository/conf/carbon.xml"]  # fmt: skip
    files = [s.id for s in undo.steps if s.kind == "restore_file"]
    assert files[-1] in remove.depends_on and f"undo:{node}:stop" in remove.depends_on


def test_a_home_that_was_there_is_never_removed() -> None:
    p = _plan("apim-all-in-one", pack=PACK)
    node = next(s.host for s in p.steps if s.kind == "pack")
    undo = undo_plan(p, [_done(f"{node}:pack", "pack", node, "unchanged")], session_id="s1")
    assert undo.nothing
