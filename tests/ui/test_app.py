"""Drive the Textual wizard with Pilot at 80x24."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList, Static

from screens.app import WizardApp
from screens.patterns import PatternScreen
from screens.review import ReviewScreen
from screens.welcome import WelcomeScreen
from wizard.catalog import pattern_ids


def _text(app: WizardApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_welcome_to_pattern_to_review_without_lab(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CARBON_WIZARD_SESSION_DIR", str(tmp_path / "sessions"))
    app = WizardApp(lab_dir=tmp_path / "no-lab")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "No local lab is running" in _text(app, "#lab")

        await pilot.press("enter")  # New setup
        await pilot.pause()
        assert isinstance(app.screen, PatternScreen)
        menu = app.screen.query_one("#pattern-list", OptionList)
        assert menu.option_count == len(pattern_ids())
        detail = _text(app, "#pattern-detail")
        assert "clients" in detail and "MySQL" in detail

        await pilot.press("down")
        await pilot.pause()
        assert _text(app, "#pattern-detail") != detail  # follows the highlight

        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert "carbon-wizard lab up" in _text(app, "#plan")

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PatternScreen)


async def test_quit_from_menu(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CARBON_WIZARD_SESSION_DIR", str(tmp_path / "sessions"))
    app = WizardApp(lab_dir=tmp_path / "no-lab")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "down", "enter")
        await pilot.pause()
    assert app.return_value == 0
