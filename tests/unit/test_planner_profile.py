"""The planner's profile steps and start arguments, and the cluster members a joiner's wait
reads (docs/fake-carbon.md D1, D2)."""

from __future__ import annotations

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.plan import Plan
from wizard.planning.build import plan

IN_HOME = {"file_edit", "driver", "symlink", "truststore"}


def plan_of(pattern_id: str) -> Plan:
    answers, pattern = parse_answers(example_yaml(pattern_id))
    return plan(answers, pattern)


def test_each_profiled_home_is_optimised_once_before_anything_is_written_into_it() -> None:
    p = plan_of("apim-distributed")
    profiles = {s.host: s for s in p.steps if s.kind == "profile"}
    assert {h: s.inputs["profile"] for h, s in profiles.items()} == {
        "km": "api-key-manager",
        "tm": "traffic-manager",
        "pub": "api-publisher",
        "store": "api-store",
        "gw": "gateway-worker",
    }
    order = [s.id for s in p.steps]
    for host, step in profiles.items():
        home = step.inputs["home"]
        assert step.inputs == {
            "home": home,
            "profile": step.inputs["profile"],
            "script": f"{home}/bin/profileSetup.sh",
            "marker": f"{home}/.carbon-wizard-profile",
        }
        assert step.depends_on == [f"{host}:preflight"]
        writers = [s for s in p.steps if s.host == host and s.kind in IN_HOME]
        assert writers and all(step.id in s.depends_on for s in writers)
        assert all(order.index(step.id) < order.index(s.id) for s in writers)
        start = p.step(f"{host}:start")
        assert step.id in start.depends_on
        # starts pass the profile only: the optimisation is never repeated at a start
        assert start.inputs["args"] == [f"-Dprofile={step.inputs['profile']}"]
        assert "optimize" not in start.inputs
        assert step.rows == start.rows  # the first start of the node is where guides optimise


def test_no_profile_no_optimisation_and_no_start_ever_optimises() -> None:
    for pattern_id in ("apim-all-in-one", "apim-active-passive", "ob-apim-cluster", "ob-km-ha"):
        p = plan_of(pattern_id)
        assert not [s for s in p.steps if s.kind == "profile"], pattern_id
        for s in p.steps:
            if s.kind == "start":
                assert not any("optimize" in a for a in s.inputs["args"]), s.id
                assert not any(a.startswith("-Dprofile") for a in s.inputs["args"]), s.id


def test_a_joining_node_waits_for_the_members_already_running() -> None:
    p = plan_of("apim-active-passive")
    first, joiner = p.step("active:wait"), p.step("passive:wait")
    assert "cluster_peers" not in first.inputs and first.inputs["members"] is None
    assert joiner.inputs["members"] == 2
    log = p.step("active:start").inputs["home"] + "/repository/logs/wso2carbon.log"
    assert joiner.inputs["cluster_peers"] == [{"node": "active", "log": log}]
    # ob-km-ha: the second Key Manager joins the first; the API-M nodes are not members
    p = plan_of("ob-km-ha")
    assert [c["node"] for c in p.step("km2:wait").inputs["cluster_peers"]] == ["km1"]
    assert all("cluster_peers" not in s.inputs for s in p.steps if s.id.startswith("apim"))
