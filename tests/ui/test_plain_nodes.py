"""``carbon-wizard --plain`` through a pty (as in test_plain.py), without a lab: on the
hosts page of ob-km-ha (role apim has 1 to 8 nodes) add one apim node, answer its
questions from the shared hosts page, then stop; the saved answers have the new node."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pexpect
import yaml

from wizard.answers import parse_answers
from wizard.catalog import pattern_ids
from wizard.questions.draft import new_draft

ROOT = Path(__file__).resolve().parents[2]
PATTERN = "ob-km-ha"


def _spawn(tmp_path: Path) -> pexpect.spawn:
    env = {
        **os.environ,
        "CARBON_WIZARD_LAB_DIR": str(tmp_path / "no-lab"),
        "CARBON_WIZARD_SESSION_DIR": str(tmp_path / "s"),
        "TERM": "xterm",
        # no cursor position request: pexpect never answers one, and prompt_toolkit
        # would wait about a second for it at every question
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    return pexpect.spawn(
        sys.executable,
        ["-m", "wizard", "--plain"],
        cwd=str(ROOT),
        env=env,
        dimensions=(24, 100),
        encoding="utf-8",
        timeout=60,
    )


def test_plain_mode_adds_a_node_to_a_role_with_a_range(tmp_path: Path) -> None:
    draft = new_draft(PATTERN)
    pages = {p.id: p for p in draft.pages()}
    child = _spawn(tmp_path)
    log = io.StringIO()
    child.logfile_read = log
    try:
        child.expect("Deployment pattern")
        child.send("\x1b[B" * pattern_ids().index(PATTERN) + "\r")
        for page_id in ("product", "database", "hosts"):
            page = pages[page_id]
            child.expect(re.escape(page.title))
            for q in page.questions:
                child.expect(re.escape(q.label[:30]))  # long labels wrap
                child.send("\r")
            if page.action == "test_db":
                child.expect("Test the database connection now")
                child.send("n")
        child.expect(r"Add another apim node \(.*1 of 1-8\)")
        child.send("y")
        child.expect("Added apim-2")
        child.expect(re.escape("apim-2: address"))
        child.send("\x15192.0.2.14\r")  # ctrl+u clears the copied address
        for label in ("SSH user", "SSH port", "SSH key file", "SSH password", "product home"):
            child.expect(re.escape(f"apim-2: {label}"))
            child.send("\r")
        child.expect(r"Add another apim node \(.*2 of 1-8\)")
        child.send("n")
        child.expect(re.escape("Remove a node (apim, apim-2)?"))
        child.send("n")
        child.expect("Test SSH to every host now")
        child.send("n")
        child.expect(re.escape(pages["certs"].title))
        child.expect(re.escape(pages["certs"].questions[0].label[:30]))
        child.sendintr()  # stop here: the session keeps the answers
        child.expect("Stopped")
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close(force=True)
    out = log.getvalue()
    assert child.exitstatus == 3, out[-2000:]
    [session] = list((tmp_path / "s").iterdir())
    saved = (session / "answers.yaml").read_text()
    data = yaml.safe_load(saved)
    added = [n for n in data["nodes"] if n["name"] == "apim-2"]
    assert added and added[0]["role"] == "apim" and added[0]["address"] == "192.0.2.14"
    assert [n["name"] for n in data["nodes"]] == ["km1", "km2", "apim", "apim-2"]
    parse_answers(saved, "answers")  # the model accepts the answers with the added node
