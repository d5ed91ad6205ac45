"""Secure Vault in the answers, the catalog and the plan (wizard/planning/vault.py).

With ``product.secure_vault``: every node of every pattern gets one ``vault`` step before
its start, whose start writes ``password-tmp``; the catalog's edits put ``password`` and
``svns:secretAlias`` where Carbon 4.4 resolves those aliases, on the stock 2.6.0 files,
once; the plan writes no secret in plain text but into the files its note names. Without
it, the plan's note names the files that hold passwords in plain text. The edit engine
writes the namespaced attribute as ciphertool.sh does (``xmlns:svns`` on the root).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from lxml import etree

from wizard.answers import parse_answers, schema
from wizard.answers.example import example_yaml
from wizard.catalog import load_pattern, pattern_ids
from wizard.edits import Edit, apply_edits
from wizard.edits import model as edits_model
from wizard.plan import STEP_KINDS, Plan
from wizard.planning.build import plan as make_plan
from wizard.planning.vault import ALIAS_ATTR
from wizard.questions.advanced import advanced_page
from wizard.secretrefs import has_token, substitute
from wizard.steps import handlers

STOCK = Path(__file__).resolve().parents[2] / ".." / "shared" / "wso2-conf" / "apim-2.6.0"
FAKE = {
    "db.password": "db-pw-123",
    "admin.password": "admin-pw-123",
    "keystore.password": "ks-pw-123",
    "keystore.key_password": "ks-pw-123",
}
# what 2.6.0 resolves by alias (FORMAT.md "Secure Vault"): no secret may stay in them
VAULTED = (
    "carbon.xml",
    "user-mgt.xml",
    "catalina-server.xml",
    "axis2.xml",
    "-datasources.xml",
)


def _plan(pattern_id: str, vault: bool, keystore: bool = False) -> Plan:
    data = yaml.safe_load(example_yaml(pattern_id))
    data["product"]["home"] = "/HOME"
    data["product"]["secure_vault"] = vault
    for node in data["nodes"]:
        node.pop("home", None)
    data["keystore"] = {"replace": keystore, "password": "env:KS"}
    answers, pattern = parse_answers(yaml.safe_dump(data))
    return make_plan(answers, pattern)


def test_the_option_is_in_the_schema_the_example_and_the_advanced_page() -> None:
    product = schema()["$defs"]["Product"]["properties"]["secure_vault"]
    assert product["default"] is False and "Secure Vault" in product["title"]
    for pattern_id in pattern_ids():
        data = yaml.safe_load(example_yaml(pattern_id))
        assert data["product"]["secure_vault"] is False
        page = advanced_page(load_pattern(pattern_id), data)
        question = next(q for q in page.questions if q.key == "product.secure_vault")
        assert question.kind == "bool" and "Secure Vault" in question.label
    assert "vault" in STEP_KINDS and "vault" in handlers()


@pytest.mark.parametrize("keystore", [False, True], ids=["stock-keystore", "new-keystore"])
@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_each_node_is_vaulted_before_its_start(pattern_id: str, keystore: bool) -> None:
    plan = _plan(pattern_id, vault=True, keystore=keystore)
    order = [s.id for s in plan.steps]
    nodes = {n for n in plan.hosts() if any(s.kind == "start" and s.host == n for s in plan.steps)}
    for node in nodes:
        vault = plan.step(f"{node}:vault")
        aliases = [e["alias"] for e in vault.inputs["secrets"]]
        assert "Carbon.Security.KeyStore.Password" in aliases
        assert all(has_token(e["secret"]) for e in vault.inputs["secrets"])
        for start in (s for s in plan.steps if s.kind == "start" and s.host == node):
            assert vault.id in start.depends_on and order.index(vault.id) < order.index(start.id)
            assert start.inputs["password_file"]["path"].endswith("/password-tmp")
            assert start.inputs["password_file"]["lines"] == ["⟦secret:keystore.password⟧"]
        # every step of the home comes first (the key store, the files, the profile)
        home = ("file_edit", "driver", "truststore", "certificate", "profile", "symlink")
        mine = [s.id for s in plan.steps if s.host == node and s.kind in home]
        assert set(mine) <= set(vault.depends_on)
    assert set(_plan(pattern_id, vault=True).to_json().split()) != set(
        _plan(pattern_id, vault=False).to_json().split()
    )
    assert not [s for s in _plan(pattern_id, vault=False).steps if s.kind == "vault"]


def test_a_key_password_of_its_own_is_the_second_line_and_a_start_flag() -> None:
    data = yaml.safe_load(example_yaml("apim-all-in-one"))
    data["product"]["secure_vault"] = True
    data["keystore"] = {"password": "env:KS", "key_password": "env:KP"}
    answers, pattern = parse_answers(yaml.safe_dump(data))
    start = make_plan(answers, pattern).step("node:start")
    spec = start.inputs["password_file"]
    assert spec["lines"] == ["⟦secret:keystore.password⟧", "⟦secret:keystore.key_password⟧"]
    assert (
        "-Dkey.password=true" in start.inputs["args"] and "-Dkey.password=true" in start.description
    )


def _resolve(value: object) -> object:
    if isinstance(value, str):
        return substitute(value, FAKE.__getitem__)
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


@pytest.mark.parametrize("keystore", [False, True], ids=["stock-keystore", "new-keystore"])
@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_vault_edits_apply_to_stock_files_and_leave_no_secret(
    pattern_id: str, keystore: bool
) -> None:
    if not STOCK.is_dir():
        pytest.skip("../shared/wso2-conf is not available")
    plan = _plan(pattern_id, vault=True, keystore=keystore)
    notes = {h: " ".join(n) for h, n in plan.notes.items()}
    checked = 0
    for step in plan.steps:
        if step.kind != "file_edit" or step.inputs.get("glob"):
            continue
        source = STOCK / step.inputs.get("create_from", step.inputs["path"]).removeprefix("/HOME/")
        secret_edits = [
            e
            for e in step.inputs["edits"]
            if e.get("secret") and e["op"] not in ("expect", "verify")
        ]
        if step.inputs["file"].endswith(VAULTED):
            assert not secret_edits, f"{step.id} writes a secret in plain text"
        elif secret_edits:
            assert step.inputs["file"] in notes[step.host], f"{step.id} is not in the note"
        aliases = [e["value"] for e in step.inputs["edits"] if e.get("attr") == ALIAS_ATTR]
        if not aliases or not source.is_file():
            continue
        edits = [
            edits_model.Edit.from_mapping({**e, "value": _resolve(e.get("value"))})
            for e in step.inputs["edits"]
        ]
        result = apply_edits(step.inputs["path"], source.read_bytes(), edits, host=step.host)
        assert not apply_edits(step.inputs["path"], result.content, edits).changed
        root = etree.fromstring(result.content)
        svns = "{http://org.wso2.securevault/configuration}secretAlias"
        for alias in aliases:
            (el,) = [e for e in root.iter() if e.get(svns) == alias]
            held = el.get("keystorePass") if "keystorePass" in alias else el.text
            assert held == "password", (step.id, alias)
        assert "http://org.wso2.securevault/configuration" in root.nsmap.values()
        for value in FAKE.values():
            assert value.encode() not in result.content, (step.id, value)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_without_the_option_the_plan_names_the_files_with_plain_passwords(
    pattern_id: str,
) -> None:
    plan = _plan(pattern_id, vault=False, keystore=True)
    for host in plan.hosts():
        written = sorted(
            {
                s.inputs["file"]
                for s in plan.steps
                if s.host == host
                and s.kind == "file_edit"
                and any(e.get("secret") and e["op"] != "expect" for e in s.inputs["edits"])
            }
        )
        if not written:
            continue
        (note,) = [n for n in plan.notes[host] if "plain text" in n]
        assert all(f in note for f in written) and "product.secure_vault: true" in note


def test_the_engine_writes_an_svns_attribute_like_the_cipher_tool() -> None:
    def run(data: str, *edits: Edit) -> str:
        result = apply_edits("t.xml", data.encode(), list(edits), host="h")
        assert not apply_edits("t.xml", result.content, list(edits)).changed
        return result.content.decode()

    alias = Edit("attr", "/r/p", "A.Password", attr="svns:secretAlias")
    assert run("<r a='1'>\n  <p>x</p>\n</r>", Edit("set", "/r/p", "password"), alias) == (
        "<r a='1' xmlns:svns=\"http://org.wso2.securevault/configuration\">\n"
        '  <p svns:secretAlias="A.Password">password</p>\n</r>'
    )
    # the prefix the file already binds is kept; the alias itself is no secret to mask
    result = apply_edits(
        "t.xml",
        b'<r xmlns:sv="http://org.wso2.securevault/configuration"><p sv:secretAlias="B">x</p></r>',
        [alias],
        host="h",
    )
    assert b'<p sv:secretAlias="A.Password">' in result.content and "A.Password" in result.diff()
    assert run("<r/>", Edit("attr", "/r", "C", attr="svns:secretAlias")) == (
        '<r xmlns:svns="http://org.wso2.securevault/configuration" svns:secretAlias="C"/>'
    )
    with pytest.raises(Exception, match="namespace map"):
        apply_edits("t.xml", b"<r/>", [Edit("attr", "/r", "x", attr="zz:y")], host="h")
