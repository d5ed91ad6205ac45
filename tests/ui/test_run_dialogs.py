"""The run screen's dialogs against a real lab (apim-all-in-one, the shortest plan):
Cancel during a run, a ``prompt`` secret asked in the password dialog, the drift question
on a TUI resume, and "keep waiting" when a node's start deadline passes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Log, Static

from screens.app import WizardApp
from screens.drift import DriftScreen
from screens.form import FormScreen
from screens.keepwaiting import KeepWaitingScreen
from screens.password import PasswordScreen
from screens.patterns import PatternScreen
from screens.review import ReviewScreen
from screens.run import RunScreen
from screens.welcome import WelcomeScreen
from wizard.catalog import pattern_ids
from wizard.steps import nodes

pytestmark = pytest.mark.lab
PATTERN = "apim-all-in-one"
RUN_TIMEOUT = 240.0
REPO = str(Path(__file__).resolve().parents[2])


def _text(app: WizardApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def _reviewed(app: WizardApp) -> bool:
    return isinstance(app.screen, ReviewScreen) and bool(app.screen.texts["plan"])


async def _to_review(app: WizardApp, pilot: Any, settle: Any, until: Any, edit: Any = None) -> None:
    """Welcome -> new setup -> the pattern (lab answers), ``edit(draft.data)``, then Next
    through every answers page to the review (which starts planning and checking)."""
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    assert isinstance(app.screen, PatternScreen)
    await pilot.press(*["down"] * pattern_ids().index(PATTERN), "enter")
    await settle(app, pilot)
    assert app.draft is not None
    if edit is not None:
        edit(app.draft.data)
    for _ in range(10):
        page = app.screen
        if not isinstance(page, FormScreen):
            break
        await pilot.press("ctrl+n")
        await until(pilot, lambda p=page: app.screen is not p, 30, f"Next on {page.page.id}")
    assert not isinstance(app.screen, FormScreen), _where(app)


def _stacks() -> str:
    """Where every thread is (our code only), for a failure message."""
    out = []
    for tid, frame in sys._current_frames().items():
        lines = [ln for ln in traceback.format_stack(frame) if REPO in ln]
        if lines:
            out.append(f"thread {tid}:\n" + "".join(lines[-6:]))
    return "\n".join(out)


@pytest.fixture
def until(until: Any) -> Any:
    """The conftest's ``until``, and on a time-out the screen and the threads' stacks."""

    async def wait(pilot: Any, predicate: Any, timeout: float, what: str) -> None:
        try:
            await until(pilot, predicate, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; on {_where(pilot.app)}\n{_stacks()}") from None

    return wait


def _where(app: WizardApp) -> str:
    """The screen and its status lines, for a failure message."""
    texts = [str(w.render()) for w in app.screen.query(Static) if "status" in (w.id or "")]
    return f"{type(app.screen).__name__}: {' | '.join(texts)}"


async def _review(app: WizardApp, pilot: Any, until: Any) -> None:
    await until(pilot, lambda: _reviewed(app), 120, "the review")
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    assert screen.ready, f"{_text(app, '#review-status')}: {screen.texts['plan'][:2000]}"


async def _start_run(app: WizardApp, pilot: Any, until: Any) -> RunScreen:
    await pilot.press("ctrl+n")
    await until(pilot, lambda: isinstance(app.screen, RunScreen), 30, "the run screen")
    assert isinstance(app.screen, RunScreen)
    return app.screen


def _journal(app: WizardApp) -> list[tuple[str, str]]:
    assert app.session is not None
    return [(e.event, e.step) for e in app.session.journal.entries()]


def _files(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


async def test_cancel_stops_after_the_steps_under_way_and_offers_resume(
    ui_lab, tmp_path: Path, settle, until
) -> None:
    lab = ui_lab()
    app = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_review(app, pilot, settle, until)
        await _review(app, pilot, until)
        run = await _start_run(app, pilot, until)
        await until(pilot, lambda: run.flow is not None, 60, "the run under way")
        await until(pilot, lambda: sum(run.model.done.values()) >= 1, 60, "a first step")
        await pilot.press("c")
        started_at_cancel = sum(1 for ev, _ in _journal(app) if ev == "start")
        await until(pilot, lambda: run.finished is not None, RUN_TIMEOUT, "the run to stop")

        assert run.finished is False
        assert app.session is not None
        sid = app.session.meta.id
        status = _text(app, "#run-status")
        assert "Cancelled" in status and f"carbon-wizard resume {sid}" in status, status
        entries = _journal(app)
        started = [s for ev, s in entries if ev == "start"]
        ended = {s for ev, s in entries if ev in ("done", "failed")}
        assert set(started) <= ended, "a step was left half done"
        total = sum(run.model.total.values())
        assert len(started) < total, "the run did not stop"
        # only steps already submitted when Cancel was pressed (one per host at most) ran
        assert len(started) <= started_at_cancel + len(run.model.total)
        assert app.session.meta.state == "interrupted"
        saved = {m.id: m.state for m in app.store.list()}
        assert saved[sid] == "interrupted"

        await pilot.press("escape")  # back to a fresh review; the session is kept
        await _review(app, pilot, until)
        await pilot.press("ctrl+q")

    again = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(again, pilot)
        assert isinstance(again.screen, WelcomeScreen)
        menu = again.screen.query_one("#menu")
        ids = [menu.get_option_at_index(i).id for i in range(menu.option_count)]  # type: ignore[attr-defined]
        assert f"resume:{sid}" in ids  # resume is offered
        await pilot.press("ctrl+q")


def _ask_db_admin_password(data: dict[str, Any]) -> None:
    data["db"]["admin_password"] = "prompt"  # asked when the review needs it


async def test_prompt_secret_is_asked_in_the_dialog_and_never_saved(
    ui_lab, tmp_path: Path, settle, until
) -> None:
    lab = ui_lab()
    password = Path(lab["db"]["password_file"]).read_text().strip()
    app = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_review(app, pilot, settle, until, edit=_ask_db_admin_password)
        await until(pilot, lambda: isinstance(app.screen, PasswordScreen), 60, "the dialog")
        dialog = app.screen
        assert isinstance(dialog, PasswordScreen) and dialog.field == "db.admin_password"
        field = dialog.query_one("#secret", Input)
        assert field.password  # typed characters are masked
        await pilot.press(*password)
        assert field.value == password
        await pilot.press("enter")
        await _review(app, pilot, until)

        run = await _start_run(app, pilot, until)
        await until(pilot, lambda: run.finished is not None, RUN_TIMEOUT, "the run")
        assert not isinstance(app.screen, PasswordScreen)  # asked once, not again
        assert run.finished, _text(app, "#run-status")  # the databases took the password
        assert app.session is not None
        answers = app.session.answers_path.read_text()
        assert "admin_password: prompt" in answers
        for path in _files(app.session.path):
            data = path.read_bytes()
            assert password.encode() not in data, f"the typed password is in {path}"
        await pilot.press("ctrl+q")


def _overwrite_with_backup(path: Path, session_id: str) -> bytes:
    """Put the stock file back in place of what the session wrote: drift on the host."""
    backup = Path(f"{path}.carbon-wizard-{session_id}.bak")
    assert backup.is_file(), f"no backup of {path}"
    shutil.copyfile(backup, path)  # keeps the file's owner and mode
    return path.read_bytes()


async def test_resume_asks_before_overwriting_drift(ui_lab, tmp_path: Path, settle, until) -> None:
    lab = ui_lab()
    app = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_review(app, pilot, settle, until)
        await _review(app, pilot, until)
        run = await _start_run(app, pilot, until)
        step_id = "node:file_edit:repository/conf/user-mgt.xml"
        await until(
            pilot,
            lambda: ("done", step_id) in _journal(app) or run.finished is not None,
            RUN_TIMEOUT,
            "user-mgt.xml to be written",
        )
        await pilot.press("c")
        await until(pilot, lambda: run.finished is not None, RUN_TIMEOUT, "the run to stop")
        assert app.session is not None
        sid = app.session.meta.id
        step = next(s for s in run.model.plan.steps if s.id == step_id)
        await pilot.press("ctrl+q")

    path = Path(step.inputs["path"])
    written = path.read_bytes()
    drifted = _overwrite_with_backup(path, sid)
    assert drifted != written

    again = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(again, pilot)
        menu = again.screen.query_one("#menu")
        ids = [menu.get_option_at_index(i).id for i in range(menu.option_count)]  # type: ignore[attr-defined]
        await pilot.press(*["down"] * ids.index(f"resume:{sid}"), "enter")
        await _review(again, pilot, until)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(again.screen, DriftScreen), 120, "the question")
        # the screen writes the files on mount, after it became the current screen
        await until(pilot, lambda: again.screen.query_one("#drift-files", Log).lines, 30,
                    "the drifted files listed")  # fmt: skip
        shown = "\n".join(again.screen.query_one("#drift-files", Log).lines)
        assert str(path) in shown and "@@" in shown, shown  # the file and its diff
        admin = Path(lab["dir"], "secrets", "carbon-admin.password").read_text().strip()
        assert "********" in shown and admin not in shown  # the diff is masked
        assert "Overwrite these changes?" in _text(again, "#drift-question")
        await pilot.press("n")
        await until(pilot, lambda: _reviewed(again), 120, "the review again")
        assert path.read_bytes() == drifted  # No wrote nothing
        assert again.session is not None and again.session.meta.state != "running"

        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(again.screen, DriftScreen), 120, "the question")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(again.screen, RunScreen), 30, "the run screen")
        run = again.screen
        assert isinstance(run, RunScreen)
        await until(pilot, lambda: run.finished is not None, RUN_TIMEOUT, "the run")
        assert run.finished, _text(again, "#run-status")
        assert path.read_bytes() == written  # Yes put the session's version back
        await pilot.press("ctrl+q")


@pytest.fixture
def frozen_starts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every node the run starts is stopped (SIGSTOP) as soon as its start step returns:
    a node that boots longer than any deadline, until the test sends SIGCONT."""
    frozen: list[int] = []
    original = nodes.StartHandler.apply

    def apply(self: nodes.StartHandler, step: Any, ctx: Any) -> Any:
        outcome = original(self, step, ctx)
        pid = int(Path(nodes._pidfile(step.inputs["home"])).read_text().strip())
        os.kill(pid, signal.SIGSTOP)
        frozen.append(pid)
        return outcome

    monkeypatch.setattr(nodes.StartHandler, "apply", apply)
    yield frozen
    for pid in frozen:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


async def _to_deadline(app: WizardApp, pilot: Any, settle: Any, until: Any) -> RunScreen:
    """Answers, review, run, up to the moment a node's start deadline passes (the keep
    waiting dialog, or the run's end when the dialog never comes)."""
    await _to_review(app, pilot, settle, until)
    await _review(app, pilot, until)
    run = await _start_run(app, pilot, until)
    await until(
        pilot,
        lambda: isinstance(app.screen, KeepWaitingScreen) or run.finished is not None,
        RUN_TIMEOUT,
        "the start deadline",
    )
    return run


async def test_keep_waiting_past_the_start_deadline(
    ui_lab, frozen_starts: list[int], tmp_path: Path, settle, until
) -> None:
    lab = ui_lab()
    app = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    app.start_timeout = 2.0
    async with app.run_test(size=(80, 24)) as pilot:
        run = await _to_deadline(app, pilot, settle, until)
        dialog = app.screen
        assert isinstance(dialog, KeepWaitingScreen), _text(app, "#run-status")
        await until(pilot, lambda: dialog.query("#wait-question"), 30, "the question")
        assert "Keep waiting (another 2 s)" in _text(app, "#wait-question")
        assert run.finished is None  # the run is still on, waiting for the answer
        assert frozen_starts
        for pid in frozen_starts:
            os.kill(pid, signal.SIGCONT)  # the slow node goes on booting
        asked = 0
        while isinstance(app.screen, KeepWaitingScreen):  # on a busy machine, maybe twice
            asked += 1
            assert asked < 30, "the node never became ready"
            await pilot.press("w")
            await until(
                pilot,
                lambda: isinstance(app.screen, KeepWaitingScreen) or run.finished is not None,
                RUN_TIMEOUT,
                "the node",
            )
        assert run.finished, _text(app, "#run-status")
        assert set(run.model.nodes.values()) == {"running"}
        assert not run.model.failed
        await pilot.press("ctrl+q")


async def test_stop_at_the_start_deadline_fails_the_wait(
    ui_lab, frozen_starts: list[int], tmp_path: Path, settle, until
) -> None:
    lab = ui_lab()
    app = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    app.start_timeout = 1.0
    async with app.run_test(size=(80, 24)) as pilot:
        run = await _to_deadline(app, pilot, settle, until)
        assert isinstance(app.screen, KeepWaitingScreen), _text(app, "#run-status")
        await pilot.press("s")
        await until(pilot, lambda: run.finished is not None, RUN_TIMEOUT, "the run to end")
        assert run.finished is False
        assert "not ready after" in _text(app, "#run-status")
        assert app.session is not None and app.session.meta.state == "failed"
        await pilot.press("ctrl+q")


async def test_quit_while_the_keep_waiting_dialog_is_open(
    ui_lab, frozen_starts: list[int], tmp_path: Path, settle, until
) -> None:
    lab = ui_lab()
    app = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    app.start_timeout = 1.0
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_deadline(app, pilot, settle, until)
        assert isinstance(app.screen, KeepWaitingScreen), _text(app, "#run-status")
        worker = next(w for w in app.workers if w.group == "run")
        await pilot.press("ctrl+q")
    # the run's worker thread is not left waiting for an answer that will never come
    for _ in range(100):
        if worker.is_finished:
            break
        await asyncio.sleep(0.1)
    assert worker.is_finished, worker.state
