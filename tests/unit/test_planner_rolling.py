"""A running deployment restarts one node at a time: within a start group, a node that
runs now waits for the one restarted before it to be ready (the others keep serving);
nodes that do not run yet start side by side."""

from __future__ import annotations

import copy

import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.homefacts import Facts, HomeFacts
from wizard.planner import plan


def _answers(apims: int):  # type: ignore[no-untyped-def]
    data = yaml.safe_load(example_yaml("ob-km-ha"))
    first = next(n for n in data["nodes"] if n["role"] == "apim")
    for i in range(2, apims + 1):
        data["nodes"].append(
            {**copy.deepcopy(first), "name": f"apim{i}", "address": f"192.0.2.{60 + i}"}
        )
    return parse_answers(yaml.safe_dump(data))


def _facts(answers, running: bool) -> Facts:  # type: ignore[no-untyped-def]
    homes = {}
    for n in answers.nodes:
        home = HomeFacts(n.name, n.home or answers.product.home, running=running)
        home.files["repository/conf/carbon.xml"] = (
            b'<Server xmlns="http://wso2.org/projects/carbon/carbon.xml"><Name>WSO2 API '
            b"Manager</Name><Version>2.6.0</Version></Server>"
        )
        homes[n.name] = home
    return Facts(homes)


def test_running_nodes_of_a_group_restart_one_after_another() -> None:
    answers, pattern = _answers(3)
    p = plan(answers, pattern, _facts(answers, running=True))
    starts = {s.host: s for s in p.steps if s.kind == "start" and s.host.startswith("apim")}
    assert set(starts) == {"apim", "apim2", "apim3"}
    assert "apim:wait" in starts["apim2"].depends_on
    assert "apim2:wait" in starts["apim3"].depends_on


def test_nodes_not_running_yet_start_side_by_side() -> None:
    answers, pattern = _answers(3)
    for facts in (_facts(answers, running=False), None):
        p = plan(answers, pattern, facts)
        starts = [s for s in p.steps if s.kind == "start" and s.host.startswith("apim")]
        waits = {f"{s.host}:wait" for s in starts}
        assert all(not waits & set(s.depends_on) for s in starts)
