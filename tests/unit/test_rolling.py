"""Rolling restarts at run time (wizard/rolling.py): running nodes go down one at a time,
each ready again and ``settle`` seconds past before the next; fresh starts are not held;
a node that does not come back keeps every other running node up; a deferred step holds
no worker (no deadlock with one worker for many nodes)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from wizard.errors import WizardError
from wizard.executor import Executor, Outcome, RunContext, select_steps
from wizard.journal import Journal
from wizard.plan import Plan, Step
from wizard.rolling import Deferred, RollingGate


class Nodes:
    """Start and wait handlers over pretend nodes: ``running`` ones restart through the
    gate as nodes.StartHandler does; a node is ready ``boot`` seconds after its start."""

    def __init__(
        self, running: set[str], boot: float = 0.05, dead: str = "", first_dies: bool = False
    ) -> None:
        self.running = set(running)
        self.boot, self.dead = boot, dead
        self.first_dies = first_dies  # the first node to restart never comes back
        self.lock = threading.Lock()
        self.down: set[str] = set()  # nodes between their stop and ready
        self.most_down = 0
        self.ready_at: dict[str, float] = {}
        self.events: list[tuple[str, str, float]] = []

    def _note(self, what: str, node: str) -> None:
        with self.lock:
            self.events.append((what, node, time.monotonic()))


class Start:
    def __init__(self, nodes: Nodes) -> None:
        self.n = nodes

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        return Outcome(step.host in self.n.ready_at, "")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        restart = step.host in self.n.running
        if restart:
            ctx.rolling.take(step.host)
        with self.n.lock:
            if restart and self.n.first_dies and not self.n.dead:
                self.n.dead = step.host
            if restart:
                self.n.down.add(step.host)
                self.n.most_down = max(self.n.most_down, len(self.n.down))
            self.n.ready_at[step.host] = time.monotonic() + self.n.boot
        self.n._note("restart" if restart else "start", step.host)
        return Outcome(True, "started")


class Wait:
    def __init__(self, nodes: Nodes) -> None:
        self.n = nodes

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        ok = step.host != self.n.dead and time.monotonic() >= self.n.ready_at.get(step.host, 1e18)
        if ok:
            with self.n.lock:
                self.n.down.discard(step.host)
                first = not any(w == "ready" and n == step.host for w, n, _ in self.n.events)
            if first:  # noted before the gate is given back: a later note could come after
                self.n._note("ready", step.host)  # the next restart (a thread preempted)
            ctx.rolling.give_back(step.host, float(step.inputs.get("settle") or 0))
        return Outcome(ok, "")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        deadline = time.monotonic() + 2
        while not self.check(step, ctx).satisfied:
            if time.monotonic() > deadline:
                ctx.rolling.broken(step.host)
                raise WizardError(f"{step.host} is not ready", exit_code=3)
            time.sleep(0.01)
        return Outcome(True, "ready")


def _plan(names: list[str], settle: float) -> Plan:
    steps: list[Step] = []
    for n in names:  # one start group: the starts do not depend on each other
        steps.append(Step(f"{n}:start", "start", n, "", {}))
        steps.append(
            Step(f"{n}:wait", "wait", n, "", {"settle": settle}, depends_on=[f"{n}:start"])
        )
    return Plan("t", steps)


def _run(nodes: Nodes, names: list[str], settle: float = 0.0, parallelism: int = 8,
         tmp: Path | None = None):  # type: ignore[no-untyped-def]  # fmt: skip
    ex = Executor(
        _plan(names, settle),
        {"start": Start(nodes), "wait": Wait(nodes)},
        parallelism=parallelism,
        journal=Journal(tmp / "journal.jsonl") if tmp else None,
    )
    events: list[tuple[str, str]] = []
    ex.on_event = lambda e: events.append((e.step.id, e.state))
    return ex.run(), events


def test_running_nodes_restart_one_at_a_time_with_the_settle_between() -> None:
    names = ["gw1", "gw2", "gw3"]
    nodes = Nodes(running=set(names))
    summary, _ = _run(nodes, names, settle=0.2)
    assert summary.failed == 0 and summary.changed == 6
    assert nodes.most_down == 1  # never two down at once
    restarts = [t for what, _, t in nodes.events if what == "restart"]
    readies = [t for what, _, t in nodes.events if what == "ready"]
    for ready, next_restart in zip(readies, restarts[1:], strict=False):
        assert next_restart - ready >= 0.2  # the load balancer took the node back first


def test_fresh_starts_are_not_held() -> None:
    names = ["gw1", "gw2", "gw3"]
    nodes = Nodes(running=set(), boot=1.0)  # no start waits for another's ready
    summary, _ = _run(nodes, names, settle=5)
    assert summary.failed == 0
    starts = [t for what, _, t in nodes.events if what == "start"]
    readies = [t for what, _, t in nodes.events if what == "ready"]
    assert max(starts) < min(readies)  # all three started before any was ready


def test_a_node_that_does_not_come_back_keeps_the_others_up(tmp_path: Path) -> None:
    names = ["gw1", "gw2", "gw3"]
    # the three starts race for the gate: whichever takes it first is the one that dies
    nodes = Nodes(running=set(names), first_dies=True)
    summary, events = _run(nodes, names, tmp=tmp_path)
    dead = nodes.dead
    assert nodes.most_down == 1
    assert [n for what, n, _ in nodes.events if what == "restart"] == [dead]
    msgs = " ".join(e.render() for e in summary.errors)
    assert f"{dead} is not ready" in msgs
    for other in sorted(set(names) - {dead}):
        want = f"{other} was not restarted: {dead}, restarted before it, did not come back ready"
        assert want in msgs
    # each step reported running once, whatever its deferrals; journaled start once too
    running = [sid for sid, state in events if state == "running"]
    assert len(running) == len(set(running))
    starts = (tmp_path / "journal.jsonl").read_text().count('"event": "start"')
    assert starts == len(set(running))


def test_one_worker_for_many_running_nodes_does_not_deadlock() -> None:
    names = [f"n{i}" for i in range(6)]
    nodes = Nodes(running=set(names), boot=0.01)
    summary, _ = _run(nodes, names, parallelism=1)
    assert summary.failed == 0 and summary.changed == 12 and nodes.most_down == 1


def test_a_start_selected_brings_its_wait() -> None:
    p = _plan(["a", "b"], 0)
    assert select_steps(p, only=["start"]) == {"a:start", "a:wait", "b:start", "b:wait"}
    assert select_steps(p, skip=["wait"]) == {"a:start", "a:wait", "b:start", "b:wait"}
    assert select_steps(p, skip=["start"]) == {"a:wait", "b:wait"}


def test_gate_defers_until_settled() -> None:
    gate = RollingGate()
    gate.take("a")
    with pytest.raises(Deferred, match="a restarts"):
        gate.take("b")
    gate.give_back("a", 30)
    with pytest.raises(Deferred) as later:
        gate.take("b")
    assert later.value.until >= time.monotonic() + 29
    gate.give_back("b", 0)  # not the holder: nothing
    assert gate.holder is None
