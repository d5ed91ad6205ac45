"""The front ends' calls into the application layer (:mod:`wizard.flow`), run in worker
threads: test the database, test SSH, review and run. Thin on purpose: everything between
the answers and the hosts happens in the Flow, once, for the CLI and both wizards."""

from __future__ import annotations

from collections.abc import Callable

from wizard.answers import Answers, parse_answers
from wizard.catalog.model import Pattern
from wizard.flow import (
    SESSION_WRITES,
    Drift,
    DriftDeclined,
    Event,
    Flow,
    Hooks,
    HostKeyStatus,
    Review,
    RunResult,
    Status,
    Summary,
    check_database,
    check_hosts,
    failure,
)
from wizard.plan import Step
from wizard.questions.draft import Draft
from wizard.session import Session

__all__ = [
    "SESSION_WRITES",
    "Drift",
    "DriftDeclined",
    "Review",
    "failure",
    "review",
    "rollback",
    "rollback_line",
    "run",
    "status",
    "test_db",
    "test_ssh",
    "validated",
]

Ask = Callable[[str, str], str]  # (answer path, label) -> secret value
Confirm = Callable[[list[HostKeyStatus]], bool]
ConfirmDrift = Callable[[list[Drift]], bool]
KeepWaiting = Callable[[Step, float, str], bool]  # (wait step, seconds, why) -> again?


def validated(draft: Draft) -> tuple[Answers, Pattern]:
    return parse_answers(draft.yaml(), "answers")


def test_db(draft: Draft, ask: Ask | None = None) -> str:
    """Connect as the DB admin and check its privileges; a line for the user."""
    return check_database(draft.data.get("db") or {}, draft.prompter(ask))


def test_ssh(draft: Draft, session: Session, confirm: Confirm, ask: Ask | None = None) -> str:
    """Host keys (new ones confirmed in one batch and pinned in the session), then a login
    to each host. A line per host."""
    answers, _ = validated(draft)
    return check_hosts(answers, session.known_hosts, confirm, draft.prompter(ask))


def review(draft: Draft, session: Session, confirm: Confirm, ask: Ask | None = None) -> Review:
    """The plan grouped by host, and the file diffs of a --check run (changes nothing)."""
    flow = Flow(session, Hooks(confirm_keys=confirm, ask_secret=draft.prompter(ask)))
    return flow.review(flow.prepare(draft.yaml()))


def status(session: Session, confirm: Confirm, ask: Ask | None = None) -> Status:
    """The health of a saved setup now (read-only)."""
    flow = Flow(session, Hooks(confirm_keys=confirm, ask_secret=ask))
    answers = session.answers_path.read_text(encoding="utf-8")
    return flow.status(flow.prepare(answers, source=str(session.answers_path), save=False))


def run(
    draft: Draft,
    session: Session,
    confirm: Confirm,
    on_event: Callable[[Event], None],
    executor_hook: Callable[[Flow], None],
    ask: Ask | None = None,
    *,
    confirm_drift: ConfirmDrift | None = None,
    keep_waiting: KeepWaiting | None = None,
    start_timeout: float | None = None,
) -> Summary:
    """Apply the whole plan; the session's state and last step are kept up to date.
    ``executor_hook`` gets the Flow (its ``cancel()`` stops after the steps under way).

    On a resumed session, files changed on the hosts since the session wrote them are
    shown to ``confirm_drift`` first: no raises :class:`DriftDeclined` before any write.
    ``keep_waiting`` is asked when a node is alive but not ready at its start deadline.
    """
    hooks = Hooks(
        confirm_keys=confirm,
        confirm_drift=confirm_drift,
        keep_waiting=keep_waiting,
        ask_secret=draft.prompter(ask),
        on_event=on_event,
    )
    flow = Flow(session, hooks, start_timeout=start_timeout)
    executor_hook(flow)
    return flow.run(flow.prepare(draft.yaml())).summary


def rollback(
    session: Session,
    confirm: Confirm,
    on_event: Callable[[Event], None],
    executor_hook: Callable[[Flow], None],
    ask: Ask | None = None,
    *,
    confirm_drift: ConfirmDrift | None = None,
    on_note: Callable[[str], None] | None = None,
    drop_databases: bool = False,
) -> RunResult:
    """Put back what a saved setup changed (``carbon-wizard rollback``), holding the
    session. Files changed since the session wrote them go to ``confirm_drift`` first: no
    raises :class:`DriftDeclined`, nothing changed."""
    hooks = Hooks(
        confirm_keys=confirm,
        confirm_drift=confirm_drift,
        ask_secret=ask,
        on_event=on_event,
        on_note=on_note,
    )
    flow = Flow(session, hooks)
    executor_hook(flow)
    source = str(session.answers_path)
    with session:
        prepared = flow.prepare(session.answers_path.read_text(encoding="utf-8"),
                                source=source, save=False)  # fmt: skip
        return flow.rollback(prepared, drop_databases=drop_databases)


def rollback_line(result: RunResult, session_id: str) -> str:
    """The CLI's last line of a rollback."""
    return f"rollback {result.state}: {result.summary.line()} (session {session_id})"
