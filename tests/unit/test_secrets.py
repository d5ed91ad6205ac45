from __future__ import annotations

import os

import pytest

from wizard.errors import WizardError
from wizard.secrets import MASK, Secret, check_reference, redact, resolve


def test_secret_is_masked_everywhere() -> None:
    s = Secret("hunter2-very-secret", "env:X")
    assert "hunter2" not in str(s)
    assert "hunter2" not in repr(s)
    assert "hunter2" not in f"{s}"
    assert s.reveal() == "hunter2-very-secret"
    assert redact("password=hunter2-very-secret;") == f"password={MASK};"


@pytest.mark.parametrize("literal", ["s3cret", "", 42, "env:", "file:", "prompt:now"])
def test_literal_secrets_are_refused_with_reference_syntax(literal: object) -> None:
    with pytest.raises(WizardError) as err:
        check_reference(literal, "db.admin_password")
    text = err.value.render()
    assert "db.admin_password" in text
    assert "env:NAME" in text and "file:" in text and "prompt" in text


def test_resolve_env_and_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CW_TEST_PW", "from-env-pw")
    assert resolve("env:CW_TEST_PW", "f").reveal() == "from-env-pw"
    p = tmp_path / "pw"
    p.write_text("from-file-pw\n")
    os.chmod(p, 0o600)
    assert resolve(f"file:{p}", "f").reveal() == "from-file-pw"


def test_missing_env_names_the_variable(monkeypatch) -> None:
    monkeypatch.delenv("CW_NOPE", raising=False)
    with pytest.raises(WizardError) as err:
        resolve("env:CW_NOPE", "db.password")
    assert "CW_NOPE" in err.value.render()
    assert "db.password" in err.value.render()


def test_prompt_without_terminal_is_clear() -> None:
    with pytest.raises(WizardError) as err:
        resolve("prompt", "admin.password")
    assert "env:NAME" in err.value.render()
