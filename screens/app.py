"""The Textual front end. It collects answers and shows the engine's progress; all
blocking work runs in thread workers."""

from __future__ import annotations

import argparse
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from screens.welcome import WelcomeScreen


class WizardApp(App[int]):
    CSS_PATH = "wizard.tcss"
    TITLE = "carbon-wizard"
    SUB_TITLE = "WSO2 Carbon deployments without hand-editing"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, lab_dir: Path | None = None) -> None:
        super().__init__()
        self.lab_dir = lab_dir

    def on_mount(self) -> None:
        self.push_screen(WelcomeScreen())


def run(args: argparse.Namespace) -> int:
    lab_dir = getattr(args, "lab_dir", None)
    return WizardApp(Path(lab_dir) if lab_dir else None).run() or 0
