"""Ask for a secret whose answer is ``prompt``; the value stays in this process only."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class PasswordScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, field: str, label: str) -> None:
        """``label`` names the secret for people, with ``field`` (its answer path) once."""
        super().__init__()
        self.field = field
        self.label = label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"{self.label}; Enter to confirm, Esc to cancel")
            yield Input(password=True, id="secret")

    def on_mount(self) -> None:
        self.query_one("#secret", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
