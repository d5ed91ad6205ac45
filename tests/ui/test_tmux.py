"""End to end in a real terminal: the wizard runs in tmux (80x24), keys are typed with
send-keys and the screen is read with capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wizard.wait import Timeout, poll

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Term:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        res = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return res.stdout

    def start(self, command: str) -> None:
        self.tmux("new-session", "-d", "-s", "w", "-x", "80", "-y", "24", command)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "w")

    def keys(self, *keys: str) -> None:
        """Type ``keys`` in order (one write: the terminal delivers them in order)."""
        self.tmux("send-keys", "-t", "w", *keys)

    def until(self, probe: Callable[[], Any], what: str, timeout: float = 30) -> Any:
        """Poll the terminal until ``probe`` returns something true; that value."""
        try:
            return poll(probe, deadline=timeout, what=what)
        except Timeout:
            where = self.tmux("display-message", "-p", "-t", "w", "#{cursor_x},#{cursor_y}")
            raise AssertionError(
                f"{what}: not seen; the cursor at {where.strip()}, the screen:\n{self.screen()}"
            ) from None

    def wait_for(self, text: str, timeout: float = 30) -> str:
        def shown() -> str:
            screen = self.screen()
            return screen if text in screen else ""

        return str(self.until(shown, f"{text!r} on screen", timeout))

    def wait_without(self, text: str, timeout: float = 30) -> str:
        def shown() -> str:
            screen = self.screen()
            return screen if screen.strip() and text not in screen else ""

        return str(self.until(shown, f"{text!r} gone from the screen", timeout))

    def wait_gone(self, timeout: float = 30) -> None:
        def gone() -> bool:
            return "w" not in self.tmux("list-sessions", "-F", "#{session_name}").split()

        self.until(gone, "the wizard's exit", timeout)

    def cursor(self) -> tuple[int, int]:
        """The terminal's cursor (column, row): the wizard keeps it, hidden, in the focused
        field and moves it when that field's cursor moves."""
        x, y = self.tmux("display-message", "-p", "-t", "w", "#{cursor_x} #{cursor_y}").split()
        return int(x), int(y)

    def at_field_start(self, label: str) -> tuple[int, int] | None:
        """The cursor, when it is at the start of the field labelled ``label``."""
        x, y = self.cursor()
        lines = self.screen().splitlines()
        line = lines[y] if y < len(lines) else ""
        if label not in line:
            return None
        after = line.index(label) + len(label)
        start = after + len(line[after:]) - len(line[after:].lstrip())
        return (x, y) if x == start else None

    def nudge(self, keys: tuple[str, ...], probe: Callable[[], Any], what: str) -> Any:
        """Press ``keys`` (harmless when pressed again) until ``probe`` is true. A field
        focused before its page was laid out moves the cursor there once its own cursor
        moves: the keys move it both ways, so every press moves it."""

        def pressed() -> Any:
            self.keys(*keys)
            return probe()

        return self.until(pressed, what)


@pytest.fixture
def term() -> Iterator[Term]:
    t = Term(f"cw-ui-{os.getpid()}")
    yield t
    t.tmux("kill-server")


def _command(tmp_path: Path) -> str:
    env = f"CARBON_WIZARD_LAB_DIR={shlex.quote(str(tmp_path / 'no-lab'))}"
    wizard = f"{shlex.quote(sys.executable)} -m wizard --session-dir {tmp_path / 's'}"
    return f"cd {shlex.quote(str(ROOT))} && {env} {wizard}"


def test_wizard_in_a_real_terminal_validates_saves_and_resumes(term: Term, tmp_path: Path) -> None:
    term.start(_command(tmp_path))
    term.wait_for("No local lab is running")
    term.keys("Enter")
    term.wait_for("No local lab answers for this pattern")  # the pattern list is mounted
    term.keys("Down")
    term.wait_for("apim-all-in-one: ")  # its description: the second pattern is chosen
    term.keys("Enter")
    term.wait_for("— Product and paths")  # the header shows a form's title once mounted
    term.keys("C-n")
    term.wait_for("— Database")  # the database page (its fields may still be laid out)
    home, end = ("End", "Home"), ("Home", "End")
    term.nudge(home, lambda: term.at_field_start("MySQL server address"), "the first field")
    term.keys("Tab")
    start = term.nudge(home, lambda: term.at_field_start("MySQL port"), "the port field")
    term.nudge(end, lambda: term.cursor()[0] > start[0], "the end of the port")
    term.keys("x")
    shown = term.wait_for("valid integer")  # the model's message, under the field
    assert "3306x" in shown
    term.keys("C-n")
    term.wait_for("Fix 1 problem")  # Next refuses
    term.keys("BSpace")
    shown = term.wait_without("valid integer")
    assert "^n Next" in shown and "esc Back" in shown  # the help footer
    term.keys("C-q")
    term.wait_gone()

    [session] = list((tmp_path / "s").iterdir())
    term.start(_command(tmp_path))
    shown = term.wait_for(f"Resume {session.name}")
    assert "at database" in shown
    term.keys("Down", "Enter")
    term.wait_for("MySQL port")
    term.keys("C-q")
    term.wait_gone()
