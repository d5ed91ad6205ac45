"""Property tests: valid answers always plan; broken answers always give a WizardError."""

from __future__ import annotations

import copy
import os
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.answers import AnswersError, parse_answers
from wizard.answers.example import example_yaml
from wizard.answers.model import SECRET_FIELDS
from wizard.catalog import load_pattern, pattern_ids
from wizard.errors import EXIT_BAD_INPUT, WizardError
from wizard.planning.build import plan
from wizard.secrets import MASK

EXAMPLES = {pid: yaml.safe_load(example_yaml(pid)) for pid in pattern_ids()}
SETTINGS = settings(
    max_examples=int(os.environ.get("CW_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ident = st.from_regex(r"[A-Za-z0-9_]{1,20}", fullmatch=True)
user = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).filter(lambda u: u not in ("root",))


@st.composite
def valid_answers(draw: st.DrawFn) -> dict[str, Any]:
    pid = draw(st.sampled_from(pattern_ids()))
    pattern = load_pattern(pid)
    data = copy.deepcopy(EXAMPLES[pid])
    template = data["nodes"][0]
    nodes = []
    octets = iter(draw(st.permutations(range(1, 250))))
    for role in pattern.node_roles:
        spec = pattern.roles[role]
        count = draw(st.integers(min_value=max(spec.min, 1), max_value=min(spec.max, 3)))
        for i in range(count):
            node = copy.deepcopy(template)
            node.update(
                name=f"{role.replace('_', '-')}-{i}",
                role=role,
                address=f"10.{draw(st.integers(0, 255))}.{draw(st.integers(0, 255))}.{next(octets)}",
                offset=draw(st.integers(0, 2000)),
                member_port=draw(st.integers(1024, 65535)),
            )
            if draw(st.booleans()):
                node["hostname"] = f"{node['name']}.example.com"
            nodes.append(node)
    data["nodes"] = nodes
    db = data["db"]
    db["user"] = draw(user.filter(lambda u: u != db["admin_user"]))
    db["port"] = draw(st.integers(1, 65535))
    db["charset"] = draw(st.sampled_from(["latin1", "utf8", "utf8mb4"]))
    db["script_variant"] = draw(st.sampled_from(["auto", "mysql", "mysql5.7"]))
    names = draw(
        st.lists(ident, min_size=len(db["databases"]), max_size=len(db["databases"]), unique=True)
    )
    for key, name in zip(db["databases"], names, strict=True):
        db["databases"][key] = {"name": name}
    data["start"]["setup_flag"] = draw(st.booleans())
    data["cluster"]["domain"] = draw(st.from_regex(r"[a-z][a-z0-9.]{0,20}", fullmatch=True))
    if draw(st.booleans()):
        data["keystore"] = {
            "replace": True,
            "password": "env:KS_PW",
            "days": draw(st.integers(1, 3650)),
        }
    return data


@SETTINGS
@given(valid_answers())
def test_random_valid_answers_always_plan(data):
    answers, pattern = parse_answers(yaml.safe_dump(data))
    p = plan(answers, pattern)
    assert p.steps
    assert {s.host for s in p.steps} >= {n.name for n in answers.nodes}
    assert p.to_json() == plan(answers, pattern).to_json()


junk = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def broken_answers(draw: st.DrawFn) -> str:
    pid = draw(st.sampled_from(pattern_ids()))
    data = copy.deepcopy(EXAMPLES[pid])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["junk", "delete", "literal-secret"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "literal-secret":
            parent[path[-1]] = "plain-password-1"
        else:
            parent[path[-1]] = draw(junk)
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=40))
    return yaml.safe_dump(data)


@SETTINGS
@given(broken_answers())
def test_random_broken_answers_give_a_clear_error(text):
    try:
        answers, pattern = parse_answers(text, "broken.yaml")
    except AnswersError as exc:
        assert exc.exit_code == EXIT_BAD_INPUT
        assert exc.problems and all(p.message for p in exc.problems)
        assert exc.fix
        for p in exc.problems:
            if p.path.rsplit(".", 1)[-1] in SECRET_FIELDS and p.value is not None:
                assert p.value == MASK, p.render()
        return
    except WizardError as exc:  # YAML syntax
        assert exc.exit_code == EXIT_BAD_INPUT
        return
    plan(answers, pattern)  # a corruption that stayed valid must still plan
