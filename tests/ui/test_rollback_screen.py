"""Roll back from the status screen against the shared lab: a setup applied headless
(apim-all-in-one, the shortest plan) is offered on the welcome page, its status screen's
``b`` asks in a dialog (databases too, ticked here), the rollback runs in a worker, asks
about a file edited by hand since (no: nothing changed; yes: rolled back), logs its steps
and ends with the CLI's result line; the files are back byte for byte, the node is
stopped and the wizard's databases are gone."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from textual.widgets import Checkbox, Log, OptionList, RichLog, Static

from screens.app import WizardApp
from screens.drift import DriftScreen
from screens.rollback import ConfirmRollbackScreen, RollbackScreen
from screens.status import StatusScreen
from screens.welcome import WelcomeScreen
from wizard.connectors.mysql import MySQL
from wizard.lab.answers import lab_nodes
from wizard.secrets import Secret

PATTERN = "apim-all-in-one"
RUNTIME = ("repository/logs/", "repository/database/", "tmp/", "wso2carbon.pid")


def _files(home: Path, hosts_file: Path) -> dict[str, str]:
    """path -> sha256 of every file of the home (runtime files aside) and the hosts file."""
    out = {}
    for p in [*home.rglob("*"), hosts_file]:
        rel = str(p.relative_to(home)) if p != hosts_file else str(p)
        runtime = rel.startswith(RUNTIME) or "__pycache__" in rel
        if p.is_file() and not p.is_symlink() and not runtime:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _databases(lab: dict[str, Any], names: set[str]) -> set[str]:
    db = lab["db"]
    password = Path(db["password_file"]).read_text().strip()
    with MySQL(db["host"], db["port"], db["admin_user"], Secret(password), tls="off") as conn:
        return {str(r[0]) for r in conn.query("SHOW DATABASES")} & names


def _running(home: Path) -> bool:
    pid = home / "wso2carbon.pid"
    try:
        os.kill(int(pid.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def _rolling(app: WizardApp) -> RollbackScreen | None:
    return next((s for s in app.screen_stack if isinstance(s, RollbackScreen)), None)


async def _roll_back(app: WizardApp, pilot: Any, until: Any, drift: str) -> RollbackScreen:
    """``b`` on the status screen, databases ticked, ``y``; ``drift`` answers the question
    about the edited file. The rollback screen once the rollback ended."""
    await pilot.press("b")
    await until(pilot, lambda: isinstance(app.screen, ConfirmRollbackScreen), 30, "the dialog")
    box = app.screen.query_one("#rollback-drop", Checkbox)
    assert box.value is False  # the databases stay unless asked
    await pilot.press("space")
    assert box.value is True
    await pilot.press("y")
    # the drift question may be over the rollback screen already
    await until(pilot, lambda: _rolling(app) is not None, 30, "the rollback")
    screen = _rolling(app)
    assert screen is not None
    await until(pilot, lambda: isinstance(app.screen, DriftScreen), 240, "the drift question")
    # the dialog lists the files on mount, after it became the current screen
    await until(pilot, lambda: app.screen.query_one("#drift-files", Log).lines, 30, "the files")
    shown = "\n".join(app.screen.query_one("#drift-files", Log).lines)
    assert "user-mgt.xml" in shown, shown
    await pilot.press(drift)
    await until(pilot, lambda: screen.finished is not None, 240, "the rollback to end")
    return screen


@pytest.mark.lab
async def test_roll_back_from_the_status_screen(ui_lab, tmp_path: Path, settle, until) -> None:
    lab = ui_lab()
    node = lab_nodes(lab, PATTERN)[0]
    home, hosts_file = Path(node["home"]), Path(node["hosts_file"])
    answers = lab["answers"][PATTERN]
    names = {
        d["name"] for d in yaml.safe_load(Path(answers).read_text())["db"]["databases"].values()
    }
    before = _files(home, hosts_file)
    sessions = tmp_path / "s"
    applied = subprocess.run(
        [sys.executable, "-m", "wizard", "--session-dir", str(sessions),
         "apply", "--answers", answers, "--yes"],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert _files(home, hosts_file) != before and _running(home)
    assert _databases(lab, names) == names
    edited = home / "repository/conf/user-mgt.xml"  # an admin edits a file the setup wrote
    drifted = edited.read_bytes() + b"<!-- edited by hand -->\n"
    edited.write_bytes(drifted)

    app = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(sessions))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, WelcomeScreen)
        menu = app.screen.query_one("#menu", OptionList)
        ids = [str(menu.get_option_at_index(i).id) for i in range(menu.option_count)]
        status = next(i for i in ids if i.startswith("status:"))
        sid = status.removeprefix("status:")
        menu.highlighted = ids.index(status)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, StatusScreen), 30, "the status screen")
        await settle(app, pilot)

        screen = await _roll_back(app, pilot, until, drift="n")  # go back: nothing changed
        shown = str(screen.query_one("#rollback-status", Static).render())
        assert screen.finished is False and "nothing was rolled back" in shown, shown
        assert edited.read_bytes() == drifted and _running(home)
        assert _databases(lab, names) == names
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, StatusScreen), 30, "the status screen")

        screen = await _roll_back(app, pilot, until, drift="y")  # overwrite the admin's edit
        shown = str(screen.query_one("#rollback-status", Static).render())
        assert screen.finished, shown
        assert "rollback done: " in shown and f"(session {sid})" in shown, shown
        assert "0 failed" in shown, shown
        log = screen.query_one("#rollback-log", RichLog)
        assert any("undo:" in line.text for line in log.lines), [s.text for s in log.lines]
        assert _files(home, hosts_file) == before
        assert not _running(home)
        assert _databases(lab, names) == set()
        assert app.store.open(sid).meta.state == "rolled-back"

        await pilot.press("escape")  # back to the status, checked again
        await until(pilot, lambda: isinstance(app.screen, StatusScreen), 30, "the status screen")
        await pilot.press("ctrl+q")


def test_confirm_dialog_snapshot(tmp_path: Path, snap_compare) -> None:
    """The question over the welcome page, at 80x24 (no lab). Update with
    ``pytest tests/ui/test_rollback_screen.py --snapshot-update``."""

    async def go(pilot: Any) -> None:
        await pilot.pause()
        busy = [w for w in pilot.app.workers if w.group != "flow"]
        if busy:  # the welcome page's lab check, under the dialog
            await pilot.app.workers.wait_for_complete(busy)
        pilot.app.push_screen(ConfirmRollbackScreen("20260101-120000-abcdef"))
        await pilot.pause()

    app = WizardApp(lab_dir=tmp_path / "no-lab", session_dir=str(tmp_path / "sessions"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=go)
