"""Review: the plan for the chosen pattern against the local lab's answers."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from screens.labinfo import lab_status
from wizard.answers import load_answers
from wizard.errors import WizardError
from wizard.planner import plan as make_plan
from wizard.secrets import redact


class ReviewScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    class Planned(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, pattern_id: str) -> None:
        super().__init__()
        self.pattern_id = pattern_id

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="review"):
            yield Static(f"Planning {self.pattern_id}...", id="plan", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#review").focus()
        self.build_plan()

    @work(thread=True, exit_on_error=False)
    def build_plan(self) -> None:
        status = lab_status(getattr(self.app, "lab_dir", None))
        answers_file = (status or {}).get("answers", {}).get(self.pattern_id)
        if not answers_file:
            self.post_message(
                self.Planned(
                    "No answers for this pattern yet.\n\n"
                    "Start the local lab (carbon-wizard lab up) to get ready-made answers,\n"
                    f"or write your own: carbon-wizard answers example {self.pattern_id}"
                )
            )
            return
        try:
            answers, pattern = load_answers(Path(answers_file))
            text = make_plan(answers, pattern).render_text()
            text = f"Answers: {answers_file}\n\n{text}"
        except WizardError as exc:
            text = f"The answers do not validate:\n\n{exc.render()}"
        self.post_message(self.Planned(redact(text)))

    def on_review_screen_planned(self, message: Planned) -> None:
        self.query_one("#plan", Static).update(message.text)
