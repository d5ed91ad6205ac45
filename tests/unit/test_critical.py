"""The critical path (wizard/critical.py) and what the executor does with the plan graph:
database lanes run at the same time, a lane's heaviest work goes first."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.cli import main
from wizard.critical import BOOT_ESTIMATE, critical_path, journaled
from wizard.executor import Executor, Outcome, RunContext
from wizard.journal import Entry
from wizard.plan import Plan, Step, lane
from wizard.planning.build import plan


def _example(pattern_id: str) -> Plan:
    answers, pattern = parse_answers(example_yaml(pattern_id))
    return plan(answers, pattern)


def test_active_passive_path_runs_through_both_boots_in_start_order() -> None:
    p = _example("apim-active-passive")
    cp = critical_path(p)
    kinds = [p.step(s).kind for s in cp.steps]
    assert kinds.count("wait") == 2  # the passive starts once the active is ready
    starts = [s for s in cp.steps if p.step(s).kind == "start"]
    assert [p.step(s).host for s in starts] == ["active", "passive"]
    assert cp.seconds >= 2 * BOOT_ESTIMATE
    assert cp.journaled == frozenset()
    # every step on it depends on the one before
    for before, after in zip(cp.steps, cp.steps[1:], strict=False):
        assert before in p.step(after).depends_on


def test_journaled_durations_weigh_the_steps_they_name() -> None:
    p = _example("apim-active-passive")
    waits = [s.id for s in p.steps if s.kind == "wait" and "log" in s.inputs]
    entries = [
        Entry("done", waits[0], outcome="changed", seconds=7.5),
        Entry("done", waits[1], outcome="unchanged", seconds=0.1),  # found ready: no weight
    ]
    durations = journaled(entries)
    assert durations == {waits[0]: 7.5}
    cp = critical_path(p, durations)
    assert cp.weights[waits[0]] == 7.5 and cp.weights[waits[1]] == BOOT_ESTIMATE
    assert waits[0] in cp.journaled
    assert "journaled durations and estimates" in cp.line()
    data = cp.to_dict()
    assert {"id": waits[0], "seconds": 7.5, "weight": "journaled"} in data["steps"]


def test_plan_json_and_text_show_the_critical_path(capsys, tmp_path: Path) -> None:
    f = tmp_path / "answers.yaml"
    f.write_text(example_yaml("apim-active-passive"))
    assert main(["plan", "--answers", str(f), "--json", "--offline"]) == 0
    data = json.loads(capsys.readouterr().out)
    path = [s["id"] for s in data["critical_path"]["steps"]]
    assert path == critical_path(_example("apim-active-passive")).steps
    assert main(["plan", "--answers", str(f), "--offline"]) == 0
    assert "Critical path, about " in capsys.readouterr().out


def test_database_steps_get_a_lane_per_database() -> None:
    p = _example("apim-active-passive")
    db_lanes = {lane(s) for s in p.steps if s.host == "db"}
    databases = [s for s in p.steps if s.kind == "database"]
    assert len(db_lanes) == len(databases) > 1
    for s in p.steps:
        if s.kind == "dbscript":
            assert lane(s) == f"db:{s.inputs['database']}"


class _Meet:
    """Handlers whose ``apply`` of the steps in ``meet`` wait for each other: they pass only
    when they run at the same time (a broken barrier fails them)."""

    def __init__(self, meet: set[str]) -> None:
        self.barrier = threading.Barrier(max(1, len(meet)), timeout=20)
        self.meet = meet
        self.done: list[str] = []
        self.lock = threading.Lock()
        self.active: dict[str, int] = {}
        self.most: dict[str, int] = {}

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        return Outcome(step.id in self.done)

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        key = lane(step)
        with self.lock:
            self.active[key] = self.active.get(key, 0) + 1
            self.most[key] = max(self.most.get(key, 0), self.active[key])
        if step.id in self.meet:
            self.barrier.wait()
        with self.lock:
            self.active[key] -= 1
            self.done.append(step.id)
        return Outcome(True)


def _db(sid: str, kind: str, name: str, after: list[str] | None = None) -> Step:
    key = "name" if kind == "database" else "database"
    return Step(sid, kind, "db", sid, {key: name}, depends_on=after or [])


def test_databases_are_set_up_at_the_same_time_each_one_step_at_a_time() -> None:
    steps = [
        _db("a", "database", "am"),
        _db("b", "database", "um"),
        _db("c", "database", "reg"),
        _db("a2", "dbscript", "am", ["a"]),
        _db("b2", "dbscript", "um", ["b"]),
        Step("e", "file_edit", "n1", "edit", {"path": "/x"}),
    ]
    handlers = _Meet({"a", "b", "c", "e"})  # three databases and a host's file at once
    summary = Executor(Plan("t", steps), dict.fromkeys(("database", "dbscript", "file_edit"),
                       handlers)).run()  # fmt: skip
    assert summary.failed == 0 and summary.changed == 6
    assert all(n == 1 for n in handlers.most.values())
    assert handlers.done.index("a2") > handlers.done.index("a")


def test_a_lane_runs_its_heaviest_chain_first() -> None:
    # one host, two edits ready at once: the one the start waits for goes first
    steps = [
        Step("light", "file_edit", "n1", "", {"path": "/a"}),
        Step("heavy", "file_edit", "n1", "", {"path": "/b"}),
        Step("start", "start", "n2", "", {}, depends_on=["heavy"]),
        Step("wait", "wait", "n2", "", {}, depends_on=["start"]),
    ]
    handlers = _Meet(set())
    Executor(Plan("t", steps), dict.fromkeys(("file_edit", "start", "wait"), handlers)).run()
    assert handlers.done.index("heavy") < handlers.done.index("light")
