"""Roll back a saved setup from its status screen (``carbon-wizard rollback``): a dialog
that asks first (and whether to drop the databases the wizard created), then the
rollback in a worker with a log of its steps and the CLI's result line."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Checkbox, Header, RichLog, Static

from screens import jobs
from screens.footer import KeyFooter
from screens.host import wizard_of
from wizard.errors import WizardError
from wizard.flow import Event, Flow
from wizard.flow.runmodel import RunModel
from wizard.plan import Plan
from wizard.secrets import redact
from wizard.session import Session


class ConfirmRollbackScreen(ModalScreen[bool | None]):
    """Dismisses with None (do nothing) or whether to drop the databases too."""

    DEFAULT_CSS = """
    ConfirmRollbackScreen {
        align: center middle;
    }
    ConfirmRollbackScreen #rollback-dialog {
        width: 76;
        max-width: 100%;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1;
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Roll back"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id

    def compose(self) -> ComposeResult:
        with Vertical(id="rollback-dialog"):
            yield Static(
                f"Roll back setup {self.session_id}? Every file it changed is put back "
                "from its backups and the nodes it started are stopped.",
                id="rollback-question",
                markup=False,
            )
            yield Checkbox("Also drop the databases the wizard created", False, id="rollback-drop")
            yield Static("y: roll back   n/Esc: cancel   space: tick the box", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#rollback-drop", Checkbox).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(self.query_one("#rollback-drop", Checkbox).value if yes else None)


class RollbackScreen(Screen[str]):
    """The rollback's steps as they end, then its result line; Esc when it is over."""

    BINDINGS = [Binding("c", "cancel", "Cancel"), Binding("escape", "back", "Back")]

    class Stepped(Message):
        def __init__(self, event: Event) -> None:
            super().__init__()
            self.event = event

    class Noted(Message):
        def __init__(self, note: str) -> None:
            super().__init__()
            self.note = note

    class Finished(Message):
        def __init__(self, text: str, ok: bool) -> None:
            super().__init__()
            self.text, self.ok = text, ok

    def __init__(self, session: Session, drop_databases: bool) -> None:
        super().__init__()
        self.session = session
        self.drop_databases = drop_databases
        self.model = RunModel(Plan(session.meta.pattern, []))
        self.flow: Flow | None = None
        self.finished: bool | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Rolling back...", id="rollback-status", markup=False)
        yield RichLog(id="rollback-log", markup=False, max_lines=2000)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"Roll back {self.session.meta.id} ({self.session.meta.pattern})"
        self.query_one("#rollback-log", RichLog).anchor()  # the newest line stays in view
        self.execute()

    @work(thread=True, exit_on_error=False, exclusive=True, group="rollback")
    def execute(self) -> None:
        app = wizard_of(self)
        sid = self.session.meta.id

        def hook(flow: Flow) -> None:
            self.flow = flow

        def note(text: str) -> None:
            self.post_message(self.Noted(text))

        try:
            result = jobs.rollback(
                self.session,
                app.confirm_keys,
                self._stepped,
                hook,
                app.ask_secret,
                confirm_drift=app.confirm_drift,
                on_note=note,
                drop_databases=self.drop_databases,
            )
        except WizardError as exc:  # DriftDeclined too: nothing was rolled back
            self.post_message(self.Finished(redact(exc.render()), False))
            return
        except Exception as exc:  # noqa: BLE001 - a fault must end the rollback visibly
            text = redact(f"unexpected error: {type(exc).__name__}: {exc}")
            self.post_message(self.Finished(text, False))
            return
        text = jobs.rollback_line(result, sid)
        err = result.failure()
        if err is not None:
            text += f"\n{redact(err.render())}"
            text += f"\nresume the rollback with: carbon-wizard rollback {sid}"
        self.post_message(self.Finished(text, result.state == "done"))

    def _stepped(self, event: Event) -> None:
        """From the rollback's threads: the event, as a message for the UI thread."""
        self.post_message(self.Stepped(event))

    def on_rollback_screen_stepped(self, message: Stepped) -> None:
        line = self.model.update(message.event)  # the run screen's log line
        if line is not None:
            self.query_one("#rollback-log", RichLog).write(redact(line))

    def on_rollback_screen_noted(self, message: Noted) -> None:
        self.query_one("#rollback-log", RichLog).write(redact(message.note))

    def on_rollback_screen_finished(self, message: Finished) -> None:
        self.finished = message.ok
        status = self.query_one("#rollback-status", Static)
        status.update(message.text + "\nEsc: back to the status")
        status.set_class(not message.ok, "bad")

    def action_cancel(self) -> None:
        if self.flow is not None and self.finished is None:
            self.flow.cancel()
            self.query_one("#rollback-status", Static).update(
                "Cancelling: finishing the steps under way..."
            )

    def action_back(self) -> None:
        if self.finished is not None:
            self.dismiss("back")
