"""The executor: runs a plan's step graph, check-then-act, journaled, resumable.

A step kind is handled by a :class:`Handler` with two small functions: ``check`` says
whether the step is already satisfied (and what would change, as a diff); ``apply``
makes the change. The executor calls ``check``, then ``apply`` only when needed, then
``check`` again to prove the change took. Steps on different hosts run in parallel;
steps on the same host run one at a time (they share that host's connection); database
steps run one at a time per database (:func:`wizard.plan.lane`). A step starts as soon
as the steps it depends on are done; of one lane's steps ready at once, the one with the
heaviest chain of work after it (:mod:`wizard.critical`) goes first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from wizard.changes import Recorder
from wizard.connectors.base import Written
from wizard.errors import EXIT_STEP_FAILED, WizardError
from wizard.journal import Entry, Journal
from wizard.plan import Plan, Step, lane
from wizard.rolling import Deferred, RollingGate
from wizard.secrets import redact

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.connectors.hostkeys import HostKeyStore


@dataclass
class Outcome:
    """What ``check`` found or ``apply`` did."""

    satisfied: bool
    message: str = ""
    diff: str = ""
    notes: list[str] = field(default_factory=list)  # found and left as is, for the admin


def _no_transport(host: str) -> Any:
    raise WizardError(f"no connection to {host} in this run", exit_code=EXIT_STEP_FAILED)


def _no_secret(path: str) -> str:
    raise WizardError(f"secret {path} is not available in this run", exit_code=EXIT_STEP_FAILED)


@dataclass
class RunState:
    """What the steps of one run share and fill as they go (one object per run; every
    step's context points at the same one)."""

    # where each node's log stood when this run started it (waits read from there)
    start_marks: dict[str, int] = field(default_factory=dict)
    # hosts whose files this run changed (a node restarts when its files changed)
    changed_hosts: set[str] = field(default_factory=set)
    # file_edit: what a file held when its edits were last computed, per (host, path)
    edit_cache: dict[Any, Any] = field(default_factory=dict)
    # file_edit: directory listings per host, read once
    listed_dirs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # file_edit: the files this run's file steps edit, per host; the host's first file
    # step reads them all in one batch (the transport hands each out once)
    read_ahead: dict[str, list[str]] = field(default_factory=dict)
    # open database admin connections by server and user, shared by the database steps
    databases: dict[str, Any] = field(default_factory=dict)
    # closed when the run ends (database connections)
    closers: list[Callable[[], None]] = field(default_factory=list)
    # one running node restarts at a time (wizard/rolling.py)
    rolling: RollingGate = field(default_factory=RollingGate)

    def close(self) -> None:
        while self.closers:
            try:
                self.closers.pop()()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


@dataclass
class RunContext:
    """What handlers may use; connectors are opened once and shared by all steps.

    ``transport(host)`` gives the open :class:`wizard.connectors.base.Transport` of a plan
    host (node name or ``lb``); ``secret(path)`` gives the plain value of the secret at an
    answer path (for ``wizard.secretrefs.substitute``); ``session_id`` names backups
    (``<file>.carbon-wizard-<session>.bak``); ``state`` is what the run's steps share.
    """

    check_mode: bool = False
    session_id: str = "nosession"
    transport: Callable[[str], Any] = _no_transport
    secret: Callable[[str], str] = _no_secret
    # a change made other than by ``write_atomic`` (keytool on a trust store...), for the
    # journal: (host, what was written, its new bytes); atomic writes are noted already
    changed: Callable[[str, Written, bytes], None] = lambda host, written, data: None
    answers: Answers | None = None
    hostkeys: HostKeyStore | None = None  # the sync step pins the manager's key with it
    session_dir: str | None = None  # the wizard CA and generated key material live here
    java_home: str | None = None  # the answers' product.java_home (keytool, starts)
    wait_timeout: float | None = None  # --start-timeout: overrides each wait's own
    # asked when a node is not ready by its deadline: (step, seconds, why) -> wait more?
    keep_waiting: Callable[[Step, float, str], bool] | None = None
    state: RunState = field(default_factory=RunState)

    @property
    def rolling(self) -> RollingGate:
        return self.state.rolling


def _wrote(recorder: Recorder) -> dict[str, Any]:
    """The journal's record of the files a step changed (for ``rollback``)."""
    return {"wrote": [c.to_dict() for c in recorder.changes]} if recorder.changes else {}


class Handler(Protocol):
    def check(self, step: Step, ctx: RunContext) -> Outcome: ...

    def apply(self, step: Step, ctx: RunContext) -> Outcome: ...


StepState = Literal["running", "changed", "unchanged", "would-change", "failed", "skipped"]


@dataclass
class Event:
    """Progress for the front ends: one per step start and end."""

    step: Step
    state: StepState
    message: str = ""
    diff: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class Summary:
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    would_change: int = 0
    errors: list[WizardError] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{self.changed} changed", f"{self.unchanged} unchanged", f"{self.failed} failed"]
        if self.would_change:
            parts.insert(0, f"{self.would_change} would change")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return ", ".join(parts)


def select_steps(plan: Plan, only: Iterable[str] = (), skip: Iterable[str] = ()) -> set[str]:
    """The ids of the steps to run for ``--only KIND,..`` / ``--skip KIND,..``."""
    only_set, skip_set = set(only), set(skip)
    chosen = {
        s.id for s in plan.steps if (not only_set or s.kind in only_set) and s.kind not in skip_set
    }
    # a node started is waited for: its wait hands a rolling restart on (wizard/rolling.py)
    kinds = {s.id: s.kind for s in plan.steps}
    return chosen | {
        s.id
        for s in plan.steps
        if s.kind == "wait" and any(kinds.get(d) == "start" and d in chosen for d in s.depends_on)
    }


class Executor:
    def __init__(
        self,
        plan: Plan,
        handlers: Mapping[str, Handler],
        *,
        journal: Journal | None = None,
        context: RunContext | None = None,
        parallelism: int = 8,
        on_event: Callable[[Event], None] | None = None,
        durations: Mapping[str, float] | None = None,
    ) -> None:
        missing = {s.kind for s in plan.steps} - set(handlers)
        self.plan = plan
        self.handlers = handlers
        self.missing_kinds = missing
        self.journal = journal
        self.ctx = context or RunContext()
        self.parallelism = max(1, parallelism)
        # seconds an earlier run journaled per step: they weigh the critical path
        self.durations = dict(durations or {})
        self.on_event = on_event or (lambda e: None)
        self._cancel = threading.Event()
        self._started: set[str] = set()

    def cancel(self) -> None:
        """Finish the steps under way, start no new one."""
        self._cancel.set()

    def run(self, selected: set[str] | None = None) -> Summary:
        steps = {s.id: s for s in self.plan.steps}
        selected = set(steps) if selected is None else selected
        # of a lane's ready steps, the one with the heaviest chain of work ahead goes first
        ahead = self.plan.critical_path(self.durations).ahead
        order = {s.id: i for i, s in enumerate(self.plan.steps)}
        done: set[str] = set()
        failed: set[str] = set()
        pending = [s.id for s in self.plan.steps]
        not_before: dict[str, float] = {}  # deferred steps (wizard.rolling.Deferred)
        running: dict[Future[StepState], Step] = {}
        busy: set[str] = set()  # lanes with a step under way
        lanes = {s.id: lane(s) for s in self.plan.steps}
        summary = Summary()

        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
            while pending or running:
                progressed = False
                best: dict[str, str] = {}  # free lane -> the step it runs next
                for sid in list(pending):
                    step = steps[sid]
                    deps = [d for d in step.depends_on if d in steps]
                    if any(d in failed for d in deps):
                        pending.remove(sid)
                        failed.add(sid)
                        summary.skipped += 1
                        self._emit(step, "skipped", "a step it depends on failed")
                        progressed = True
                        continue
                    if not all(d in done for d in deps):
                        continue
                    if sid not in selected:
                        pending.remove(sid)
                        done.add(sid)
                        progressed = True
                        continue
                    if lanes[sid] in busy or not_before.get(sid, 0.0) > time.monotonic():
                        continue
                    other = best.get(lanes[sid])
                    if other is None or ahead.get(sid, 0.0) > ahead.get(other, 0.0):
                        best[lanes[sid]] = sid
                for sid in sorted(best.values(), key=order.__getitem__):
                    if self._cancel.is_set() or len(running) >= self.parallelism:
                        break
                    pending.remove(sid)
                    not_before.pop(sid, None)
                    busy.add(lanes[sid])
                    running[pool.submit(self._run_step, steps[sid])] = steps[sid]
                    progressed = True
                if self._cancel.is_set() and not running:
                    break
                if not running:
                    if not_before and pending and not progressed:
                        self._cancel.wait(max(0.0, min(not_before.values()) - time.monotonic()))
                        continue
                    if pending and not progressed:
                        raise WizardError(
                            "the plan has a dependency cycle or unknown dependency: "
                            + ", ".join(sorted(pending, key=order.__getitem__)[:5]),
                            exit_code=EXIT_STEP_FAILED,
                        )
                    continue
                timeout = None
                if not_before:
                    timeout = max(0.0, min(not_before.values()) - time.monotonic())
                finished, _ = wait(list(running), timeout=timeout, return_when=FIRST_COMPLETED)
                for fut in finished:
                    step = running.pop(fut)
                    busy.discard(lanes[step.id])
                    try:
                        state = fut.result()
                    except Deferred as later:
                        not_before[step.id] = later.until
                        pending.insert(0, step.id)
                        pending.sort(key=order.__getitem__)
                        continue
                    except WizardError as exc:
                        failed.add(step.id)
                        summary.failed += 1
                        summary.errors.append(exc)
                        continue
                    done.add(step.id)
                    if state == "changed":
                        summary.changed += 1
                    elif state == "would-change":
                        summary.would_change += 1
                    else:
                        summary.unchanged += 1
        self._sync_journal()  # the lines of the steps that changed nothing, on disk too
        return summary

    # one step ----------------------------------------------------------------
    def _run_step(self, step: Step) -> StepState:
        start = time.monotonic()
        if step.id not in self._started:  # a deferred step is not started twice
            self._started.add(step.id)
            self._emit(step, "running")
            # on disk before the step changes anything (below), not before its check
            self._journal("start", step, durable=False)
        handler = self.handlers.get(step.kind)
        recorder = Recorder()
        ctx = replace(
            self.ctx,
            transport=lambda host: recorder.wrap(self.ctx.transport(host), host),
            changed=recorder.note,
        )
        try:
            if handler is None:
                raise WizardError(
                    f"steps of kind {step.kind!r} cannot be run by this version yet",
                    fix=f"skip them with --skip {step.kind}",
                    exit_code=EXIT_STEP_FAILED,
                )
            before = handler.check(step, ctx)
            state: StepState
            if before.satisfied:
                state, outcome = "unchanged", before
            elif self.ctx.check_mode:
                state, outcome = "would-change", before
            else:
                self._sync_journal()
                applied = handler.apply(step, ctx)
                after = handler.check(step, ctx)
                if not after.satisfied:
                    raise WizardError(
                        f"step {step.id} made its change but the check still fails: "
                        f"{after.message}",
                        exit_code=EXIT_STEP_FAILED,
                    )
                message = applied.message if applied and applied.message else "changed"
                state, outcome = "changed", Outcome(True, message, before.diff, before.notes)
        except Deferred:
            raise  # run again later (the step made no change)
        except WizardError as exc:
            seconds = time.monotonic() - start
            self._journal(
                "failed", step, message=exc.render(), seconds=seconds, extra=_wrote(recorder)
            )
            self._emit(step, "failed", exc.render(), seconds=seconds)
            raise
        except Exception as exc:  # a bug or an unexpected fault: still a clean failure
            seconds = time.monotonic() - start
            err = WizardError(
                f"step {step.id} failed: {type(exc).__name__}: {exc}",
                exit_code=EXIT_STEP_FAILED,
            )
            self._journal(
                "failed", step, message=err.render(), seconds=seconds, extra=_wrote(recorder)
            )
            self._emit(step, "failed", err.render(), seconds=seconds)
            raise err from exc
        seconds = time.monotonic() - start
        if not self.ctx.check_mode:
            self._journal(
                "done",
                step,
                durable=state == "changed",  # what it wrote is needed to roll back
                outcome=state,
                message=outcome.message,
                seconds=seconds,
                extra=_wrote(recorder),
            )
        self._emit(step, state, outcome.message, outcome.diff, seconds, outcome.notes)
        return state

    def _journal(self, event: str, step: Step, *, durable: bool = True, **kw: Any) -> None:
        if self.journal is None or self.ctx.check_mode:
            return
        entry = Entry(event, step.id, step.host, step.kind, step.fingerprint, **kw)
        self.journal.append(entry, durable=durable)

    def _sync_journal(self) -> None:
        if self.journal is not None and not self.ctx.check_mode:
            self.journal.sync()

    def _emit(
        self,
        step: Step,
        state: StepState,
        message: str = "",
        diff: str = "",
        seconds: float = 0.0,
        notes: list[str] | None = None,
    ) -> None:
        self.on_event(
            Event(
                step,
                state,
                redact(message),
                redact(diff),
                seconds,
                [redact(n) for n in notes or []],
            )
        )
