"""Review: the plan grouped by host, and the file diffs of a check run (nothing changes).
Secrets are masked (one redaction point); ``d`` switches between plan and diffs."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Log, Static

from screens import heap, jobs
from screens.footer import KeyFooter
from screens.host import wizard_of
from wizard.errors import WizardError
from wizard.plan import Plan
from wizard.questions.draft import Draft
from wizard.secrets import redact
from wizard.session import Session


class ReviewScreen(Screen[str]):
    """Dismisses with ``next`` (run it) or ``back``."""

    BINDINGS = [
        Binding("ctrl+n", "next", "Run", priority=True),
        Binding("escape", "back", "Back"),
        Binding("d", "toggle_view", "Plan/diffs"),
    ]

    class Reviewed(Message):
        def __init__(
            self, plan: str, diffs: str, summary: str, ok: bool, steps: Plan | None = None
        ) -> None:
            super().__init__()
            self.plan, self.diffs, self.summary, self.ok = plan, diffs, summary, ok
            self.steps = steps

    def __init__(self, draft: Draft, session: Session) -> None:
        super().__init__()
        self.draft = draft
        self.session = session
        self.ready = False
        self.texts = {"plan": "", "diffs": ""}
        self.showing = "plan"
        self.plan: Plan | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Planning and checking the hosts (changes nothing)...", id="review-status")
        yield Log(id="plan", highlight=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "Review"
        self.query_one("#plan").focus()
        self.build()

    @work(thread=True, exit_on_error=False, exclusive=True, group="review")
    def build(self) -> None:
        problems = self.draft.all_problems()
        if problems:
            text = "The answers do not validate yet:\n" + "\n".join(f"- {p}" for p in problems)
            self.post_message(self.Reviewed(text, "", "Go back and fix the answers.", False))
            return
        app = wizard_of(self)
        try:
            r = jobs.review(self.draft, self.session, app.confirm_keys, app.ask_secret)
        except WizardError as exc:
            self.post_message(self.Reviewed(redact(exc.render()), "", "The check failed.", False))
            return
        except Exception as exc:  # noqa: BLE001 - a fault must show, not leave a spinner
            text = redact(f"unexpected error: {type(exc).__name__}: {exc}")
            self.post_message(self.Reviewed(text, "", "The check failed.", False))
            return
        diffs = "\n".join(f"=== {host}: {sid}\n{diff}" for host, sid, diff in r.diffs)
        s = r.summary
        line = (
            f"{len(r.plan.steps)} steps on {len(r.plan.hosts())} hosts; file check: "
            f"{s.line() if s else '-'}. d: plan/diffs, ctrl+n: run, Esc: back."
        )
        ok = s is not None and not s.failed
        self.post_message(
            self.Reviewed(redact(r.text), redact(diffs or "No file changes."), line, ok, r.plan)
        )

    def on_review_screen_reviewed(self, message: Reviewed) -> None:
        self.texts = {"plan": message.plan, "diffs": message.diffs}
        self.ready = message.ok
        self.plan = message.steps  # the run screen reuses it: no planning on the UI thread
        status = self.query_one("#review-status", Static)
        status.update(message.summary)
        status.set_class(not message.ok, "bad")
        self._show()
        self.call_after_refresh(heap.settle)

    def _show(self) -> None:
        log = self.query_one("#plan", Log)
        log.clear()
        log.write(self.texts[self.showing])
        log.scroll_home(animate=False)

    def action_toggle_view(self) -> None:
        """Switch between the plan and the diffs."""
        self.showing = "diffs" if self.showing == "plan" else "plan"
        self._show()

    def action_next(self) -> None:
        if self.ready:
            self.dismiss("next")
        else:
            self.notify("The review has not passed yet.", severity="warning")

    def action_back(self) -> None:
        self.dismiss("back")
