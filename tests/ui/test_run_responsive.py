"""The run screen under a storm of progress events: every event lands, and the panels show
the end state. The events are the real plan's steps, posted from a worker thread the way
the executor reports them (no hosts needed). How long the UI loop's steps take under such
a storm is measured in benchmarks/bench_ui.py, not here."""

from __future__ import annotations

import threading
from pathlib import Path

from screens.app import WizardApp
from screens.jobs import validated
from screens.run import Panel, RunScreen
from wizard.executor import Event
from wizard.planning.build import plan as make_plan
from wizard.questions.draft import new_draft
from wizard.session import SessionStore


async def test_run_screen_shows_every_event_of_a_storm(tmp_path: Path, until) -> None:
    draft = new_draft("apim-distributed")
    plan = make_plan(*validated(draft))
    session = SessionStore(tmp_path / "s").create(draft.pattern_id)
    screen = RunScreen(draft, session, plan)
    screen.execute = lambda: None  # type: ignore[method-assign]
    app = WizardApp(lab_dir=tmp_path / "no-lab", session_dir=str(tmp_path / "s"))

    def report() -> None:
        for step in plan.steps:
            screen.post_message(RunScreen.Stepped(Event(step, "running")))
            state = "changed" if step.kind != "wait" else "unchanged"
            screen.post_message(RunScreen.Stepped(Event(step, state, "ok", seconds=0.1)))
        screen.post_message(RunScreen.Finished("Done.", True))

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(screen)
        await until(pilot, lambda: screen.is_mounted, 30, "the run screen")
        worker = threading.Thread(target=report)
        worker.start()
        await until(pilot, lambda: screen.finished is not None, 60, "the events")
        worker.join()
        # Finished comes after every Stepped and repaints the panels at once
        assert set(screen.model.nodes.values()) == {"running"}
        assert screen.query_one("#run-topology", Panel).text.count("running") == 5
        db_steps = screen.model.total["db"]
        assert f"{db_steps:>3}/{db_steps:<3}" in screen.query_one("#run-hosts", Panel).text
        await pilot.press("ctrl+q")
