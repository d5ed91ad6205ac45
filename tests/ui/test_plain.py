"""``carbon-wizard --plain`` driven through a pty against a real lab: the questions come
from the same definitions as the Textual wizard; the run ends with running nodes."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

from wizard.catalog import pattern_ids
from wizard.questions.draft import new_draft

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


def _spawn(lab_dir: str, sessions: Path) -> pexpect.spawn:
    env = {
        **os.environ,
        "CARBON_WIZARD_LAB_DIR": lab_dir,
        "CARBON_WIZARD_SESSION_DIR": str(sessions),
        "TERM": "xterm",
        # prompt_toolkit asks the terminal for the cursor position and waits about a
        # second per question for a reply pexpect never sends
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "wizard", "--plain"],
        cwd=str(ROOT),
        env=env,
        dimensions=(24, 100),
        encoding="utf-8",
        timeout=60,
    )
    return child


def test_plain_mode_asks_the_shared_questions_and_runs(ui_lab, tmp_path: Path) -> None:
    lab = ui_lab()
    pattern = "apim-all-in-one"
    sessions = tmp_path / "s"
    lab_answers = Path(lab["answers"][pattern]).read_text()
    draft = new_draft(pattern, lab_answers)
    child = _spawn(lab["dir"], sessions)
    log = io.StringIO()
    child.logfile_read = log
    try:
        child.expect("Deployment pattern")
        child.send("\x1b[B" * pattern_ids().index(pattern) + "\r")
        child.expect("Prefill the answers from the local lab")
        child.send("\r")
        for page in draft.pages():  # every question, in the order of the shared definitions
            child.expect(re.escape(page.title))
            for q in page.questions:
                child.expect(re.escape(q.label))
                child.send("\r")
            if page.action == "test_db":
                child.expect("Test the database connection now")
                child.send("y")
                child.expect("privileges OK")
            if page.action == "test_ssh":
                child.expect("Test SSH to every host now")
                child.send("y")
                child.expect(r": OK")
        child.expect(f"Plan for pattern {pattern}")
        child.expect(r"Show the (\d+) file diffs")
        child.send("y")
        child.expect(r"\+\+\+ ")
        child.expect(r"Apply (\d+) steps on (\d+) hosts")
        child.send("y")
        child.expect("The deployment is running", timeout=240)
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close(force=True)
    out = log.getvalue()
    assert child.exitstatus == 0, out[-2000:]
    assert re.search(r"node\s.*(?<!\d)(\d+)/\1(?!\d)", out)  # the node's progress bar, all done
    assert "[  running  ] node" in out  # the topology with the node's state
    [session] = list(sessions.iterdir())
    saved = (session / "answers.yaml").read_text()
    assert "pattern: apim-all-in-one" in saved
    for name in ("db-app", "carbon-admin"):
        secret = Path(lab["dir"], "secrets", f"{name}.password").read_text().strip()
        assert secret not in saved and secret not in out
