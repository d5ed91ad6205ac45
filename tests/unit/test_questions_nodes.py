"""Nodes of roles with a range of counts (Draft.add_node / remove_node) and the answers
page added for the sections the other pages leave to their defaults: pure, fast."""

from __future__ import annotations

import pytest

from wizard.answers.model import Answers, _node_name
from wizard.answers.ports import port_set
from wizard.answers.rules import check
from wizard.catalog import load_pattern, pattern_ids
from wizard.errors import WizardError
from wizard.questions.draft import FORM_PAGES, SCREENS, new_draft
from wizard.questions.nodes import add_node, unique_name
from wizard.secrets import Secret

RANGED = "ob-km-ha"  # role apim: 1 to 8 nodes


def _names(draft) -> list[str]:  # type: ignore[no-untyped-def]
    return [n["name"] for n in draft.data["nodes"]]


def test_only_ranged_roles_grow_and_shrink() -> None:
    draft = new_draft(RANGED)
    assert draft.growable_roles() == ["apim"]
    assert draft.shrinkable_roles() == []  # apim has its minimum of 1
    fixed = new_draft("apim-active-passive")
    assert fixed.growable_roles() == [] and fixed.shrinkable_roles() == []
    with pytest.raises(WizardError, match="maximum of 1"):
        fixed.add_node("passive")
    with pytest.raises(WizardError, match="no node role 'lb'"):
        fixed.add_node("lb")


def test_adding_up_to_the_maximum_keeps_the_draft_valid() -> None:
    draft = new_draft(RANGED)
    added = [draft.add_node("apim") for _ in range(7)]
    assert added == [f"apim-{i}" for i in range(2, 9)]
    assert draft.valid(), draft.all_problems()
    assert _names(draft)[:3] == ["km1", "km2", "apim"]  # the new ones follow their role
    apims = [n for n in draft.data["nodes"] if n["role"] == "apim"]
    assert len({n["address"] for n in apims}) == 1  # copies of the last: same host...
    offsets = [n.get("offset", 0) for n in apims]
    for i, a in enumerate(offsets):  # ...ports kept apart
        assert all(not (port_set(a) & port_set(b)) for b in offsets[i + 1 :])
    assert draft.growable_roles() == [] and draft.shrinkable_roles() == ["apim"]
    with pytest.raises(WizardError, match="maximum of 8"):
        draft.add_node("apim")
    hosts = draft.page("hosts")
    assert "apim-8: address" in [q.label for q in hosts.questions]
    assert "apim 8 of 1-8" in hosts.intro


def test_a_new_node_avoids_the_load_balancer_ports_on_its_host() -> None:
    draft = new_draft(RANGED)
    apim = draft.data["nodes"][2]
    draft.data["lb"]["address"] = apim["address"]
    draft.data["lb"]["https_port"] = 9444  # the servlet HTTPS port at offset 1
    assert draft.valid(), draft.all_problems()
    name = draft.add_node("apim")
    new = next(n for n in draft.data["nodes"] if n["name"] == name)
    assert new["offset"] not in (0, 1)
    assert draft.valid(), draft.all_problems()


def test_clustered_copies_get_their_own_member_port() -> None:
    pattern = load_pattern(RANGED).model_copy(deep=True)
    pattern.roles["apim"].cluster = True  # as if apim nodes were Hazelcast members
    data = new_draft(RANGED).data
    data["nodes"][2]["address"] = data["nodes"][0]["address"]  # apim shares km1's host
    data["nodes"][2]["offset"] = 5
    data["nodes"][2]["member_port"] = 4010
    index = add_node(pattern, data, "apim")
    assert data["nodes"][index]["member_port"] == 4020  # 4000 and 4010 are taken there
    answers = Answers.model_validate(data)
    assert [p.render() for p in check(answers, pattern)] == []


def test_remove_keeps_each_role_at_its_minimum() -> None:
    draft = new_draft(RANGED)
    with pytest.raises(WizardError, match="needs at least 1"):
        draft.remove_node("apim")
    with pytest.raises(WizardError, match="needs at least 1"):
        draft.remove_node("km1")
    with pytest.raises(WizardError, match="no node called"):
        draft.remove_node("nope")
    draft.add_node("apim")
    draft.add_node("apim")
    draft.remove_node("apim-2")
    assert _names(draft) == ["km1", "km2", "apim", "apim-3"]
    assert draft.valid(), draft.all_problems()
    assert draft.add_node("apim") == "apim-2"  # a freed name is used again
    assert draft.can_remove(3) and not draft.can_remove(0) and not draft.can_remove(9)


def test_typed_answers_move_with_their_node() -> None:
    draft = new_draft(RANGED)
    draft.add_node("apim")
    draft.memory["nodes.3.x"] = Secret("s3", "prompt")
    draft.memory["nodes.2.x"] = Secret("s2", "prompt")
    draft.memory["db.password"] = Secret("db", "prompt")
    draft.data["nodes"].insert(0, dict(draft.data["nodes"][0], name="km0"))  # not via add
    draft._shift_memory(0, +1)
    assert {k: v.reveal() for k, v in draft.memory.items()} == {
        "nodes.4.x": "s3",
        "nodes.3.x": "s2",
        "db.password": "db",
    }
    draft._shift_memory(3, -1)  # node 3 went: its answers go, the later ones move up
    assert {k: v.reveal() for k, v in draft.memory.items()} == {
        "nodes.3.x": "s3",
        "db.password": "db",
    }


@pytest.mark.parametrize(
    ("role", "taken", "want"),
    [
        ("apim", set(), "apim"),
        ("apim", {"apim", "apim-2"}, "apim-3"),
        ("DB", set(), "db-2"),  # db is reserved
        ("2nd_gw", set(), "n-2nd-gw"),
        ("x" * 40, {"x" * 32}, "x" * 30 + "-2"),
    ],
)
def test_new_names_are_valid_and_unique(role: str, taken: set[str], want: str) -> None:
    name = unique_name(role, taken)
    assert name == want
    assert _node_name(name) == name  # the answers model's own rule accepts it


def test_the_advanced_page_comes_before_review_and_resumes() -> None:
    assert FORM_PAGES[-1] == "advanced"
    assert SCREENS[SCREENS.index("advanced") + 1] == "review"
    assert [s for s in SCREENS if s in FORM_PAGES] == list(FORM_PAGES)


@pytest.mark.parametrize("pattern", pattern_ids())
def test_advanced_page_asks_what_the_model_has(pattern: str) -> None:
    draft = new_draft(pattern)
    p = load_pattern(pattern)
    keys = draft.page("advanced").keys()
    assert {"db.tls.mode", "db.tls.ca", "start.timeout", "start.jvm_opts"} <= set(keys)
    assert ("cluster.domain" in keys) == p.cluster.enabled
    assert ("sync.dir" in keys) == (p.sync is not None)
    for i, _ in enumerate(draft.data["nodes"]):
        assert f"nodes.{i}.offset" in keys


def test_defaults_show_and_list_answers_parse() -> None:
    draft = new_draft("apim-active-passive")
    draft.data.pop("start", None)
    draft.data.pop("cluster", None)
    assert draft.value("start.timeout") == "600"
    assert draft.value("cluster.domain") == "wso2.pub.store.domain"
    assert draft.value("nodes.1.offset") == "1"  # the passive role's offset
    draft.set("start.jvm_opts", " -Xms1g   -Xmx2g ")
    assert draft.data["start"]["jvm_opts"] == ["-Xms1g", "-Xmx2g"]
    assert draft.value("start.jvm_opts") == "-Xms1g -Xmx2g"
    draft.set("start.jvm_opts", "-Xms1g Xmx2g")
    assert "item 2: a JVM option starts with -" in (draft.problem("start.jvm_opts") or "")
    assert draft.page_problems(draft.page("advanced"))
    draft.set("start.jvm_opts", "")
    assert "jvm_opts" not in draft.data["start"] and draft.valid()
    draft.set("db.tls.mode", "sometimes")
    assert draft.problem("db.tls.mode")
    draft.set("db.tls.mode", "verify")
    draft.set("cluster.enabled", "no")
    assert draft.valid() and draft.data["cluster"]["enabled"] is False


def test_a_typed_ssh_password_stays_in_memory_and_reaches_the_login() -> None:
    from wizard.answers import parse_answers
    from wizard.runner import Secrets, host_targets

    draft = new_draft("apim-active-passive")
    draft.set("nodes.0.ssh.password", "Typed-Pw-1")
    draft.set("nodes.0.ssh.sudo", "yes")
    draft.set("nodes.0.ssh.sudo_password", "Typed-Pw-2")
    assert "Typed-Pw" not in draft.yaml()  # saved as the reference 'prompt'
    assert draft.data["nodes"][0]["ssh"]["password"] == "prompt"
    answers, _ = parse_answers(draft.yaml())
    target = host_targets(answers, Secrets(answers, draft.prompter()))[
        draft.data["nodes"][0]["name"]
    ]
    assert target.password is not None and target.password.reveal() == "Typed-Pw-1"
    assert target.sudo and target.sudo_password is not None
    assert target.sudo_password.reveal() == "Typed-Pw-2"
    assert not target.use_agent
