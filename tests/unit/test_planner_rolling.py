"""The plan of a deployment does not depend on which of its nodes run now (a plan made
before a start and after it are the same, so a resumed session or an exported project
stays valid); behind a load balancer every node's wait carries the ``settle`` a rolling
restart needs (wizard/rolling.py), past NGINX's fail_timeout on the upstream servers."""

from __future__ import annotations

import copy

import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.planning.build import plan
from wizard.planning.run import LB_FAIL_TIMEOUT


def _answers(pattern_id: str, apims: int = 1):  # type: ignore[no-untyped-def]
    data = yaml.safe_load(example_yaml(pattern_id))
    if apims > 1:
        first = next(n for n in data["nodes"] if n["role"] == "apim")
        for i in range(2, apims + 1):
            data["nodes"].append(
                {**copy.deepcopy(first), "name": f"apim{i}", "address": f"192.0.2.{60 + i}"}
            )
    return parse_answers(yaml.safe_dump(data))


def test_nodes_of_a_group_start_side_by_side() -> None:
    answers, pattern = _answers("ob-km-ha", apims=3)
    p = plan(answers, pattern)
    starts = [s for s in p.steps if s.kind == "start" and s.host.startswith("apim")]
    assert len(starts) == 3
    waits = {f"{s.host}:wait" for s in starts}
    assert all(not waits & set(s.depends_on) for s in starts)


def test_waits_behind_the_lb_settle_past_its_fail_timeout() -> None:
    answers, pattern = _answers("apim-active-passive")
    p = plan(answers, pattern)
    (lb,) = [s for s in p.steps if s.kind == "load_balancer"]
    assert lb.inputs["fail_timeout"] == LB_FAIL_TIMEOUT
    node_waits = [s for s in p.steps if s.kind == "wait" and "log" in s.inputs]
    assert node_waits and all(s.inputs["settle"] > LB_FAIL_TIMEOUT for s in node_waits)


def test_without_a_load_balancer_nothing_settles() -> None:
    answers, pattern = _answers("apim-all-in-one")
    p = plan(answers, pattern)
    assert not [s for s in p.steps if s.kind == "load_balancer"]
    assert all("settle" not in s.inputs for s in p.steps if s.kind == "wait")


def test_one_more_node_of_a_ranged_role_changes_only_its_own_steps() -> None:
    """ob-km-ha's apim role is ranged (1-8), not clustered and not behind the KM load
    balancer: a third apim node adds its own steps; every step of the running two keeps
    its fingerprint, so a re-run changes nothing there and restarts none of them."""
    before = plan(*_answers("ob-km-ha", apims=2))
    after = plan(*_answers("ob-km-ha", apims=3))
    old = {s.id: s.fingerprint for s in before.steps}
    new = {s.id: s.fingerprint for s in after.steps}
    added = set(new) - set(old)
    assert added and all(sid.startswith("apim3:") for sid in added)
    assert not set(old) - set(new)
    changed = [sid for sid in old if old[sid] != new[sid]]
    assert changed == [], changed


def test_the_lb_upstreams_follow_the_nodes_of_their_roles() -> None:
    answers, pattern = _answers("apim-active-passive")
    data = yaml.safe_load(example_yaml("apim-active-passive"))
    passive = next(n for n in data["nodes"] if n["role"] == "passive")
    passive["address"] = "192.0.2.99"
    moved, _ = parse_answers(yaml.safe_dump(data))
    ups = {
        a: {u["name"]: [s["address"] for s in u["servers"]] for u in lb.inputs["upstreams"]}
        for a, lb in (
            ("before", next(s for s in plan(answers, pattern).steps if s.kind == "load_balancer")),
            ("after", next(s for s in plan(moved, pattern).steps if s.kind == "load_balancer")),
        )
    }
    assert (
        "192.0.2.99" in ups["after"]["allnodes"] and "192.0.2.99" not in ups["before"]["allnodes"]
    )
