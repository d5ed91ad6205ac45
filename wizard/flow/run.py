"""The application layer: one way to prepare, review, run, cancel and resume a setup,
for every front end (the headless CLI, the Textual wizard, the line-by-line wizard).

A front end builds a :class:`Flow` on a session with its :class:`Hooks` (how it asks and
how it shows progress), then calls :meth:`Flow.prepare` with the answers text and
:meth:`Flow.review` or :meth:`Flow.run`. Everything between (secrets resolved up front,
host keys verified in one batch, the homes and the database server read before the real
plan is made, drift on resume, the executor, cancel, "keep waiting", the session's end
state) happens here, once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from wizard.answers import Answers, parse_answers
from wizard.catalog.model import Pattern
from wizard.critical import journaled
from wizard.errors import EXIT_STEP_FAILED, WizardError
from wizard.executor import Event, Executor, Summary, select_steps
from wizard.flow.model import (
    REVIEW_KINDS,
    SESSION_WRITES,
    Drift,
    DriftDeclined,
    EndState,
    Hooks,
    Prepared,
    Review,
    RunResult,
)
from wizard.flow.preflight import gate, run_checks
from wizard.flow.status import Status, status
from wizard.plan import Plan
from wizard.planning.build import plan as make_plan
from wizard.runner import Runner
from wizard.secrets import redact
from wizard.session import Session


def _handlers(kinds: Iterable[str]) -> Mapping[str, Any]:
    from wizard.steps import handlers

    return handlers().load(kinds)


class Flow:
    def __init__(
        self,
        session: Session,
        hooks: Hooks | None = None,
        *,
        parallelism: int = 8,
        accept_new_keys: bool = False,
        start_timeout: float | None = None,
        ignore_preflight: Iterable[str] = (),
    ) -> None:
        self.session = session
        self.hooks = hooks or Hooks()
        self.parallelism = parallelism
        self.accept_new_keys = accept_new_keys
        self.start_timeout = start_timeout
        self.ignore_preflight = set(ignore_preflight)
        self._executor: Executor | None = None
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._ahead: Runner | None = None  # prepare(connect=True)'s, for the run
        self._saved: dict[str, Any] | None = None  # the plan this flow saved last

    # -- answers -> plan ---------------------------------------------------------------
    def prepare(
        self,
        answers_text: str,
        *,
        source: str = "answers",
        save: bool = True,
        parsed: tuple[Answers, Pattern] | None = None,
        connect: bool = False,
    ) -> Prepared:
        """Validate the answers, plan offline, and keep answers and plan in the session
        (``save`` False: a rollback, which works from what the session saved).
        ``parsed``: what ``parse_answers(answers_text)`` gave the caller already;
        ``connect``: a :meth:`run` follows: the hosts are scanned (and logged in to where
        their keys are trusted already) while the plan is made."""
        answers, pattern = parsed or parse_answers(answers_text, source)
        if connect:
            self._connect_ahead(answers, pattern)
        try:
            plan = make_plan(answers, pattern)
        except BaseException:
            self._close_ahead()
            raise
        if not save:
            return Prepared(answers, pattern, plan)
        with SESSION_WRITES:
            self.session.save_answers(answers_text)
            self._save_plan(plan)
            self.session.save_meta(state="planned", pattern=pattern.id, hosts=plan.hosts())
        return Prepared(answers, pattern, plan)

    # -- review and run ----------------------------------------------------------------
    def review(self, prepared: Prepared, kinds: Iterable[str] = REVIEW_KINDS) -> Review:
        """The plan made against the homes, and the diffs and notes of a check of
        ``kinds`` (the file steps): changes nothing."""
        diffs: list[tuple[str, str, str]] = []
        notes: list[str] = []

        def collect(e: Event) -> None:
            if e.diff and e.state in ("would-change", "changed"):
                diffs.append((e.step.host, e.step.id, e.diff))
            where = e.step.inputs.get("file", "")
            notes.extend(f"{e.step.host} {where}: {n}" for n in e.notes)

        handlers = self._load_handlers(kinds)
        with self._runner(prepared) as runner:
            plan = self._open(runner, prepared.pattern)
            problems = [
                p
                for p in run_checks(runner, prepared, plan, {s.id for s in plan.steps})
                if p.check not in self.ignore_preflight
            ]
            summary = runner.execute(
                handlers.result(),
                selected=select_steps(plan, only=kinds),
                check_mode=True,
                on_event=collect,
            )
        critical = plan.critical_path(journaled(self.session.journal.entries()))
        text = plan.render_text() + "\n" + critical.line() + "\n"
        if problems:
            text += "\nPreflight: the run would stop on these (nothing changed):\n"
            text += "\n".join(f"  {p.line()}" for p in problems) + "\n"
        if notes:
            text += "\nFound on the hosts and left as is:\n"
            text += "\n".join(f"  note: {n}" for n in notes) + "\n"
        return Review(plan, text, diffs, notes, summary, critical)

    def run(
        self,
        prepared: Prepared,
        *,
        check: bool = False,
        only: Iterable[str] = (),
        skip: Iterable[str] = (),
    ) -> RunResult:
        """Apply the plan (``check``: only see what would change). Files the session
        wrote before (a resumed session) that changed on the hosts since are shown to
        ``hooks.confirm_drift`` first; no (or nobody to ask) raises
        :class:`DriftDeclined` before any write. The session's state follows."""
        chosen = select_steps(prepared.plan, only=only, skip=skip)
        handlers = self._load_handlers(s.kind for s in prepared.plan.steps if s.id in chosen)
        with self._runner(prepared) as runner:
            try:
                plan = self._open(runner, prepared.pattern)
                selected = select_steps(plan, only=only, skip=skip)
                gate(run_checks(runner, prepared, plan, selected), self.ignore_preflight)
                self._check_drift(runner, handlers.result())
                confirm = self.hooks.confirm_apply
                if not check and confirm is not None and not confirm(plan, selected):
                    return RunResult(Summary(), "declined", plan)
                if not check:
                    self.session.save_meta(state="running")
                summary = runner.execute(
                    handlers.result(),
                    selected=selected,
                    check_mode=check,
                    on_event=self.hooks.on_event,
                    executor_hook=self._attach,
                )
            except DriftDeclined:
                raise  # nothing was written; the session keeps its state
            except WizardError:
                if not check:
                    self.session.save_meta(state="failed")
                raise
        state: EndState = (
            "failed"
            if summary.failed
            else "interrupted"
            if self._cancelled.is_set()
            else "checked"
            if check
            else "done"
        )
        if not check:
            last = self.session.journal.last()
            self.session.save_meta(state=state, last_step=last.step if last else "")
        return RunResult(summary, state, plan)

    def status(self, prepared: Prepared) -> Status:
        """The health of the session's deployment now (see :mod:`wizard.flow.status`)."""
        return status(self, prepared)

    def rollback(self, prepared: Prepared, *, drop_databases: bool = False) -> RunResult:
        """Put back what the session changed (see :mod:`wizard.flow.rollback`, loaded
        here: a run does not need the undo steps)."""
        from wizard.flow.rollback import rollback

        return rollback(self, prepared, drop_databases=drop_databases)

    def cancel(self) -> None:
        """Finish the steps under way and start no new one (the session can resume)."""
        self._cancelled.set()
        with self._lock:
            if self._executor is not None:
                self._executor.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    # -- inside ------------------------------------------------------------------------
    def _attach(self, executor: Executor) -> None:
        with self._lock:
            self._executor = executor
            if self._cancelled.is_set():
                executor.cancel()

    def _load_handlers(self, kinds: Iterable[str]) -> Future[Mapping[str, Any]]:
        """The step handlers; the modules of ``kinds`` (lxml, pymysql, cryptography...)
        load while the hosts are scanned, any other when a step of its kind runs."""
        pool = ThreadPoolExecutor(1, thread_name_prefix="cw-import")
        loading = pool.submit(_handlers, set(kinds))
        pool.shutdown(wait=False)
        return loading

    def _runner(self, prepared: Prepared) -> _Open:
        runner, self._ahead = self._ahead, None
        if runner is not None and runner.answers is prepared.answers:
            runner.plan = prepared.plan
        else:
            if runner is not None:
                runner.close()
            runner = self._new_runner(prepared.answers, prepared.plan)
        return _Open(runner)

    def _new_runner(self, answers: Answers, plan: Plan) -> Runner:
        runner = Runner(
            answers,
            plan,
            self.session,
            prompter=self.hooks.ask_secret,
            parallelism=self.parallelism,
        )
        if self.start_timeout:
            runner.wait_timeout = self.start_timeout
        if self.hooks.keep_waiting is not None:
            runner.keep_waiting = self.hooks.keep_waiting
        return runner

    def _connect_ahead(self, answers: Answers, pattern: Pattern) -> None:
        self._close_ahead()
        try:
            self._ahead = self._new_runner(answers, Plan(pattern.id, []))
        except WizardError:
            return  # a login secret that cannot be had: run() stops on it, as ever
        self._ahead.connect_ahead(pattern)

    def _close_ahead(self) -> None:
        runner, self._ahead = self._ahead, None
        if runner is not None:
            runner.close()

    def _open(self, runner: Runner, pattern: Pattern) -> Plan:
        """Secrets, host keys, then the plan made against the homes (saved)."""
        runner.secrets.resolve_all(runner.plan)
        runner.verify_host_keys(accept_new=self.accept_new_keys, confirm=self.hooks.confirm_keys)
        plan = runner.survey(pattern)
        with SESSION_WRITES:
            self._save_plan(plan)
        if self.hooks.on_note is not None:
            for host, notes in plan.notes.items():
                for n in notes:
                    self.hooks.on_note(redact(f"note: {host}: {n}"))
        return plan

    def _save_plan(self, plan: Plan) -> None:
        """Save the plan, unless it is the one this flow saved last (the plan made
        against the homes is often the offline one)."""
        steps = plan.to_dict()
        if steps != self._saved or not self.session.plan_path.exists():
            self.session.save_plan(plan.to_json())
            self._saved = steps

    def _check_drift(self, runner: Runner, handlers: Mapping[str, Any]) -> None:
        drift = [
            Drift(step.host, str(step.inputs.get("path") or step.id), redact(diff))
            for step, diff in runner.drifted(handlers)
        ]
        if not drift:
            return
        confirm = self.hooks.confirm_drift
        if confirm is None or not confirm(drift):
            raise DriftDeclined(
                f"{len(drift)} file(s) changed on the hosts since this session wrote them; "
                "nothing was written",
                fix="review the diffs; undo the changes, or resume where you can confirm "
                "overwriting them",
                exit_code=EXIT_STEP_FAILED,
            )


class _Open:
    """A runner that is closed (connections, DB sessions) when the block ends."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def __enter__(self) -> Runner:
        return self.runner

    def __exit__(self, *exc: object) -> None:
        self.runner.close()
