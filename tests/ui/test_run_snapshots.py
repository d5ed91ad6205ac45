"""Snapshots of the review with a plan (plan and diffs views), the run screen in the middle
of a run and at its end, and the drift and keep-waiting dialogs, at 80x24 and 120x40.

No lab: the plan is the pattern's example answers planned offline, the run's events are
posted the way the executor reports them, the session has a fixed id and path, and the
log's clock is fixed, so every snapshot is the same from run to run.
Update with ``pytest tests/ui/test_run_snapshots.py --snapshot-update``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import RichLog

from screens.app import WizardApp
from screens.drift import DriftScreen
from screens.jobs import Drift, validated
from screens.keepwaiting import KeepWaitingScreen
from screens.review import ReviewScreen
from screens.run import RunScreen
from wizard.executor import Event
from wizard.flow import runmodel
from wizard.planning.build import plan as make_plan
from wizard.questions.draft import new_draft
from wizard.session import Session, SessionMeta

SIZES = [(80, 24), (120, 40)]
PATTERN = "apim-active-passive"
SID = "20260101-120000-abcdef"
DIFF = """--- active:/opt/wso2am-2.6.0/repository/conf/datasources/master-datasources.xml
+++ active:/opt/wso2am-2.6.0/repository/conf/datasources/master-datasources.xml
@@ -12,7 +12,7 @@
       <definition type="RDBMS">
         <configuration>
-          <url>jdbc:h2:./repository/database/WSO2AM_DB</url>
+          <url>jdbc:mysql://10.0.0.5:3306/apimgtdb?useSSL=false</url>
           <username>apimuser</username>
-          <password>********</password>
+          <password>********</password>
"""  # masked already, as the engine hands diffs over (no value here is a known secret)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run log's time stamps are the only clock on these screens."""
    monkeypatch.setattr(runmodel.time, "strftime", lambda fmt, *a: "12:00:00")


def _session() -> Session:
    meta = SessionMeta(SID, PATTERN, 0.0, 0.0, "running")
    return Session(Path(f"/var/lib/carbon-wizard/sessions/{SID}"), meta)


def _app(tmp_path: Path) -> WizardApp:
    return WizardApp(lab_dir=tmp_path / "no-lab", session_dir=str(tmp_path / "sessions"))


async def _until(pilot: Any, predicate: Any, what: str, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _welcome(pilot: Any) -> None:
    """Let the welcome screen's lab check finish first (it is under the pushed screen)."""
    await pilot.pause()
    busy = [w for w in pilot.app.workers if w.group != "flow"]
    if busy:
        await pilot.app.workers.wait_for_complete(busy)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", ["plan", "diffs"])
def test_review_with_plan_snapshot(
    view: str, size: tuple[int, int], tmp_path: Path, snap_compare
) -> None:
    draft = new_draft(PATTERN)
    plan = make_plan(*validated(draft))
    review = ReviewScreen(draft, _session())
    line = (
        f"{len(plan.steps)} steps on {len(plan.hosts())} hosts; file check: 7 would change, "
        "0 unchanged, 0 failed. d: plan/diffs, ctrl+n: run, Esc: back."
    )
    message = ReviewScreen.Reviewed(plan.render_text(), DIFF, line, True, plan)
    review.build = lambda: review.post_message(message)  # type: ignore[method-assign]

    async def go(pilot: Any) -> None:
        await _welcome(pilot)
        pilot.app.push_screen(review)
        await _until(pilot, lambda: review.ready, "the review")
        if view == "diffs":
            await pilot.press("d")
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)


def _events(screen: RunScreen, upto: int, final: bool) -> None:
    """The first ``upto`` steps done (the db host's third one failed when ``final``)."""
    steps = screen.model.plan.steps
    for i, step in enumerate(steps[:upto]):
        screen.post_message(RunScreen.Stepped(Event(step, "running")))
        state = "changed" if step.kind not in ("wait", "preflight") else "unchanged"
        message = "ready in 3.1s" if step.kind == "wait" else "ok"
        if final and i == upto - 1:
            state, message = "failed", f"{step.host}: the check still fails after apply"
        screen.post_message(RunScreen.Stepped(Event(step, state, message, seconds=0.1)))
    if not final and upto < len(steps):  # the next one under way
        step = steps[upto]
        screen.post_message(RunScreen.Stepped(Event(step, "running")))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("moment", ["running", "failed", "done"])
def test_run_screen_snapshot(
    moment: str, size: tuple[int, int], tmp_path: Path, snap_compare
) -> None:
    draft = new_draft(PATTERN)
    plan = make_plan(*validated(draft))
    screen = RunScreen(draft, _session(), plan)
    screen.execute = lambda: None  # type: ignore[method-assign]
    total = len(plan.steps)
    upto = {"running": total // 2, "failed": total // 2, "done": total}[moment]

    async def go(pilot: Any) -> None:
        await _welcome(pilot)
        pilot.app.push_screen(screen)
        await pilot.pause()
        _events(screen, upto, final=moment == "failed")
        if moment == "done":
            screen.post_message(RunScreen.Finished("Done: 20 changed. ctrl+n: next.", True))
        elif moment == "failed":
            text = "1 step(s) failed: the check still fails\nEsc: back to review, then run again."
            screen.post_message(RunScreen.Finished(text, False))
        await _until(pilot, lambda: sum(screen.model.done.values()) == upto, "the events")
        await _until(pilot, lambda: not screen.dirty, "the repaint")
        log = screen.query_one("#run-log", RichLog)  # it scrolls to its end after a refresh
        await _until(pilot, lambda: log.scroll_y == log.max_scroll_y, "the log at its end")
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_drift_dialog_snapshot(size: tuple[int, int], tmp_path: Path, snap_compare) -> None:
    drift = [
        Drift(
            "active", "/opt/wso2am-2.6.0/repository/conf/datasources/master-datasources.xml", DIFF
        ),
        Drift("passive", "/opt/wso2am-2.6.0/repository/conf/user-mgt.xml", ""),
    ]

    async def go(pilot: Any) -> None:
        await _welcome(pilot)
        pilot.app.push_screen(DriftScreen(drift))
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_keep_waiting_dialog_snapshot(size: tuple[int, int], tmp_path: Path, snap_compare) -> None:
    async def go(pilot: Any) -> None:
        await _welcome(pilot)
        why = "not started yet (no start line in the log)"
        pilot.app.push_screen(KeepWaitingScreen("active", 600, why))
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)
