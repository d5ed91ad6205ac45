"""First screen: start a new setup, resume a saved one, or quit. What it reads (the
lab's status, the saved setups) is read by a worker once the screen is painted."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from screens.footer import KeyFooter
from screens.host import wizard_of
from screens.loading import IMPORTS

if TYPE_CHECKING:
    from wizard.session import SessionMeta

RESUMABLE = ("new", "planned", "interrupted", "failed", "running")
FINISHED = ("done", "rollback-failed", "rollback-interrupted")


class WelcomeScreen(Screen[str]):
    """Dismisses with ``new``, ``resume:<session id>`` or ``quit``."""

    BINDINGS = [Binding("q", "choose('quit')", "Quit"), Binding("n", "choose('new')", "New")]
    _resumed = False

    class Painted(Message):
        """The screen is on the terminal: what the first paint did not need may load."""

    class Checked(Message):
        def __init__(
            self, lab: str, sessions: list[SessionMeta], finished: list[SessionMeta]
        ) -> None:
            super().__init__()
            self.lab = lab  # what the lab's status says
            self.sessions = sessions
            self.finished = finished

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="welcome"):
            yield Static(
                "Set up a clustered WSO2 API Manager, Key Manager or Open Banking deployment: "
                "databases, configuration files on every node, certificates, load balancer, "
                "and an ordered start. Nothing is changed until you review the plan.",
                id="intro",
            )
            yield OptionList(Option("New setup", id="new"), Option("Quit", id="quit"), id="menu")
            yield Static("Checking the local lab...", id="lab")
        yield KeyFooter()

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        """Runs before Screen's own: the first time (the first paint), the widgets were
        styled as they mounted a moment ago, no need to style them all again."""
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    def on_mount(self) -> None:
        self.query_one("#menu", OptionList).focus()
        painted = threading.Event()
        self.call_after_refresh(painted.set)
        self.call_after_refresh(self.post_message, self.Painted())
        self.check(painted)

    @work(thread=True, exit_on_error=False)
    def check(self, painted: threading.Event) -> None:
        painted.wait(5)  # the paint first: this thread's imports would hold it up
        with IMPORTS:
            from wizard.lab.info import lab_status, summary
        lab = summary(lab_status(getattr(self.app, "lab_dir", None)))
        metas = wizard_of(self).store.list()
        resumable = [m for m in metas if m.state in RESUMABLE]
        finished = [m for m in metas if m.state in FINISHED]
        self.post_message(self.Checked(lab, resumable, finished))

    def on_welcome_screen_checked(self, message: Checked) -> None:
        menu = self.query_one("#menu", OptionList)
        keep = menu.highlighted or 0
        resumes = [
            Option(
                f"Resume {m.id}: {m.pattern}, at {m.screen or 'start'} ({m.state})",
                id=f"resume:{m.id}",
            )
            for m in message.sessions[:3]
        ]
        statuses = [
            Option(f"Status of {m.id}: {m.pattern} ({m.state})", id=f"status:{m.id}")
            for m in message.finished[:1]
        ]
        menu.clear_options()
        menu.add_options(
            [Option("New setup", id="new"), *resumes, *statuses, Option("Quit", id="quit")]
        )
        menu.highlighted = 0 if keep == 0 else menu.option_count - 1
        text = message.lab + f"\nSaved setups: {len(message.sessions)}"
        self.query_one("#lab", Static).update(text)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.id))
