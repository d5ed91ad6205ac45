"""Status of a saved setup: its nodes, cluster, load balancer and databases now
(read-only; the checks run in a worker, ``r`` checks again). ``b`` rolls the setup back
(screens/rollback.py), then checks again."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static

from screens import jobs
from screens.footer import KeyFooter
from screens.host import wizard_of
from screens.rollback import ConfirmRollbackScreen, RollbackScreen
from wizard.errors import WizardError
from wizard.secrets import redact
from wizard.session import Session


class StatusScreen(Screen[str]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "refresh", "Check again"),
        Binding("b", "rollback", "Roll back"),
    ]

    class Checked(Message):
        def __init__(self, text: str, healthy: bool) -> None:
            super().__init__()
            self.text = text
            self.healthy = healthy

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="status"):
            yield Static(f"Checking session {self.session.meta.id}...", id="status-text",
                         markup=False)  # fmt: skip
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"Status of {self.session.meta.id} ({self.session.meta.pattern})"
        self.check()

    @work(thread=True, exit_on_error=False, exclusive=True, group="status")
    def check(self) -> None:
        app = wizard_of(self)
        try:
            health = jobs.status(self.session, app.confirm_keys, app.ask_secret)
            self.post_message(self.Checked(health.table(), health.healthy))
        except WizardError as exc:
            self.post_message(self.Checked(redact(exc.render()), False))

    def on_status_screen_checked(self, message: Checked) -> None:
        self.query_one("#status-text", Static).update(message.text)

    def action_refresh(self) -> None:
        self.query_one("#status-text", Static).update("Checking again...")
        self.check()

    def action_rollback(self) -> None:
        """Ask first (and whether to drop the databases), then roll back on a screen of
        its own; back here, the checks run again."""

        def confirmed(drop: bool | None) -> None:
            if drop is not None:
                self.app.push_screen(RollbackScreen(self.session, drop), rolled_back)

        def rolled_back(_: str | None) -> None:
            self.action_refresh()

        self.app.push_screen(ConfirmRollbackScreen(self.session.meta.id), confirmed)

    def action_back(self) -> None:
        self.dismiss("back")
