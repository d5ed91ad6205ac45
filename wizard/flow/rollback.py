"""``rollback``: put back everything a session changed (wizard/undo.py), through the same
runner as an apply: secrets, host keys, check-then-act steps, the journal, cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wizard.executor import Event, Summary
from wizard.flow.model import Drift, DriftDeclined, Prepared, RunResult
from wizard.journal import Entry
from wizard.plan import Plan
from wizard.steps.undo import DRIFTED
from wizard.undo import undo_plan

if TYPE_CHECKING:
    from wizard.flow.run import Flow
    from wizard.session import Session, SessionStore


def changed_something(session: Session) -> bool:
    """Whether the session has anything to roll back (since its last rollback)."""
    saved = session.load_plan()
    if not saved:
        return False
    entries = session.journal.since_rollback()
    return not undo_plan(Plan.from_dict(saved), entries, session_id=session.meta.id).nothing


def pick(store: SessionStore, sid: str | None) -> tuple[Session, str | None]:
    """The session to roll back, and a note when it is not the latest: ``sid``, else the
    latest session of the latest setup (same pattern and hosts) that changed something.
    A re-run that changed nothing is a session of its own; rolling it back would leave
    the setup as it is, so the session whose changes are on the hosts is picked."""
    if sid:
        return store.pick(sid), None
    latest = store.pick(None)
    if changed_something(latest):
        return latest, None
    for meta in store.list():
        if meta.id == latest.meta.id or meta.pattern != latest.meta.pattern:
            continue
        if meta.hosts != latest.meta.hosts:
            continue
        older = store.open(meta.id)
        if changed_something(older):
            return older, (
                f"the latest session {latest.meta.id} changed nothing (a re-run); rolling "
                f"back {older.meta.id}, the latest {meta.pattern} setup of these hosts that "
                "changed something"
            )
    return latest, None


def rollback(flow: Flow, prepared: Prepared, *, drop_databases: bool = False) -> RunResult:
    """Stop the nodes the session started, put back every file it changed (from its
    backups, newest first), and with ``drop_databases`` drop the databases the wizard
    created. A file changed on its host since the wizard wrote it is shown to
    ``hooks.confirm_drift`` first (no: nothing is changed). Resumable: run it again."""
    session = flow.session
    saved = session.load_plan()
    done = Plan.from_dict(saved) if saved else prepared.plan
    entries = session.journal.since_rollback()
    undo = undo_plan(done, entries, drop_databases=drop_databases, session_id=session.meta.id)
    if undo.nothing:
        if flow.hooks.on_note is not None:
            flow.hooks.on_note("nothing to roll back: the session changed nothing (since its "
                               "last rollback)")  # fmt: skip
        return RunResult(Summary(), "done", undo.plan)
    handlers = flow._load_handlers(s.kind for s in undo.plan.steps)
    with flow._runner(Prepared(prepared.answers, prepared.pattern, undo.plan)) as runner:
        runner.secrets.resolve_all(undo.plan)
        runner.verify_host_keys(accept_new=flow.accept_new_keys, confirm=flow.hooks.confirm_keys)
        drifted: list[Drift] = []

        def seen(e: Event) -> None:
            if e.state == "would-change" and DRIFTED in e.message:
                drifted.append(Drift(e.step.host, str(e.step.inputs["path"]), e.diff))

        runner.execute(
            handlers.result(),
            selected={s.id for s in undo.plan.steps if s.kind in ("restore_file", "remove_home")},
            check_mode=True,
            on_event=seen,
        )
        confirm = flow.hooks.confirm_drift
        if drifted and (confirm is None or not confirm(drifted)):
            raise DriftDeclined(
                f"{len(drifted)} file(s) changed on the hosts since this session wrote them; "
                "nothing was rolled back",
                fix="review the diffs; roll back where you can confirm overwriting them",
                exit_code=1,
            )
        session.save_meta(state="rolling-back")
        summary = runner.execute(
            handlers.result(), on_event=flow.hooks.on_event, executor_hook=flow._attach
        )
    if summary.failed or flow.cancelled:
        state = "failed" if summary.failed else "interrupted"
        session.save_meta(state=f"rollback-{state}")
        return RunResult(summary, "failed" if summary.failed else "interrupted", undo.plan)
    session.journal.append(Entry("rolledback", "rollback", message=summary.line()))
    session.save_meta(state="rolled-back")
    return RunResult(summary, "done", undo.plan)
