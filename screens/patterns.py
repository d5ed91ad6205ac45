"""Pattern choice, with the topology picture and roles of the highlighted pattern."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from wizard.catalog import load_pattern, pattern_ids
from wizard.topology import describe_roles, picture


class PatternScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield Header()
        self.patterns = {pid: load_pattern(pid) for pid in pattern_ids()}
        with Horizontal(id="patterns"):
            yield OptionList(
                *[Option(p.title, id=pid) for pid, p in self.patterns.items()], id="pattern-list"
            )
            yield Static(id="pattern-detail")
        yield Footer()

    def on_mount(self) -> None:
        menu = self.query_one("#pattern-list", OptionList)
        menu.focus()
        menu.highlighted = 0

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

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        from screens.review import ReviewScreen

        self.app.push_screen(ReviewScreen(str(event.option.id)))
