"""What the lab-flow UI tests share: Pilot helpers and the whole wizard run of a pattern
against the lab, from the welcome screen to running nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input, Log, Static

from screens.app import WizardApp
from screens.done import DoneScreen
from screens.form import FormScreen
from screens.patterns import PatternScreen
from screens.review import ReviewScreen
from screens.run import Panel, RunScreen
from wizard.catalog import pattern_ids
from wizard.lab.answers import lab_nodes
from wizard.steps.httpget import http_status


def _https_ok(address: str, port: int) -> bool:
    return http_status(f"https://{address}:{port}/carbon/admin/login.jsp") == 200


def text_of(app: WizardApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def on_page(app: WizardApp, page: str) -> bool:
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


async def to_pattern(app: WizardApp, pilot: Any, pattern: str, settle: Any) -> None:
    await settle(app, pilot)
    await pilot.press("enter")  # New setup
    await settle(app, pilot)
    assert isinstance(app.screen, PatternScreen)
    assert pattern in app.screen.lab_answers
    await pilot.press(*["down"] * pattern_ids().index(pattern), "enter")
    await settle(app, pilot)
    assert isinstance(app.screen, FormScreen) and app.screen.page.id == "product"


async def runs_to_running_nodes(
    pattern: str, lab: dict[str, Any], tmp_path: Path, settle: Any, until: Any
) -> None:
    """Prefilled answers, an edit, test connection, test SSH, review with diffs, run to
    running nodes, done."""
    app = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await to_pattern(app, pilot, pattern, settle)
        home = str(lab_nodes(lab, pattern)[0]["home"])
        assert app.draft is not None and app.draft.data["product"]["home"] == home  # from the lab
        await pilot.press("ctrl+n")
        await until(pilot, lambda: on_page(app, "database"), 30, "the database page")
        await _type_into(app, pilot, "db.user", "cwui")  # an edit that the run must honour
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        assert "privileges OK" in text_of(app, "#form-status")

        await pilot.press("ctrl+n")
        await until(pilot, lambda: on_page(app, "hosts"), 30, "the hosts page")
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        status = text_of(app, "#form-status")
        assert status.count(": OK") == len(app.draft.data["nodes"]) + (
            1 if "lb" in app.draft.data else 0
        ), status

        await pilot.press("ctrl+n")
        await until(pilot, lambda: on_page(app, "certs"), 30, "the certs page")
        await pilot.press("ctrl+n")
        await until(pilot, lambda: on_page(app, "advanced"), 30, "the advanced page")
        await pilot.press("ctrl+n")
        await until(
            pilot,
            lambda: isinstance(app.screen, ReviewScreen) and bool(app.screen.texts["plan"]),
            120,
            "the review",
        )
        assert app.screen.ready, text_of(app, "#review-status")
        assert "would change" in text_of(app, "#review-status")
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
        assert run.finished, text_of(app, "#run-status")
        assert set(run.model.nodes.values()) == {"running"}
        topology = run.query_one("#run-topology", Panel).text
        assert topology.count("running") == len(run.model.nodes)
        for node in lab_nodes(lab, pattern):
            assert _https_ok(node["address"], 9443 + node["offset"]), node["name"]

        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(app.screen, DoneScreen), 30, "the done screen")
        await settle(app, pilot)
        done = text_of(app, "#done-text")
        assert "https://" in done and str(app.session.path) in done
        assert f"carbon-wizard resume {app.session.meta.id}" in done
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0
