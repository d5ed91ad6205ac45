"""Questions come from the answers model: a label, help, kind, choice list and default
live once, on the model's Field; pages only order them (and add what the pattern knows)."""

from __future__ import annotations

import pytest
from pydantic_core import PydanticUndefined

from wizard.catalog import pattern_ids
from wizard.questions.draft import display, new_draft
from wizard.questions.model import model_field, secret_label

# defaults the pattern gives, not the model (a role's offset, the pattern's cluster domain)
PATTERN_DEFAULTS = (".offset", "cluster.domain")


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_every_question_is_a_model_field_with_the_model_s_default(pattern_id: str) -> None:
    draft = new_draft(pattern_id)
    for page in draft.pages():
        for q in page.questions:
            if q.key.startswith("options."):
                continue  # the pattern's own options (catalog OptionSpec)
            info = model_field(q.key)
            assert info.title and q.label.endswith(info.title) or "Database for" in q.label, q
            if not q.key.endswith(PATTERN_DEFAULTS):
                default = None if info.default is PydanticUndefined else info.default
                assert q.default == display(default if info.default_factory is None else None), q
            assert q.optional == (not info.is_required()), q


def test_kinds_and_choices_follow_the_annotations() -> None:
    qs = new_draft("apim-active-passive").questions()
    assert qs["db.tls.mode"].choices == ("disabled", "preferred", "required", "verify")
    assert qs["db.tls.mode"].default == "disabled"
    assert qs["db.port"].kind == "int" and qs["db.port"].default == "3306"
    assert qs["keystore.replace"].kind == "bool"
    assert {qs[k].kind for k in ("db.password", "admin.password", "nodes.0.ssh.password")} == {
        "secret"
    }
    assert qs["start.jvm_opts"].kind == "list"
    assert qs["product.version"].kind == "choice"


def test_a_secret_is_named_once_for_people() -> None:
    assert secret_label("admin.password") == "Carbon admin password (admin.password)"
    assert secret_label("nodes.1.ssh.sudo_password") == "sudo password (nodes.1.ssh.sudo_password)"
    assert secret_label("nope.x") == "nope.x"
