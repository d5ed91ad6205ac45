"""The UI tests' shared setup: a text cursor that does not blink.

An Input's cursor blinks on a 0.5 s timer; on a loaded machine a snapshot lands on either
phase (seen: the database and certificates pages at 120x40). With the toggle a no-op the
cursor stays as focus left it, shown, and every snapshot is one picture."""

from __future__ import annotations

import pytest
from textual.widgets import Input


@pytest.fixture(autouse=True)
def _steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
