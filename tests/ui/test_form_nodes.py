"""Pilot at 80x24, no lab: on the hosts page of ob-km-ha (role apim has 1 to 8 nodes) add
a node with ctrl+o and remove it with ctrl+r; then fill the new "Cluster, start and
advanced" page and resume a session saved there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from textual.widgets import Button, Input, OptionList, Select, Static

from screens.app import WizardApp
from screens.form import FormScreen
from wizard.catalog import pattern_ids
from wizard.session import SessionStore

PATTERN = "ob-km-ha"


def _form(app: WizardApp) -> FormScreen:
    screen = app.screen
    assert isinstance(screen, FormScreen)
    return screen


def _wid(app: WizardApp, key: str) -> str:
    return next(w for w, q in _form(app).keys.items() if q.key == key)


def _status(app: WizardApp) -> str:
    return str(app.screen.query_one("#form-status", Static).render())


def _names(app: WizardApp) -> list[str]:
    assert app.draft is not None
    return [n["name"] for n in app.draft.data["nodes"]]


def _saved(app: WizardApp) -> dict[str, Any]:
    assert app.session is not None
    return yaml.safe_load(app.session.answers_path.read_text())


async def _to_page(app: WizardApp, pilot: Any, page: str, settle: Any, until: Any) -> None:
    await settle(app, pilot)
    await pilot.press("enter")  # New setup
    await settle(app, pilot)
    await pilot.press(*["down"] * pattern_ids().index(PATTERN), "enter")
    await settle(app, pilot)
    for step in ("database", "hosts", "certs", "advanced"):
        await pilot.press("ctrl+n")
        await until(pilot, lambda s=step: _form(app).page.id == s, 30, f"the {step} page")
        await settle(app, pilot)
        if step == page:
            return


async def test_add_and_remove_a_node_on_the_hosts_page(tmp_path: Path, settle, until) -> None:
    app = WizardApp(lab_dir=tmp_path / "no-lab", session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_page(app, pilot, "hosts", settle, until)
        assert _names(app) == ["km1", "km2", "apim"]
        counts = str(app.screen.query_one("#node-counts", Static).render())
        assert "apim: 1 of 1-8" in counts
        assert app.screen.query_one("#remove-node", Button).disabled  # apim is at its minimum

        await pilot.press("ctrl+o")  # add a node to the only role that can grow
        await until(pilot, lambda: "apim-2" in _names(app), 30, "the new node")
        await until(pilot, lambda: "Added apim-2" in _status(app), 30, "the status")
        await settle(app, pilot)
        address = app.screen.query_one(f"#{_wid(app, 'nodes.3.address')}", Input)
        # the new node's first field has the focus, ready to type
        await until(pilot, lambda: app.focused is address, 30, "the new address focused")
        assert "apim: 2 of 1-8" in str(app.screen.query_one("#node-counts", Static).render())
        assert not app.screen.query_one("#remove-node", Button).disabled
        await pilot.press("ctrl+u", *"192.0.2.14")
        await until(
            pilot,
            lambda: [n.get("address") for n in _saved(app)["nodes"]][-1] == "192.0.2.14",
            30,
            "the saved address",
        )
        assert app.draft is not None and app.draft.valid(), app.draft.all_problems()

        # km1 is alone in its role: removing it is refused and says why
        app.screen.query_one(f"#{_wid(app, 'nodes.0.ssh.user')}", Input).focus()
        await until(pilot, lambda: _form(app).node_index == 0, 30, "km1's field focused")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "needs at least 1" in _status(app), 30, "the refusal")
        assert _names(app) == ["km1", "km2", "apim", "apim-2"]

        # the focused node's block goes, with its fields
        app.screen.query_one(f"#{_wid(app, 'nodes.3.ssh.port')}", Input).focus()
        await until(pilot, lambda: _form(app).node_index == 3, 30, "apim-2's field focused")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "Removed apim-2" in _status(app), 30, "the removal")
        await settle(app, pilot)
        assert _names(app) == ["km1", "km2", "apim"]
        labels = [str(q.label) for q in _form(app).keys.values()]
        assert not any(label.startswith("apim-2") for label in labels)
        after = app.screen.query_one(f"#{_wid(app, 'nodes.2.address')}", Input)
        await until(pilot, lambda: app.focused is after, 30, "the next node focused")
        await until(pilot, lambda: len(_saved(app)["nodes"]) == 3, 30, "the saved removal")

        # the add button does the same as ctrl+o
        button = app.screen.query_one("#add-node-0", Button)
        button.focus()
        await until(pilot, lambda: app.focused is button, 30, "the add button focused")
        await pilot.press("enter")
        await until(pilot, lambda: "apim-2" in _names(app), 30, "the node from the button")
        await settle(app, pilot)
        await pilot.press("ctrl+n")  # the copy is valid: Next goes on
        await until(pilot, lambda: _form(app).page.id == "certs", 30, "the certs page")
        await pilot.press("ctrl+q")


async def test_advanced_page_edits_and_resumes_there(tmp_path: Path, settle, until) -> None:
    app = WizardApp(lab_dir=tmp_path / "no-lab", session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_page(app, pilot, "advanced", settle, until)
        form = _form(app)
        assert form.page.title == "Cluster, start and advanced"
        timeout = form.query_one(f"#{_wid(app, 'start.timeout')}", Input)
        assert timeout.value == "600"  # the model's default, shown
        timeout.focus()
        await until(pilot, lambda: app.focused is timeout, 30, "the timeout field focused")
        await pilot.press("ctrl+u", "5")
        error = form.query_one(f"#{_wid(app, 'start.timeout')}-error", Static)
        await until(
            pilot, lambda: "greater than or equal to 10" in str(error.render()), 30, "the error"
        )
        await pilot.press("ctrl+n")
        await until(pilot, lambda: "Fix 1 problem" in _status(app), 30, "the refusal")
        assert _form(app).page.id == "advanced"  # Next refused
        await pilot.press("ctrl+u", *"900")
        opts = form.query_one(f"#{_wid(app, 'start.jvm_opts')}", Input)
        opts.value = "-Xms1g -Xmx2g"
        form.query_one(f"#{_wid(app, 'db.tls.mode')}", Select).value = "required"
        form.query_one(f"#{_wid(app, 'cluster.domain')}", Input).value = "my.km.domain"
        want = {
            ("start", "timeout"): 900,
            ("start", "jvm_opts"): ["-Xms1g", "-Xmx2g"],
            ("db", "tls", "mode"): "required",
            ("cluster", "domain"): "my.km.domain",
        }

        def saved_all() -> bool:
            data = _saved(app)
            for path, value in want.items():
                cur: Any = data
                for part in path:
                    cur = cur.get(part) if isinstance(cur, dict) else None
                if cur != value:
                    return False
            return True

        await until(pilot, saved_all, 30, f"the saved answers: {want}")
        await settle(app, pilot)
        session_id = app.session.meta.id if app.session else ""
        await pilot.press("ctrl+q")
    meta = SessionStore(tmp_path / "s").open(session_id).meta
    assert meta.screen == "advanced"

    again = WizardApp(lab_dir=tmp_path / "no-lab", session_dir=str(tmp_path / "s"))
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(again, pilot)
        menu = again.screen.query_one("#menu", OptionList)
        assert "at advanced" in str(menu.get_option_at_index(1).prompt)
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(again.screen, FormScreen), 30, "the form")
        await settle(again, pilot)
        assert _form(again).page.id == "advanced"
        opts = again.screen.query_one(f"#{_wid(again, 'start.jvm_opts')}", Input)
        assert opts.value == "-Xms1g -Xmx2g"
        await pilot.press("escape")  # Back goes to the certs page
        await until(pilot, lambda: _form(again).page.id == "certs", 30, "the certs page")
        await pilot.press("ctrl+q")
