"""Confirm every new SSH host key in one batch (a changed key never gets here)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from screens.footer import KeyFooter
from wizard.flow import HostKeyStatus, unknown_keys_text


class HostKeysScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Trust and pin"),
        Binding("n,escape", "answer(False)", "Do not trust"),
    ]

    def __init__(self, statuses: list[HostKeyStatus]) -> None:
        super().__init__()
        self.statuses = statuses

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(unknown_keys_text(self.statuses), id="keys", markup=False)
            yield Static(
                "Compare the fingerprints with the hosts' own (ssh-keygen -lf on each host). "
                "Trust these keys and pin them in this session? (y/n)",
                id="keys-question",
            )
        yield KeyFooter()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
