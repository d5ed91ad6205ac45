"""Run: per-host progress, the step log, the live topology with node states, Cancel."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, RichLog, Static

from screens import heap, jobs
from screens.footer import KeyFooter
from screens.host import wizard_of
from wizard.errors import WizardError
from wizard.flow import Event, Flow
from wizard.flow.runmodel import RunModel
from wizard.plan import Plan
from wizard.questions.draft import Draft
from wizard.secrets import redact
from wizard.session import Session

SETTLE_EVERY = 20  # repaints (5 s of a busy run) between two heap.settle()


class Panel(Widget):
    """Fixed-size text that repaints without a new layout (updates arrive often).
    Lines never wrap: a long one ends in an ellipsis, the others keep their rows."""

    DEFAULT_CSS = """
    Panel {
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, text: str, id: str) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.text = text

    def render(self) -> Text:
        return Text(self.text, no_wrap=True, overflow="ellipsis")

    def show(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.refresh()


class RunScreen(Screen[str]):
    """Dismisses with ``next`` when every step succeeded, ``back`` otherwise."""

    BINDINGS = [
        Binding("c", "cancel", "Cancel"),
        Binding("ctrl+n", "next", "Done", priority=True),
        Binding("escape", "back", "Back"),
    ]

    class Stepped(Message):
        def __init__(self, event: Event) -> None:
            super().__init__()
            self.event = event

    class Finished(Message):
        def __init__(self, text: str, ok: bool) -> None:
            super().__init__()
            self.text, self.ok = text, ok

    class Declined(Message):
        """Drift on the hosts was not to be overwritten: back to the review."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, draft: Draft, session: Session, plan: Plan) -> None:
        super().__init__()
        self.draft = draft
        self.session = session
        self.model = RunModel(plan)
        self.flow: Flow | None = None
        self.finished: bool | None = None
        self.current = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Starting...", id="run-status")
        with Horizontal(id="run-top"):
            yield Panel(self.model.progress_text(), id="run-hosts")
            yield Panel(self.model.topology(self.draft.data), id="run-topology")
        yield RichLog(id="run-log", markup=False, max_lines=2000)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "Run"
        rows = max(len(self.model.total), len(self.draft.data.get("nodes") or []) + 2)
        self.query_one("#run-top").styles.height = min(rows, 10)
        # the newest line stays in view when the status line above wraps and the log
        # shrinks, until the admin scrolls up (RichLog's auto_scroll acts on writes only)
        self.query_one("#run-log", RichLog).anchor()
        self.dirty = False
        self.repaints = 0
        self.set_interval(0.25, self.repaint)  # redraw at most 4 times a second
        self.call_after_refresh(heap.settle)
        self.execute()

    @work(thread=True, exit_on_error=False, exclusive=True, group="run")
    def execute(self) -> None:
        app = wizard_of(self)

        def hook(flow: Flow) -> None:
            self.flow = flow

        try:
            summary = jobs.run(
                self.draft,
                self.session,
                app.confirm_keys,
                self._stepped,
                hook,
                app.ask_secret,
                confirm_drift=app.confirm_drift,
                keep_waiting=app.keep_waiting,
                start_timeout=app.start_timeout,
            )
        except jobs.DriftDeclined as exc:
            self.post_message(self.Declined(redact(exc.what)))
            return
        except WizardError as exc:
            self.post_message(self.Finished(redact(exc.render()), False))
            return
        except Exception as exc:  # noqa: BLE001 - a fault must end the run visibly
            text = redact(f"unexpected error: {type(exc).__name__}: {exc}")
            self.post_message(self.Finished(text, False))
            return
        err = jobs.failure(summary)
        if err is not None:
            text = f"{summary.line()}\n{redact(err.render())}\nEsc: back to review, then run again."
        elif self.session.meta.state == "interrupted":
            text = (
                f"Cancelled after {summary.line()}. Resume later from the welcome screen "
                f"or with: carbon-wizard resume {self.session.meta.id}"
            )
        else:
            text = f"Done: {summary.line()}. ctrl+n: where to go next."
        self.post_message(self.Finished(text, err is None and self.session.meta.state == "done"))

    def _stepped(self, event: Event) -> None:
        """From the run's worker thread: the event, as a message for the UI thread."""
        self.post_message(self.Stepped(event))

    def on_run_screen_stepped(self, message: Stepped) -> None:
        e = message.event
        line = self.model.update(e)
        if line is not None:
            self.query_one("#run-log", RichLog).write(line)
        if e.state == "running":
            self.current = f"{e.step.host}: {e.step.description}"
        self.dirty = True

    def repaint(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        self.repaints += 1
        if self.repaints % SETTLE_EVERY == 0:
            heap.settle()  # what the log and the panels hold now stays
        self.query_one("#run-hosts", Panel).show(self.model.progress_text())
        self.query_one("#run-topology", Panel).show(self.model.topology(self.draft.data))
        if self.finished is None and self.current:
            self.query_one("#run-status", Static).update(self.current)

    def on_run_screen_finished(self, message: Finished) -> None:
        self.repaint()
        self.finished = message.ok
        status = self.query_one("#run-status", Static)
        status.update(message.text)
        status.set_class(not message.ok, "bad")

    def on_run_screen_declined(self, message: Declined) -> None:
        self.finished = False
        self.notify(message.text, severity="warning", timeout=8)
        self.dismiss("back")

    def action_cancel(self) -> None:
        if self.flow is not None and self.finished is None:
            self.flow.cancel()
            self.query_one("#run-status", Static).update(
                "Cancelling: finishing the steps under way..."
            )

    def action_next(self) -> None:
        if self.finished:
            self.dismiss("next")

    def action_back(self) -> None:
        if self.finished is not None:
            self.dismiss("back")
