"""First screen: start a new setup, resume a saved one, or quit."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from screens.labinfo import lab_status, summary
from wizard.session import SessionStore, sessions_root


class WelcomeScreen(Screen[None]):
    BINDINGS = [Binding("q", "app.quit", "Quit")]

    class LabChecked(Message):
        def __init__(self, status: dict[str, Any] | None, sessions: int) -> None:
            super().__init__()
            self.status = status
            self.sessions = sessions

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="welcome"):
            yield Static(
                "Set up a clustered WSO2 API Manager, Key Manager or Open Banking deployment: "
                "databases, configuration files on every node, certificates, load balancer, "
                "and an ordered start. Nothing is changed until you review the plan.",
                id="intro",
            )
            yield OptionList(
                Option("New setup", id="new"),
                Option("Resume a saved setup", id="resume"),
                Option("Quit", id="quit"),
                id="menu",
            )
            yield Static("Checking the local lab...", id="lab")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#menu", OptionList).focus()
        self.check_lab()

    @work(thread=True, exit_on_error=False)
    def check_lab(self) -> None:
        status = lab_status(getattr(self.app, "lab_dir", None))
        sessions = len(SessionStore(sessions_root()).list())
        self.post_message(self.LabChecked(status, sessions))

    def on_welcome_screen_lab_checked(self, message: LabChecked) -> None:
        text = summary(message.status)
        text += f"\nSaved setups: {message.sessions}"
        self.query_one("#lab", Static).update(text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        choice = event.option.id
        if choice == "quit":
            self.app.exit(0)
        elif choice == "new":
            from screens.patterns import PatternScreen

            self.app.push_screen(PatternScreen())
        elif choice == "resume":
            self.notify(
                "Resuming saved setups is not available in this version yet.",
                severity="warning",
            )
