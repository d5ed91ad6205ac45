"""Secure Vault end to end on this machine (no lab): the catalog's vault edits and the
``vault`` step on a fake pack home, then the start step with its ``password-tmp``: the
fake node decrypts its key store passwords and gets ready, and deletes the file; a
second run changes nothing; a start without the file fails at the key store's line, as a
2.6.0 node does with no password for its secret manager.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard import securevault as sv
from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.errors import WizardError
from wizard.executor import RunContext
from wizard.lab import pack
from wizard.lab.localnode import LocalNodes, free_offset, java_home, set_text
from wizard.plan import Plan, Step
from wizard.planning.build import plan as make_plan
from wizard.planning.vault import ALIAS_ATTR
from wizard.steps.files import FileEditHandler
from wizard.steps.nodes import StartHandler
from wizard.steps.vault import VaultHandler

SECRETS = {
    "keystore.password": pack.STOCK_PASSWORD,  # the lab's stock key stores
    "admin.password": "adm-Secret-4711",
    "db.password": "db-Secret-0815",
}


def vault_plan(home: Path) -> Plan:
    data = yaml.safe_load(example_yaml("apim-all-in-one"))
    data["product"]["home"] = str(home)
    data["product"]["secure_vault"] = True
    data["keystore"] = {"password": "env:KS"}
    answers, pattern = parse_answers(yaml.safe_dump(data))
    return make_plan(answers, pattern)


def vault_edits_only(step: Step) -> Step | None:
    """The step's Secure Vault edits (placeholders and aliases), without the others
    (the datasources would point the fake at a MySQL server this test has not)."""
    if "datasources" in step.inputs["file"]:
        return None
    edits = [
        e
        for e in step.inputs["edits"]
        if e.get("attr") == ALIAS_ATTR or e.get("value") == "password"
    ]
    if not edits:
        return None
    out = copy.deepcopy(step)
    out.inputs["edits"] = edits
    return out


@pytest.fixture(scope="module")
def keystores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if java_home() is None:
        pytest.skip("keytool (a JDK) is not installed")
    folder = tmp_path_factory.mktemp("keystores")
    pack.make_stock_keystores(folder, java_home())
    return folder


@pytest.fixture()
def nodes(tmp_path: Path, keystores: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalNodes]:
    monkeypatch.delenv("CARBON_NODE_NAME", raising=False)
    monkeypatch.setenv("CARBON_BIND_ADDRESS", "127.0.0.1")
    monkeypatch.setenv("CARBON_HOSTS_FILE", str(tmp_path / "etc-hosts"))
    monkeypatch.setenv("JAVA_HOME", str(java_home()))
    (tmp_path / "etc-hosts").write_text("127.0.0.1 localhost\n")
    made = LocalNodes(tmp_path, keystores)
    try:
        yield made
    finally:
        made.stop_all()


def _ctx(nodes: LocalNodes) -> RunContext:
    return RunContext(
        transport=lambda _host: nodes.transport,
        secret=SECRETS.__getitem__,
        state=nodes.ctx.state,
        session_id="vaulttest",
    )


def _configure(nodes: LocalNodes, plan: Plan, ctx: RunContext) -> list[str]:
    """Run the vault edits and the vault step; the states they ended in."""
    states = []
    for step in plan.steps:
        if step.kind == "file_edit" and (only := vault_edits_only(step)) is not None:
            handler: Any = FileEditHandler()
            ran = only
        elif step.kind == "vault":
            handler, ran = VaultHandler(), step
        else:
            continue
        if handler.check(ran, ctx).satisfied:
            states.append("unchanged")
            continue
        handler.apply(ran, ctx)
        assert handler.check(ran, ctx).satisfied, ran.id
        states.append("changed")
    return states


def _files(home: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(home)): p.read_bytes()
        for p in home.rglob("*")
        if p.is_file() and "logs" not in p.parts and "__pycache__" not in p.parts
    }


def test_a_vaulted_node_reads_password_tmp_decrypts_and_gets_ready(nodes: LocalNodes) -> None:
    home = nodes.add("sv")
    plan = vault_plan(home)
    ctx = _ctx(nodes)
    assert "changed" in _configure(nodes, plan, ctx)
    conf = home / "repository/conf"
    carbon = (conf / "carbon.xml").read_text(encoding="iso-8859-1")
    assert 'svns:secretAlias="Carbon.Security.KeyStore.Password">password<' in carbon
    assert 'keystorePass="password"' in (conf / "tomcat/catalina-server.xml").read_text()
    text = sv.read_properties((home / sv.CIPHER_TEXT).read_text())
    assert text and not [k for k, v in text.items() if sv.plain_text(v) is not None]
    assert 'svns:secretAlias="Carbon.Security.KeyStore.KeyPassword">password<' in carbon
    axis2 = (conf / "axis2/axis2.xml").read_text(encoding="iso-8859-1")
    assert axis2.count('<Password svns:secretAlias="Axis2.Https.') == 2
    # the admin password is nowhere in plain text (the stock key store's is public)
    assert "adm-Secret-4711" not in "".join(
        p.read_text(encoding="iso-8859-1") for p in home.rglob("*") if p.is_file()
    )

    # the start writes password-tmp (0600), the node reads and deletes it, and is ready
    offset = free_offset()
    nodes.offsets["sv"] = offset
    set_text(conf / "carbon.xml", "<Offset>0</Offset>", f"<Offset>{offset}</Offset>",
             encoding="iso-8859-1")  # fmt: skip
    start = next(s for s in plan.steps if s.kind == "start")
    step = nodes.start_step("sv")
    step.inputs["password_file"] = start.inputs["password_file"]
    assert step.inputs["password_file"]["path"] == f"{home}/password-tmp"
    StartHandler().apply(step, ctx)
    assert not (home / "password-tmp").exists()
    nodes.wait("sv", timeout=120)
    assert "WSO2 Carbon started in" in nodes.log("sv")

    # a second run changes nothing
    before = _files(home)
    assert set(_configure(nodes, plan, ctx)) == {"unchanged"}
    assert _files(home) == before


def test_without_its_password_a_vaulted_node_cannot_open_its_key_store(
    nodes: LocalNodes,
) -> None:
    home = nodes.add("nopw")
    plan = vault_plan(home)
    _configure(nodes, plan, _ctx(nodes))
    nodes.start("nopw")  # no password_file: its secret manager stays uninitialised
    with pytest.raises(WizardError) as err:
        nodes.wait("nopw", timeout=120)
    assert "Keystore was tampered with, or password was incorrect" in err.value.render()


def test_a_wrong_key_store_password_fails_the_vault_step_without_showing_it(
    nodes: LocalNodes,
) -> None:
    home = nodes.add("wrong")
    plan = vault_plan(home)
    vault = next(s for s in plan.steps if s.kind == "vault")
    ctx = _ctx(nodes)
    ctx.secret = {**SECRETS, "keystore.password": "not-the-one"}.__getitem__
    with pytest.raises(WizardError) as err:
        VaultHandler().check(vault, ctx)
    text = err.value.render()
    assert "cannot open the primary key store" in text and "keystore.password" in text
    assert "not-the-one" not in text
    assert not (home / sv.SECRET_CONF).exists()
    # --check: the key store may be what an earlier step would replace: would change
    ctx.check_mode = True
    outcome = VaultHandler().check(vault, ctx)
    assert not outcome.satisfied and "cannot open the primary key store" in outcome.message
    assert "not-the-one" not in outcome.message + outcome.diff


def test_a_backup_with_a_plain_password_is_named_in_a_note(nodes: LocalNodes) -> None:
    """A home set up before without Secure Vault keeps the old files as rollback backups."""
    home = nodes.add("bak")
    plan = vault_plan(home)
    ctx = _ctx(nodes)
    _configure(nodes, plan, ctx)
    old = home / "repository/conf/user-mgt.xml.carbon-wizard-20260101-000000-abcdef.bak"
    old.write_text(f"<Password>{SECRETS['admin.password']}</Password>")
    vault = next(s for s in plan.steps if s.kind == "vault")
    outcome = VaultHandler().check(vault, ctx)
    assert outcome.satisfied
    (note,) = [n for n in outcome.notes if str(old) in n]  # (the stock key store's
    assert "plain text" in note  # public password is in this session's backups too)
    assert SECRETS["admin.password"] not in note
