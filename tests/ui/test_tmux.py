"""End to end in a real terminal: the wizard runs in tmux (80x24), keys are typed with
send-keys and the screen is read with capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

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
        for key in keys:
            self.tmux("send-keys", "-t", "w", key)
            time.sleep(0.15)

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen()}")

    def wait_gone(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "w" not in self.tmux("list-sessions", "-F", "#{session_name}").split():
                return
            time.sleep(0.2)
        raise AssertionError(f"the wizard did not exit; the screen:\n{self.screen()}")


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
    term.wait_for("API Manager all-in-one")
    term.keys("Down", "Enter")
    term.wait_for("Product and paths")
    term.keys("C-n")
    term.wait_for("MySQL port")
    time.sleep(0.5)  # let the page finish mounting before typing
    term.keys("Tab", "End", "x")
    shown = term.wait_for("valid integer")  # the model's message, under the field
    assert "3306x" in shown
    term.keys("C-n")
    term.wait_for("Fix 1 problem")  # Next refuses
    term.keys("BSpace")
    deadline = time.monotonic() + 10
    while "valid integer" in term.screen() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "valid integer" not in term.screen()
    assert "^n Next" in term.screen() and "esc Back" in term.screen()  # the help footer
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
