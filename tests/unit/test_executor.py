"""The executor core with in-memory step handlers (real threads, real journal)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from wizard.errors import WizardError
from wizard.executor import Event, Executor, Outcome, RunContext, select_steps
from wizard.journal import Journal
from wizard.plan import Plan, Step
from wizard.secrets import Secret


class World:
    """A tiny 'host state': step id -> applied, with timing and concurrency records."""

    def __init__(
        self,
        delay: float = 0.0,
        fail: set[str] | None = None,
        meet: set[str] | None = None,
        after_apply: Callable[[Step], None] | None = None,
    ) -> None:
        self.state: dict[str, bool] = {}
        self.delay = delay  # work that takes time: two steps at once on a host would overlap
        self.fail = fail or set()
        # the steps in ``meet`` wait for each other inside apply: run one at a time, they
        # break the barrier (after a freeze of 30 s) and fail
        self.meet = meet or set()
        self._meeting = threading.Barrier(len(self.meet) or 1, timeout=30)
        self.after_apply = after_apply
        self.applied: list[str] = []
        self.active: dict[str, int] = {}
        self.max_active_per_host: dict[str, int] = {}
        self.max_active = 0
        self._lock = threading.Lock()
        self._running = 0

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        ok = self.state.get(step.id, False)
        return Outcome(ok, "in place" if ok else "missing", "" if ok else f"+ {step.id}")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        with self._lock:
            self._running += 1
            self.max_active = max(self.max_active, self._running)
            n = self.active.get(step.host, 0) + 1
            self.active[step.host] = n
            self.max_active_per_host[step.host] = max(self.max_active_per_host.get(step.host, 0), n)
        try:
            if step.id in self.meet:
                self._meeting.wait()
            time.sleep(self.delay)
            if step.id in self.fail:
                raise WizardError(f"cannot apply {step.id}", exit_code=1)
            self.state[step.id] = True
            with self._lock:
                self.applied.append(step.id)
            if self.after_apply is not None:
                self.after_apply(step)
            return Outcome(True)
        finally:
            with self._lock:
                self._running -= 1
                self.active[step.host] -= 1


def _plan() -> Plan:
    return Plan(
        "test",
        [
            Step("db", "database", "db", "create DB", {"name": "a"}),
            Step("e1", "file_edit", "n1", "edit n1", {"f": 1}, depends_on=[]),
            Step("e1b", "file_edit", "n1", "edit n1 again", {"f": 2}),
            Step("e2", "file_edit", "n2", "edit n2", {"f": 1}),
            Step("e3", "file_edit", "n3", "edit n3", {"f": 1}),
            Step("s1", "start", "n1", "start n1", {}, depends_on=["db", "e1", "e1b"]),
            Step("s2", "start", "n2", "start n2", {}, depends_on=["s1", "e2"]),
        ],
    )


def _handlers(world: World) -> dict[str, World]:
    return {"database": world, "file_edit": world, "start": world}


def test_order_parallelism_and_journal(tmp_path: Path) -> None:
    world = World(delay=0.05, meet={"db", "e1", "e2", "e3"})  # the first step of each host
    journal = Journal(tmp_path / "journal.jsonl")
    events: list[Event] = []
    summary = Executor(_plan(), _handlers(world), journal=journal, on_event=events.append).run()
    assert summary.line() == "7 changed, 0 unchanged, 0 failed"
    # dependencies honoured
    assert world.applied.index("s1") > max(world.applied.index(x) for x in ("db", "e1", "e1b"))
    assert world.applied.index("s2") > world.applied.index("s1")
    # different hosts in parallel, one step at a time per host
    assert world.max_active >= 3
    assert all(v == 1 for v in world.max_active_per_host.values())
    assert set(journal.finished()) == {s.id for s in _plan().steps}
    assert [e.state for e in events if e.step.id == "s2"] == ["running", "changed"]


def test_rerun_changes_nothing(tmp_path: Path) -> None:
    world = World()
    Executor(_plan(), _handlers(world)).run()
    applied = list(world.applied)
    summary = Executor(_plan(), _handlers(world)).run()
    assert summary.line() == "0 changed, 7 unchanged, 0 failed"
    assert world.applied == applied


def test_failure_skips_dependents_and_is_journaled(tmp_path: Path) -> None:
    world = World(fail={"e1"})
    journal = Journal(tmp_path / "j.jsonl")
    summary = Executor(_plan(), _handlers(world), journal=journal).run()
    assert summary.failed == 1
    assert summary.skipped == 2  # s1 and s2
    assert "s1" not in world.state and "s2" not in world.state
    assert world.state.get("e3")  # independent work still done
    last = {e.step: e.event for e in journal.entries()}
    assert last["e1"] == "failed"
    # resume: fix the fault, run again; only what was missing changes
    world.fail.clear()
    summary = Executor(_plan(), _handlers(world), journal=journal).run()
    assert summary.changed == 3 and summary.failed == 0


def test_check_mode_changes_nothing_and_reports_diffs() -> None:
    world = World()
    events: list[Event] = []
    ex = Executor(
        _plan(), _handlers(world), context=RunContext(check_mode=True), on_event=events.append
    )
    summary = ex.run()
    assert summary.would_change == 7 and summary.changed == 0
    assert world.applied == []
    assert any(e.diff == "+ e1" for e in events)


def test_only_and_skip_kinds() -> None:
    plan = _plan()
    assert select_steps(plan, only=["file_edit"]) == {"e1", "e1b", "e2", "e3"}
    assert select_steps(plan, skip=["start"]) == {"db", "e1", "e1b", "e2", "e3"}
    world = World()
    summary = Executor(plan, _handlers(world)).run(select_steps(plan, only=["file_edit"]))
    assert summary.changed == 4
    assert sorted(world.applied) == ["e1", "e1b", "e2", "e3"]


def test_missing_handler_is_a_clear_step_failure() -> None:
    world = World()
    summary = Executor(_plan(), {"database": world, "file_edit": world}).run()
    assert summary.failed == 1 and summary.skipped == 1
    assert "--skip start" in summary.errors[0].render()


def test_unexpected_exception_becomes_wizard_error() -> None:
    class Broken:
        def check(self, step: Step, ctx: RunContext) -> Outcome:
            raise RuntimeError("boom")

        apply = check

    plan = Plan("t", [Step("x", "database", "db", "x", {})])
    summary = Executor(plan, {"database": Broken()}).run()
    assert summary.failed == 1
    assert "RuntimeError: boom" in summary.errors[0].render()


def test_secrets_never_reach_journal_or_events(tmp_path: Path) -> None:
    pw = Secret("Sup3r-Secret-Value", "env:X")

    class Leaky:
        def check(self, step: Step, ctx: RunContext) -> Outcome:
            return Outcome(False, f"password is {pw.reveal()}", f"-pw={pw.reveal()}")

        def apply(self, step: Step, ctx: RunContext) -> Outcome:
            raise WizardError(f"login failed with {pw.reveal()}", exit_code=1)

    journal = Journal(tmp_path / "j.jsonl")
    events: list[Event] = []
    plan = Plan("t", [Step("x", "database", "db", "x", {})])
    Executor(plan, {"database": Leaky()}, journal=journal, on_event=events.append).run()
    text = (tmp_path / "j.jsonl").read_text()
    assert "Sup3r-Secret-Value" not in text
    assert all("Sup3r-Secret-Value" not in e.message + e.diff for e in events)


def test_cycle_is_reported() -> None:
    plan = Plan(
        "t",
        [
            Step("a", "database", "db", "a", {}, depends_on=["b"]),
            Step("b", "database", "db", "b", {}, depends_on=["a"]),
        ],
    )
    with pytest.raises(WizardError, match="cycle"):
        Executor(plan, {"database": World()}).run()


def test_cancel_stops_new_steps() -> None:
    cancel: list[Callable[[], None]] = []
    world = World(after_apply=lambda step: cancel[0]())  # cancelled during the first step
    ex = Executor(_plan(), _handlers(world), parallelism=1)
    cancel.append(ex.cancel)
    summary = ex.run()
    assert summary.changed < 7
