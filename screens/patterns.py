"""Pattern choice, with the topology picture and roles of the highlighted pattern.

When the local lab is up and has answers for a pattern, they prefill the wizard (toggle
with ``l``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from screens import heap
from screens.footer import KeyFooter
from wizard.catalog import load_pattern, pattern_ids
from wizard.lab.info import lab_status
from wizard.topology import describe_roles, picture


class PatternScreen(Screen[tuple[str, str | None] | None]):
    """Dismisses with (pattern id, lab answers YAML or None), or None for Back."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("l", "toggle_lab", "Lab answers on/off"),
    ]

    class LabAnswers(Message):
        def __init__(self, answers: dict[str, str]) -> None:
            super().__init__()
            self.answers = answers

    def __init__(self) -> None:
        super().__init__()
        self.patterns = {pid: load_pattern(pid) for pid in pattern_ids()}
        self.lab_answers: dict[str, str] = {}
        self.use_lab = True

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="patterns"):
            yield OptionList(
                *[Option(p.title, id=pid) for pid, p in self.patterns.items()], id="pattern-list"
            )
            with Vertical(id="pattern-side"):
                yield Static(id="pattern-detail", markup=False)
                yield Static("Looking for the local lab...", id="pattern-lab", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        menu = self.query_one("#pattern-list", OptionList)
        menu.focus()
        menu.highlighted = 0
        self.read_lab()
        self.call_after_refresh(heap.settle)

    @work(thread=True, exit_on_error=False)
    def read_lab(self) -> None:
        status: dict[str, Any] = lab_status(getattr(self.app, "lab_dir", None)) or {}
        found: dict[str, str] = {}
        if status.get("healthy"):
            for pid, path in (status.get("answers") or {}).items():
                try:
                    found[pid] = Path(path).read_text(encoding="utf-8")
                except OSError:
                    continue
        self.post_message(self.LabAnswers(found))

    def on_pattern_screen_lab_answers(self, message: LabAnswers) -> None:
        self.lab_answers = message.answers
        self._show_lab()

    def _current(self) -> str:
        menu = self.query_one("#pattern-list", OptionList)
        return str(menu.get_option_at_index(menu.highlighted or 0).id)

    def _show_lab(self) -> None:
        pid = self._current()
        if pid not in self.lab_answers:
            text = "No local lab answers for this pattern: you will fill in every answer."
        elif self.use_lab:
            text = "Answers will be prefilled from the local lab (l: start from an example)."
        else:
            text = "Starting from an example (l: prefill from the local lab)."
        self.query_one("#pattern-lab", Static).update(text)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        pattern = self.patterns[str(event.option.id)]
        text = "\n".join(
            [
                f"{pattern.id}: {pattern.description}",
                "",
                picture(pattern),
                "",
                *describe_roles(pattern),
                f"Versions: {', '.join(pattern.versions)}",
            ]
        )
        self.query_one("#pattern-detail", Static).update(text)
        self._show_lab()

    def action_toggle_lab(self) -> None:
        self.use_lab = not self.use_lab
        self._show_lab()

    def action_back(self) -> None:
        self.dismiss(None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        pid = str(event.option.id)
        self.dismiss((pid, self.lab_answers.get(pid) if self.use_lab else None))
