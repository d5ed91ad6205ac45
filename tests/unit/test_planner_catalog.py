"""Catalog loading: shape errors, macros, roles; tokens in the plan and their substitution."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.catalog import load_pattern, load_pattern_file, pattern_ids
from wizard.errors import WizardError
from wizard.planning.build import plan
from wizard.secretrefs import paths, substitute, token

MINIMAL = """\
id: {id}
title: T
description: D
prefix: T
versions: ["2.6.0"]
roles:
  node: {{label: Node}}
edits:
{edits}
"""


def write(tmp_path: Path, edits: str, pid: str = "t-pattern") -> Path:
    f = tmp_path / f"{pid}.yaml"
    f.write_text(MINIMAL.format(id=pid, edits=edits))
    return f


def test_every_catalog_pattern_loads_and_knows_its_rows():
    for pid in pattern_ids():
        p = load_pattern(pid)
        assert p.node_roles
        assert all(r.startswith(p.prefix + "-") for r in p.all_rows())


def test_macro_expansion_with_params_and_parts(tmp_path):
    f = write(
        tmp_path,
        "  - use: hazelcast_wka\n"
        "    rows: [T-E1]\n"
        "    with: {members: all}\n"
        "    parts: {enable: [T-E2]}\n",
    )
    p = load_pattern_file(f)
    assert len(p.edits) == 6
    assert p.edits[0].rows == ["T-E1", "T-E2"] and p.edits[1].rows == ["T-E1"]
    assert all(e.params["members"] == "all" and e.macro == "hazelcast_wka" for e in p.edits)


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ("  - {use: no_such_macro}\n", "unknown macro"),
        ("  - {use: datasource}\n", "needs parameter 'key'"),
        ("  - {use: datasource, with: {key: am, colour: red}}\n", "no parameter colour"),
        ("  - {use: hazelcast_wka, parts: {nope: [T-E1]}}\n", "has no part nope"),
        ("  - {file: a.xml, op: frobnicate, locator: /a}\n", "not a valid catalog entry"),
        ("  - {file: a.xml, op: set, locator: /a, roles: [ghost]}\n", "unknown role 'ghost'"),
    ],
)
def test_catalog_errors_are_clear(tmp_path, edits, message):
    with pytest.raises(WizardError) as info:
        load_pattern_file(write(tmp_path, edits))
    assert message in info.value.what
    assert str(tmp_path) in str(info.value.where)


def test_unknown_pattern_id_lists_the_known_ones():
    with pytest.raises(WizardError) as info:
        load_pattern("nope")
    assert "apim-all-in-one" in (info.value.fix or "")


def test_tokens_round_trip_and_url_encoding():
    text = f"amqp://admin:{token('admin.password', 'url')}@x and {token('db.password')}"
    assert paths(text) == ["admin.password", "db.password"]
    out = substitute(text, {"admin.password": "p@ss/w:rd", "db.password": "a&b"}.__getitem__)
    assert out == "amqp://admin:p%40ss%2Fw%3Ard@x and a&b"
    with pytest.raises(ValueError):
        token("bad path!")


def test_amqp_url_in_plan_uses_url_token():
    answers, pattern = parse_answers(example_yaml("apim-active-passive"))
    p = plan(answers, pattern)
    edit = p.step("active:file_edit:repository/conf/jndi2.properties").inputs["edits"][0]
    assert token("admin.password", "url") in edit["value"]
    assert edit["secret"] is True
