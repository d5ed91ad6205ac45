"""Pilot drives the whole wizard against a real lab, for every pattern: prefilled answers,
an edit, test connection, test SSH, review with diffs, run to running nodes, done.
(How long the UI loop's steps take on these pages is measured in benchmarks/bench_ui.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Log, Static

from screens.app import WizardApp
from screens.done import DoneScreen
from screens.form import FormScreen
from screens.hostkeys import HostKeysScreen
from screens.patterns import PatternScreen
from screens.review import ReviewScreen
from screens.run import Panel, RunScreen
from wizard.catalog import pattern_ids
from wizard.lab.answers import lab_nodes
from wizard.steps.httpget import http_status

pytestmark = pytest.mark.lab


def _https_ok(address: str, port: int) -> bool:
    return http_status(f"https://{address}:{port}/carbon/admin/login.jsp") == 200


def _text(app: WizardApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def _on_page(app: WizardApp, page: str) -> bool:
    return isinstance(app.screen, FormScreen) and app.screen.page.id == page


def _log(app: WizardApp) -> str:
    return "\n".join(app.screen.query_one("#plan", Log).lines)


async def _type_into(app: WizardApp, pilot: Any, key: str, text: str) -> None:
    screen = app.screen
    assert isinstance(screen, FormScreen)
    wid = next(w for w, q in screen.keys.items() if q.key == key)
    field = screen.query_one(f"#{wid}", Input)
    field.focus()
    await pilot.press("end", *["backspace"] * len(field.value), *text)
    assert field.value == text


async def _to_pattern(app: WizardApp, pilot: Any, pattern: str, settle: Any) -> None:
    await settle(app, pilot)
    await pilot.press("enter")  # New setup
    await settle(app, pilot)
    assert isinstance(app.screen, PatternScreen)
    assert pattern in app.screen.lab_answers
    await pilot.press(*["down"] * pattern_ids().index(pattern), "enter")
    await settle(app, pilot)
    assert isinstance(app.screen, FormScreen) and app.screen.page.id == "product"


@pytest.mark.parametrize("pattern", pattern_ids())
async def test_wizard_runs_each_pattern_to_running_nodes(
    pattern: str, ui_lab, tmp_path: Path, settle, until
) -> None:
    lab = ui_lab()
    app = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_pattern(app, pilot, pattern, settle)
        home = str(lab_nodes(lab, pattern)[0]["home"])
        assert app.draft is not None and app.draft.data["product"]["home"] == home  # from the lab
        await pilot.press("ctrl+n")
        await until(pilot, lambda: _on_page(app, "database"), 30, "the database page")
        await _type_into(app, pilot, "db.user", "cwui")  # an edit that the run must honour
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        assert "privileges OK" in _text(app, "#form-status")

        await pilot.press("ctrl+n")
        await until(pilot, lambda: _on_page(app, "hosts"), 30, "the hosts page")
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        status = _text(app, "#form-status")
        assert status.count(": OK") == len(app.draft.data["nodes"]) + (
            1 if "lb" in app.draft.data else 0
        ), status

        await pilot.press("ctrl+n")
        await until(pilot, lambda: _on_page(app, "certs"), 30, "the certs page")
        await pilot.press("ctrl+n")
        await until(pilot, lambda: _on_page(app, "advanced"), 30, "the advanced page")
        await pilot.press("ctrl+n")
        await until(
            pilot,
            lambda: isinstance(app.screen, ReviewScreen) and bool(app.screen.texts["plan"]),
            120,
            "the review",
        )
        assert app.screen.ready, _text(app, "#review-status")
        assert "would change" in _text(app, "#review-status")
        assert f"Plan for pattern {pattern}" in _log(app)
        await pilot.press("d")
        await until(pilot, lambda: "+++ " in _log(app), 30, "the diffs")
        diffs = _log(app)
        assert "+++ " in diffs and "cwui" in diffs
        for name in ("db-app", "carbon-admin", "keystore"):
            secret = Path(lab["dir"], "secrets", f"{name}.password").read_text().strip()
            assert secret not in diffs

        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(app.screen, RunScreen), 30, "the run screen")
        run = app.screen
        assert isinstance(run, RunScreen)
        await until(pilot, lambda: run.finished is not None, 240, "the run to finish")
        assert run.finished, _text(app, "#run-status")
        assert set(run.model.nodes.values()) == {"running"}
        topology = run.query_one("#run-topology", Panel).text
        assert topology.count("running") == len(run.model.nodes)
        for node in lab_nodes(lab, pattern):
            assert _https_ok(node["address"], 9443 + node["offset"]), node["name"]

        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(app.screen, DoneScreen), 30, "the done screen")
        await settle(app, pilot)
        done = _text(app, "#done-text")
        assert "https://" in done and str(app.session.path) in done
        assert f"carbon-wizard resume {app.session.meta.id}" in done
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


async def test_new_host_keys_are_confirmed_in_one_batch(
    ui_lab, tmp_path: Path, settle, until
) -> None:
    lab = ui_lab()
    pattern = "apim-active-passive"
    app = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_pattern(app, pilot, pattern, settle)
        assert app.draft is not None
        for node in app.draft.data["nodes"]:  # answers without pinned keys
            node["ssh"].pop("host_key", None)
        app.draft.data["lb"]["ssh"].pop("host_key", None)
        await pilot.press("ctrl+n", "ctrl+n")
        await until(pilot, lambda: _on_page(app, "hosts"), 30, "the hosts page")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, HostKeysScreen), 30, "the dialog")
        shown = _text(app, "#keys")
        addresses = {n["address"] for n in app.draft.data["nodes"]}
        assert all(a in shown for a in addresses)  # every new key in one dialog
        assert "SHA256:" in shown
        await pilot.press("y")
        await settle(app, pilot)
        assert "Pinned" in _text(app, "#form-status")
        pinned = app.session.known_hosts.read_text()
        assert all(h["host_key"].split()[1] in pinned for h in lab["hosts"][:2])
        await pilot.press("ctrl+t")  # pinned now: no dialog the second time
        await settle(app, pilot)
        assert not isinstance(app.screen, HostKeysScreen)
        assert "OK" in _text(app, "#form-status")
        await pilot.press("ctrl+q")
