"""A node is still starting when its start deadline passes: keep waiting, or stop."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from screens.footer import KeyFooter
from wizard.secrets import redact


class KeepWaitingScreen(ModalScreen[bool]):
    """Dismisses with True (wait another ``seconds``) or False (stop: the step fails)."""

    DEFAULT_CSS = """
    KeepWaitingScreen {
        align: center middle;
    }
    KeepWaitingScreen #wait-dialog {
        width: 76;
        max-width: 100%;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1;
    }
    """

    BINDINGS = [
        Binding("w,enter", "answer(True)", "Keep waiting"),
        Binding("s,escape", "answer(False)", "Stop"),
    ]

    def __init__(self, host: str, seconds: float, why: str) -> None:
        super().__init__()
        self.host = host
        self.seconds = seconds
        self.why = why

    def choices(self) -> str:
        return f"w: Keep waiting (another {self.seconds:g} s)   s: Stop"

    def compose(self) -> ComposeResult:
        with Vertical(id="wait-dialog"):
            yield Static(
                redact(
                    f"{self.host} is not ready after {self.seconds:g} s: {self.why}.\n"
                    "It is still running; a slow host may only need more time."
                ),
                id="wait-text",
                markup=False,
            )
            yield Static(self.choices(), id="wait-question", markup=False)
        yield KeyFooter()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
