"""Every step the planner makes fits its kind's input model (wizard/stepinputs.py): for
every pattern's example answers, with and without Secure Vault, the lab's answers, and
the rollback plan of a session that did everything."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.catalog import pattern_ids
from wizard.changes import Change
from wizard.journal import Entry
from wizard.plan import STEP_KINDS, UNDO_KINDS, Plan, Step
from wizard.planning.build import plan
from wizard.stepinputs import MODELS, problems
from wizard.undo import undo_plan


def _variants(data: dict[str, Any], tmp: Path) -> list[dict[str, Any]]:
    """The example answers, and the same with each option that shapes step inputs."""
    vault = copy.deepcopy(data)
    vault.setdefault("product", {})["secure_vault"] = True
    keystore = copy.deepcopy(data)
    keystore["keystore"] = {"replace": True, "password": "env:KS_PW", "key_password": "prompt"}
    keystore.setdefault("sync", {})["key"] = str(tmp / "sync_key")
    out = [data, vault, keystore]
    if data.get("lb"):
        (tmp / "lb.crt").write_text("x")
        (tmp / "lb.key").write_text("x")
        ca = copy.deepcopy(keystore)
        ca["lb"]["issuer"] = "ca"
        own = copy.deepcopy(data)
        own["lb"].update(
            cert_file=str(tmp / "lb.crt"), key_file=str(tmp / "lb.key"), listen_address="192.0.2.1"
        )
        out += [ca, own]
    return out


def _plans(pattern_id: str, tmp: Path) -> list[Plan]:
    out = []
    for data in _variants(yaml.safe_load(example_yaml(pattern_id)), tmp):
        answers, pattern = parse_answers(yaml.safe_dump(data))
        out.append(plan(answers, pattern))
    return out


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_planned_steps_fit_their_input_models(pattern_id: str, tmp_path: Path) -> None:
    plans = _plans(pattern_id, tmp_path)
    kinds = {s.kind for p in plans for s in p.steps}
    assert {"start", "wait", "file_edit", "vault", "database"} <= kinds
    for p in plans:
        found = [msg for s in p.steps for msg in problems(s)]
        assert not found, "\n".join(found)


def test_every_kind_has_a_model() -> None:
    assert set(MODELS) == set(STEP_KINDS) | set(UNDO_KINDS)


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_rollback_steps_fit_their_input_models(pattern_id: str, tmp_path: Path) -> None:
    p = _plans(pattern_id, tmp_path)[0]
    entries = []
    for s in p.steps:
        wrote = []
        if s.kind in ("file_edit", "hosts_entry"):
            wrote = [Change(s.host, s.inputs["path"], True, s.inputs["path"] + ".bak",
                            "0" * 64).to_dict()]  # fmt: skip
        entries.append(Entry("done", s.id, s.host, s.kind, s.fingerprint, outcome="changed",
                             extra={"wrote": wrote} if wrote else {}))  # fmt: skip
    undo = undo_plan(p, entries, drop_databases=True, session_id="s1").plan
    kinds = {s.kind for s in undo.steps}
    assert {"stop_node", "restore_file", "drop_database"} <= kinds
    found = [msg for s in undo.steps for msg in problems(s)]
    assert not found, "\n".join(found)


def test_problems_name_the_step_and_the_key() -> None:
    s = Step("n1:start", "start", "n1", "", {"home": 3, "bogus": 1})
    found = problems(s)
    assert "n1:start: missing input 'command'" in found
    assert "n1:start: unknown input 'bogus'" in found
    assert any("input 'home' is int" in m for m in found)
