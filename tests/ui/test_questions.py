"""The question definitions both front ends use (wizard/questions/draft.py): pure, fast."""

from __future__ import annotations

import pytest
import yaml

from wizard.catalog import load_pattern, pattern_ids
from wizard.errors import WizardError
from wizard.questions.draft import FORM_PAGES, draft_from_yaml, get_path, new_draft
from wizard.secrets import redact


@pytest.mark.parametrize("pattern", pattern_ids())
def test_every_pattern_asks_every_node_and_the_example_is_valid(pattern: str) -> None:
    draft = new_draft(pattern)
    assert draft.valid(), draft.all_problems()
    assert [p.id for p in draft.pages()] == list(FORM_PAGES)
    keys = {q.key for p in draft.pages() for q in p.questions}
    for i, _ in enumerate(draft.data["nodes"]):
        assert {f"nodes.{i}.address", f"nodes.{i}.ssh.user"} <= keys
    assert ("lb.address" in keys) == bool(load_pattern(pattern).lb_role)
    for key in keys:  # each question shows the answer it edits (or is optional)
        q = draft.questions()[key]
        assert q.optional or get_path(draft.data, key) is not None, key


def test_field_messages_come_from_the_answers_model() -> None:
    draft = new_draft("apim-all-in-one")
    draft.set("db.port", "33o6")
    assert "valid integer" in (draft.problem("db.port") or "")
    assert draft.page_problems(draft.page("database"))
    assert not draft.page_problems(draft.page("product"))
    draft.set("db.port", "70000")
    assert "65535" in (draft.problem("db.port") or "")
    draft.set("db.port", "3307")
    assert draft.problem("db.port") is None and draft.data["db"]["port"] == 3307
    draft.set("nodes.0.address", "no such host!")
    assert "not an IP address or host name" in (draft.problem("nodes.0.address") or "")


def test_a_typed_password_stays_in_memory_and_is_saved_as_prompt() -> None:
    draft = new_draft("apim-all-in-one")
    draft.set("db.password", "Typed-Pa55word")
    text = draft.yaml()
    assert "Typed-Pa55word" not in text
    assert yaml.safe_load(text)["db"]["password"] == "prompt"
    assert draft.valid()
    assert draft.prompter()("db.password", "label") == "Typed-Pa55word"
    assert "Typed-Pa55word" not in redact("pw=Typed-Pa55word")
    draft.set("db.password", "")  # blank keeps it
    assert draft.prompter()("db.password", "label") == "Typed-Pa55word"
    draft.set("db.password", "env:DB_PW")  # a reference replaces it
    assert "db.password" not in draft.memory and draft.data["db"]["password"] == "env:DB_PW"
    draft.set("db.password", "Typed-Again-1")
    resumed = draft_from_yaml(draft.yaml())  # another process: the password is not there
    with pytest.raises(WizardError, match="is to be asked"):
        resumed.prompter()("db.password", "label")
    assert resumed.prompter(lambda f, label: "given")("db.password", "label") == "given"


def test_optional_blank_answers_fall_back_to_the_default() -> None:
    draft = new_draft("apim-all-in-one")
    draft.set("nodes.0.home", "/opt/x")
    assert draft.data["nodes"][0]["home"] == "/opt/x"
    draft.set("nodes.0.home", "  ")
    assert "home" not in draft.data["nodes"][0]
    assert draft.valid()
