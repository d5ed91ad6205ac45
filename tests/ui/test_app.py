"""Drive the Textual wizard with Pilot at 80x24, without the lab: new setup, pattern,
answers pages validated as you type, Back/Next keep answers, quit and resume."""

from __future__ import annotations

from pathlib import Path

import yaml
from textual.widgets import Input, OptionList, Static

from screens.app import WizardApp
from screens.form import FormScreen
from screens.patterns import PatternScreen
from screens.welcome import WelcomeScreen
from wizard.catalog import pattern_ids
from wizard.session import SessionStore


def _text(app: WizardApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def _field(app: WizardApp, key: str) -> tuple[Input, Static]:
    screen = app.screen
    assert isinstance(screen, FormScreen)
    wid = next(w for w, q in screen.keys.items() if q.key == key)
    return screen.query_one(f"#{wid}", Input), screen.query_one(f"#{wid}-error", Static)


async def test_new_setup_pages_validate_and_keep_answers(tmp_path: Path, settle) -> None:
    app = WizardApp(lab_dir=tmp_path / "no-lab", session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert "No local lab is running" in _text(app, "#lab")

        await pilot.press("enter")  # New setup
        await settle(app, pilot)
        assert isinstance(app.screen, PatternScreen)
        menu = app.screen.query_one("#pattern-list", OptionList)
        assert menu.option_count == len(pattern_ids())
        detail = _text(app, "#pattern-detail")
        assert "clients" in detail and "MySQL" in detail
        await pilot.press("down")
        await pilot.pause()
        assert _text(app, "#pattern-detail") != detail  # follows the highlight
        await pilot.press("up", "enter")  # the first pattern
        await settle(app, pilot)
        assert isinstance(app.screen, FormScreen) and app.screen.page.id == "product"

        await pilot.press("ctrl+n")  # example answers are valid: on to the database
        await settle(app, pilot)
        assert app.screen.page.id == "database"
        port, error = _field(app, "db.port")
        port.focus()
        await pilot.press("end", "x")
        await pilot.pause()
        assert "valid integer" in str(error.render())  # the model's own message
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.page.id == "database"  # Next refuses while a field is wrong
        assert "Fix 1 problem" in _text(app, "#form-status")
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace")
        await pilot.press(*"3307")
        await pilot.pause()
        assert str(error.render()) == ""

        pw, _ = _field(app, "db.password")
        pw.value = "typed-secret-1"  # a password typed in: memory only
        await pilot.pause()
        await pilot.press("escape")  # Back...
        await settle(app, pilot)
        assert app.screen.page.id == "product"
        await pilot.press("ctrl+n")  # ...and Next again: the answers are kept
        await settle(app, pilot)
        port, _ = _field(app, "db.port")
        assert port.value == "3307"
        session = app.session
        assert session is not None
        saved = session.answers_path.read_text()
        assert "typed-secret-1" not in saved
        data = yaml.safe_load(saved)
        assert data["db"]["port"] == 3307 and data["db"]["password"] == "prompt"
        await pilot.press("ctrl+q")
    meta = SessionStore(tmp_path / "s").open(session.meta.id).meta
    assert meta.screen == "database"

    # a new wizard offers to resume at the same screen
    again = WizardApp(lab_dir=tmp_path / "no-lab", session_dir=str(tmp_path / "s"))
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(again, pilot)
        menu = again.screen.query_one("#menu", OptionList)
        label = str(menu.get_option_at_index(1).prompt)
        assert meta.id in label and "at database" in label
        await pilot.press("down", "enter")
        await settle(again, pilot)
        assert isinstance(again.screen, FormScreen) and again.screen.page.id == "database"
        port, _ = _field(again, "db.port")
        assert port.value == "3307"
        await pilot.press("ctrl+q")


async def test_quit_from_menu(tmp_path: Path, settle) -> None:
    app = WizardApp(lab_dir=tmp_path / "no-lab", session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0
