"""Blocking work for both front ends (run it in a worker thread): test the database, test
SSH, review (plan + a --check run of the file steps) and run, in the order of
``wizard.cli_apply``. No UI imports: callbacks ask questions and report progress."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wizard.answers import Answers, parse_answers
from wizard.catalog.model import Pattern
from wizard.connectors.hostkeys import (
    CHANGED,
    UNKNOWN,
    UNREACHABLE,
    HostKeyStatus,
    HostKeyStore,
    changed_error,
    pin,
    scan_host_keys,
)
from wizard.connectors.mysql import MySQL
from wizard.connectors.pool import open_transport
from wizard.errors import EXIT_STEP_FAILED, WizardError
from wizard.executor import Event, Executor, Summary, select_steps
from wizard.plan import Plan, Step
from wizard.planner import plan as make_plan
from wizard.questions import Draft
from wizard.runner import Runner, Secrets, host_targets
from wizard.secrets import redact, resolve
from wizard.session import Session
from wizard.steps import handlers as all_handlers
from wizard.steps.nodes import KEEP_WAITING

Ask = Callable[[str, str], str]  # (answer path, label) -> secret value
Confirm = Callable[[list[HostKeyStatus]], bool]
REVIEW_KINDS = ("file_edit", "hosts_entry")
# Answers, plan and meta saved together (the app's autosave, the review) are one group at
# a time, so they always belong together; a single save is safe alone (wizard.session).
SESSION_WRITES = threading.RLock()
_TLS = {"disabled": "off", "preferred": "preferred", "required": "required"}


def validated(draft: Draft) -> tuple[Answers, Pattern]:
    return parse_answers(draft.yaml(), "answers")


def test_db(draft: Draft, ask: Ask | None = None) -> str:
    """Connect as the DB admin and check its privileges; a line for the user."""
    db = draft.data.get("db") or {}
    ref = str(db.get("admin_password") or "")
    password = resolve(ref, "db.admin_password", draft.prompter(ask))
    tls = (db.get("tls") or {}).get("mode", "disabled")
    host, alias, ip = db.get("host"), db.get("host_alias"), db.get("ip")
    # the rule of context.connect_host: a host that is the alias only the nodes' hosts
    # files know is reached at db.ip from here
    conn = MySQL(
        str(ip if ip and alias and host == alias else host),
        int(db.get("port") or 3306),
        str(db.get("admin_user") or "root"),
        password,
        tls=_TLS.get(tls, "verify-identity"),  # type: ignore[arg-type]
        ca=(db.get("tls") or {}).get("ca"),
        connect_timeout=5,
    )
    with conn:
        server = conn.preflight()
    return f"Connected to {server} at {conn.host}:{conn.port} as {conn.user}: privileges OK"


def test_ssh(draft: Draft, session: Session, confirm: Confirm, ask: Ask | None = None) -> str:
    """Scan every host key at once (new ones confirmed in one batch and pinned in the
    session), then log in to each host and run a command. A line per host."""
    answers, _ = validated(draft)
    targets = list(host_targets(answers, Secrets(answers, draft.prompter(ask))).values())
    store = HostKeyStore(session.known_hosts, user_file="~/.ssh/known_hosts")
    statuses = scan_host_keys(targets, store)
    for s in statuses:
        if s.state == CHANGED:
            raise changed_error(s)
    unknown = [s for s in statuses if s.state == UNKNOWN]
    lines: list[str] = []
    if unknown:
        if not confirm(unknown):
            return "New host keys were not trusted; nothing was pinned."
        pinned = pin(unknown, store)
        lines.append(f"Pinned {len(pinned)} new host key(s) in the session.")
    down = {s.name: s.error for s in statuses if s.state == UNREACHABLE}
    for t in targets:
        if t.name in down:
            lines.append(f"{t.name:<10} {t.endpoint}: unreachable ({down[t.name]})")
            continue
        try:
            transport = open_transport(t, store)
            try:
                transport.run(["true"], timeout=10).check("a test command", host=t.name)
            finally:
                transport.close()
            lines.append(f"{t.name:<10} {t.endpoint}: OK")
        except WizardError as exc:
            lines.append(f"{t.name:<10} {t.endpoint}: {exc.what}")
    return "\n".join(lines)


@dataclass
class Review:
    plan: Plan
    text: str
    diffs: list[tuple[str, str, str]] = field(default_factory=list)  # host, step id, diff
    summary: Summary | None = None


def _runner(draft: Draft, session: Session, ask: Ask | None, plan: Plan, answers: Any) -> Runner:
    return Runner(answers, plan, session, prompter=draft.prompter(ask))


def prepare(draft: Draft, session: Session) -> tuple[Answers, Pattern, Plan]:
    """Validate, plan, and save answers and plan into the session (like ``apply``)."""
    answers, pattern = validated(draft)
    plan = make_plan(answers, pattern)
    with SESSION_WRITES:
        session.save_answers(draft.yaml())
        session.save_plan(plan.to_json())
        session.save_meta(state="planned", pattern=pattern.id, hosts=plan.hosts())
    return answers, pattern, plan


def _survey(runner: Runner, pattern: Pattern, session: Session) -> Plan:
    """The plan made against what the homes hold (read once the host keys are trusted)."""
    plan = runner.survey(pattern)
    with SESSION_WRITES:
        session.save_plan(plan.to_json())
    return plan


def review(draft: Draft, session: Session, confirm: Confirm, ask: Ask | None = None) -> Review:
    """The plan grouped by host, and the file diffs of a --check run (changes nothing)."""
    answers, pattern, plan = prepare(draft, session)
    runner = _runner(draft, session, ask, plan, answers)
    diffs: list[tuple[str, str, str]] = []
    notes: list[str] = []

    def collect(e: Event) -> None:
        if e.diff and e.state in ("would-change", "changed"):
            diffs.append((e.step.host, e.step.id, e.diff))
        notes.extend(f"  note: {e.step.host} {e.step.inputs.get('file', '')}: {n}" for n in e.notes)

    try:
        runner.secrets.resolve_all(plan)
        runner.verify_host_keys(confirm=confirm)
        plan = _survey(runner, pattern, session)
        summary = runner.execute(
            all_handlers(),
            selected=select_steps(plan, only=REVIEW_KINDS),
            check_mode=True,
            on_event=collect,
        )
    finally:
        runner.close()
    text = plan.render_text()
    if notes:
        text += "\nFound on the hosts and left as is:\n" + "\n".join(notes) + "\n"
    return Review(plan, text, diffs, summary)


@dataclass
class Drift:
    """A file the session wrote that changed on its host since (diff masked)."""

    host: str
    path: str
    diff: str


class DriftDeclined(WizardError):
    """The user chose not to overwrite files changed on the hosts: nothing was written."""


ConfirmDrift = Callable[[list[Drift]], bool]
KeepWaiting = Callable[[Step, float, str], bool]  # (wait step, seconds, why) -> again?


def drifted(runner: Runner) -> list[Drift]:
    """Finished file steps whose file changed on the host since this session wrote it."""
    return [
        Drift(step.host, str(step.inputs.get("path") or step.id), redact(diff))
        for step, diff in runner.drifted(all_handlers())
    ]


def run(
    draft: Draft,
    session: Session,
    confirm: Confirm,
    on_event: Callable[[Event], None],
    executor_hook: Callable[[Executor], None],
    ask: Ask | None = None,
    *,
    confirm_drift: ConfirmDrift | None = None,
    keep_waiting: KeepWaiting | None = None,
    start_timeout: float | None = None,
) -> Summary:
    """Apply the whole plan; the session's state and last step are kept up to date.

    On a resumed session, files changed on the hosts since the session wrote them are
    shown to ``confirm_drift`` first: no raises :class:`DriftDeclined` before any write.
    ``keep_waiting`` is asked when a node is alive but not ready at its start deadline.
    """
    answers, pattern, plan = prepare(draft, session)
    runner = _runner(draft, session, ask, plan, answers)
    if start_timeout:
        runner.resources["wait_timeout"] = start_timeout
    if keep_waiting is not None:
        runner.resources[KEEP_WAITING] = keep_waiting
    summary = Summary()
    cancelled = {"yes": False}

    def hook(ex: Executor) -> None:
        original = ex.cancel

        def cancel() -> None:
            cancelled["yes"] = True
            original()

        ex.cancel = cancel  # type: ignore[method-assign]
        executor_hook(ex)

    try:
        runner.secrets.resolve_all(plan)
        runner.verify_host_keys(confirm=confirm)
        _survey(runner, pattern, session)
        drift = drifted(runner) if confirm_drift is not None else []
        if drift and not confirm_drift(drift):  # type: ignore[misc]
            raise DriftDeclined(
                f"{len(drift)} file(s) changed on the hosts since this session wrote them; "
                "nothing was written",
                fix="undo the changes on the hosts, or run again and overwrite them",
            )
        session.save_meta(state="running")
        summary = runner.execute(all_handlers(), on_event=on_event, executor_hook=hook)
    except DriftDeclined:
        raise  # nothing was written on the hosts; the session is not failed
    except WizardError:
        session.save_meta(state="failed")
        raise
    finally:
        runner.close()
    state = "failed" if summary.failed else "interrupted" if cancelled["yes"] else "done"
    last = session.journal.last()
    session.save_meta(state=state, last_step=last.step if last else "")
    return summary


def failure(summary: Summary) -> WizardError | None:
    if not summary.failed:
        return None
    first = summary.errors[0] if summary.errors else None
    return WizardError(
        f"{summary.failed} step(s) failed" + (f": {first.what}" if first else ""),
        first.where if first else None,
        first.fix if first and first.fix else "fix the cause and resume",
        EXIT_STEP_FAILED,
    )
