"""Resume: files the session wrote that changed on their hosts since. Lists them with
their (masked) diffs and asks before the run overwrites them."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Log, Static

from screens.footer import KeyFooter
from screens.jobs import Drift
from wizard.secrets import redact


def drift_text(drift: list[Drift]) -> str:
    """The drifted files, then each one's diff (masked again: one redaction point)."""
    lines = [f"  {d.host}: {d.path}" for d in drift]
    for d in drift:
        lines += ["", f"=== {d.host}: {d.path}", d.diff or "(no diff available)"]
    return redact("\n".join(lines))


class DriftScreen(ModalScreen[bool]):
    """Dismisses with True (overwrite the changes) or False (go back, write nothing)."""

    DEFAULT_CSS = """
    DriftScreen {
        align: center middle;
    }
    DriftScreen #drift-dialog {
        width: 90%;
        max-width: 110;
        height: 90%;
        border: thick $warning;
        background: $surface;
        padding: 0 1;
    }
    DriftScreen #drift-files {
        height: 1fr;
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Overwrite"),
        Binding("n,escape", "answer(False)", "Go back"),
    ]

    def __init__(self, drift: list[Drift]) -> None:
        super().__init__()
        self.drift = drift

    def compose(self) -> ComposeResult:
        with Vertical(id="drift-dialog"):
            yield Static(
                f"{len(self.drift)} file(s) changed on the hosts since this session wrote them:",
                id="drift-title",
                markup=False,
            )
            yield Log(id="drift-files", highlight=False)
            yield Static(
                "Overwrite these changes? y: overwrite and run, n/Esc: go back (nothing is "
                "written)",
                id="drift-question",
                markup=False,
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        log = self.query_one("#drift-files", Log)
        log.write(drift_text(self.drift))
        log.scroll_home(animate=False)
        log.focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
