"""The status screen from the welcome page: a finished setup is offered, its checks run
in a worker and show what is down (here: a home on this machine whose node is not
running and no database server), without the lab."""

from __future__ import annotations

from pathlib import Path

import yaml
from textual.widgets import OptionList, Static

from screens.app import WizardApp
from screens.status import StatusScreen
from screens.welcome import WelcomeScreen
from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.planning.build import plan
from wizard.session import SessionStore


def _finished_session(root: Path, home: Path) -> str:
    data = yaml.safe_load(example_yaml("apim-all-in-one"))
    data["product"]["home"] = str(home)
    data["db"].update(host="127.0.0.1", port=9, admin_password="env:NOPE_ADMIN")
    for node in data["nodes"]:
        node.update(home=str(home), address="127.0.0.1", ssh={"transport": "local"})
    text = yaml.safe_dump(data, sort_keys=False)
    answers, pattern = parse_answers(text)
    session = SessionStore(root).create(pattern.id)
    session.save_answers(text)
    session.save_plan(plan(answers, pattern).to_json())
    session.save_meta(state="done")
    return session.meta.id


async def test_status_of_a_finished_setup_from_the_welcome_page(
    tmp_path: Path, settle, until
) -> None:
    sid = _finished_session(tmp_path / "s", tmp_path / "home")
    app = WizardApp(lab_dir=tmp_path / "no-lab", session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, WelcomeScreen)
        menu = app.screen.query_one("#menu", OptionList)
        ids = [str(menu.get_option_at_index(i).id) for i in range(menu.option_count)]
        assert f"status:{sid}" in ids
        menu.highlighted = ids.index(f"status:{sid}")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, StatusScreen), 30, "the status screen")

        def shown() -> str:
            return str(app.screen.query_one("#status-text", Static).render())

        await until(pilot, lambda: "healthy" in shown(), 60, "the checks")
        text = shown()
        assert "NOT healthy" in text and "process not running" in text
        assert "databases:" in text and "BAD" in text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen), 30, "the welcome page")
