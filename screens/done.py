"""Done: the URLs to open, where the session is saved, how to replay it headless."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from screens.footer import KeyFooter
from wizard.flow.runmodel import replay_lines, urls
from wizard.questions.draft import Draft
from wizard.session import Session


class DoneScreen(Screen[str]):
    BINDINGS = [Binding("q,enter", "finish", "Quit")]

    def __init__(self, draft: Draft, session: Session) -> None:
        super().__init__()
        self.draft = draft
        self.session = session

    def compose(self) -> ComposeResult:
        yield Header()
        lines = ["The deployment is running. Open:", *(f"  {u}" for u in urls(self.draft.data))]
        lines += ["", *replay_lines(str(self.session.path), self.session.meta.id)]
        if "prompt" in self.draft.yaml():
            lines.append("(answers with 'prompt' need env:NAME or file:PATH for a headless replay)")
        with VerticalScroll(id="done"):
            yield Static("\n".join(lines), id="done-text", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "Done"
        self.query_one("#done").focus()

    def action_finish(self) -> None:
        self.dismiss("exit")
