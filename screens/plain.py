"""``carbon-wizard --plain``: the same questions as the Textual wizard, from the same
definitions (``wizard.questions.draft``), asked line by line with questionary; then the same
review and run (``screens.jobs``) with a rich progress display."""

from __future__ import annotations

import argparse
from typing import Any

import questionary

from screens import jobs
from screens.plainrun import run_with_progress
from wizard.catalog import load_pattern, pattern_ids
from wizard.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_STEP_FAILED, WizardError
from wizard.flow import HostKeyStatus, unknown_keys_text
from wizard.flow.runmodel import replay_lines, urls
from wizard.lab.info import lab_status, summary
from wizard.questions.draft import FORM_PAGES, Draft, Page, Question, draft_from_yaml, new_draft
from wizard.questions.nodes import counts, ranged_roles
from wizard.secrets import redact
from wizard.session import Session, SessionStore, sessions_root
from wizard.topology import describe_roles, picture

RESUMABLE = ("new", "planned", "interrupted", "failed", "running")


class Quit(Exception):
    """The user pressed Ctrl-C or Ctrl-D at a question."""


def _ask(question: questionary.Question) -> Any:
    answer = question.ask()
    if answer is None:
        raise Quit
    return answer


def confirm_keys(statuses: list[HostKeyStatus]) -> bool:
    print(unknown_keys_text(statuses))
    return bool(
        _ask(questionary.confirm("Trust these keys and pin them in this session?", default=False))
    )


def ask_secret(field: str, label: str) -> str:
    return str(_ask(questionary.password(f"{label} ({field}):")))


def _question(draft: Draft, q: Question) -> None:
    current = draft.value(q.key)

    def validate(text: str) -> bool | str:
        if q.kind == "secret" and not text:
            return True  # keep the current answer
        draft.set(q.key, text)
        return draft.problem(q.key) or True

    if q.kind == "choice":
        draft.set(
            q.key,
            _ask(questionary.select(q.label, choices=list(q.choices), default=current or None)),
        )
    elif q.kind == "bool":
        draft.set(
            q.key, "yes" if _ask(questionary.confirm(q.label, default=current == "yes")) else "no"
        )
    elif q.kind == "secret":
        hint = f"Enter keeps {current}" if current else "env:NAME, file:PATH, prompt, or type it"
        _ask(questionary.password(f"{q.label} [{hint}]:", validate=validate))
    else:
        text = _ask(
            questionary.text(
                q.label, default=current, validate=validate, instruction=q.help or None
            )
        )
        draft.set(q.key, text)


def _nodes(draft: Draft, session: Session) -> None:
    """After the hosts questions: add nodes to a role while it can grow (each new node's
    questions come from the same hosts page), then offer to remove one."""
    pattern = draft.pattern
    for role in ranged_roles(pattern):
        spec = pattern.roles[role]
        while role in draft.growable_roles():
            have = counts(pattern, draft.data)[role]
            ask = f"Add another {role} node ({spec.label}; {have} of {spec.min}-{spec.max})?"
            if not _ask(questionary.confirm(ask, default=False)):
                break
            name = draft.add_node(role)
            session.save_answers(draft.yaml())
            print(f"Added {name}, a copy of the last {role} node: check its answers.")
            index = next(i for i, n in enumerate(draft.data["nodes"]) if n["name"] == name)
            for q in draft.page("hosts").questions:
                if q.key.startswith(f"nodes.{index}."):
                    _question(draft, q)
                    session.save_answers(draft.yaml())
    while draft.shrinkable_roles():
        shrink = draft.shrinkable_roles()
        names = [n["name"] for n in draft.data["nodes"] if n.get("role") in shrink]
        if not _ask(questionary.confirm(f"Remove a node ({', '.join(names)})?", default=False)):
            break
        name = _ask(questionary.select("Which node?", choices=names))
        draft.remove_node(name)
        session.save_answers(draft.yaml())
        print(f"Removed {name}.")


def _page(draft: Draft, page: Page, session: Session) -> None:
    print(f"\n== {page.title}: {page.intro}")
    while True:
        for q in page.questions:
            _question(draft, q)
            session.save_answers(draft.yaml())
        if page.id == "hosts" and ranged_roles(draft.pattern):
            _nodes(draft, session)
            page = draft.page(page.id)
        problems = draft.page_problems(page)
        if not problems:
            break
        print("\n".join(f"  ! {p}" for p in problems))
    if page.action == "test_db" and _ask(questionary.confirm("Test the database connection now?")):
        _check(lambda: jobs.test_db(draft, ask_secret))
    if page.action == "test_ssh" and _ask(questionary.confirm("Test SSH to every host now?")):
        _check(lambda: jobs.test_ssh(draft, session, confirm_keys, ask_secret))


def _check(fn: Any) -> None:
    try:
        print(redact(fn()))
    except WizardError as exc:
        print(f"error: {redact(exc.render())}")


def _start(store: SessionStore) -> tuple[Session, Draft, str]:
    metas = [m for m in store.list() if m.state in RESUMABLE][:3]
    choices = [questionary.Choice("New setup", value="new")]
    choices += [
        questionary.Choice(f"Resume {m.id}: {m.pattern}, at {m.screen or 'start'}", value=m.id)
        for m in metas
    ]
    choice = _ask(questionary.select("What now?", choices=choices)) if metas else "new"
    if choice != "new":
        session = store.open(choice)
        session.lock()
        text = session.answers_path.read_text() if session.answers_path.exists() else ""
        screen = session.meta.screen if session.meta.screen in FORM_PAGES else "review"
        return session, draft_from_yaml(text), screen
    status = lab_status(None)
    print(summary(status))
    patterns = {pid: load_pattern(pid) for pid in pattern_ids()}
    pid = _ask(
        questionary.select(
            "Deployment pattern:",
            choices=[questionary.Choice(f"{p.title} ({i})", value=i) for i, p in patterns.items()],
        )
    )
    print(picture(patterns[pid]))
    print("\n".join(describe_roles(patterns[pid])))
    lab_text = None
    path = ((status or {}).get("answers") or {}).get(pid) if (status or {}).get("healthy") else None
    if path and _ask(questionary.confirm("Prefill the answers from the local lab?", default=True)):
        with open(path, encoding="utf-8") as fh:
            lab_text = fh.read()
    session = store.create(pid)
    session.lock()
    return session, new_draft(pid, lab_text), "product"


def _wizard(session: Session, draft: Draft, screen: str) -> int:
    pages = [p for p in draft.pages() if p.id in FORM_PAGES]
    start = FORM_PAGES.index(screen) if screen in FORM_PAGES else len(pages)
    for page in pages[start:]:
        session.save_meta(screen=page.id)
        _page(draft, page, session)
    session.save_meta(screen="review")
    print("\n== Review (checking the hosts; nothing changes)")
    review = jobs.review(draft, session, confirm_keys, ask_secret)
    print(redact(review.text))
    print(f"file check: {review.summary.line() if review.summary else '-'}")
    if review.diffs and _ask(
        questionary.confirm(f"Show the {len(review.diffs)} file diffs?", default=False)
    ):
        for host, sid, diff in review.diffs:
            print(f"=== {host}: {sid}\n{redact(diff)}")
    steps, hosts = len(review.plan.steps), len(review.plan.hosts())
    if not _ask(questionary.confirm(f"Apply {steps} steps on {hosts} hosts?", default=False)):
        print(f"Not applied. Resume later with: carbon-wizard --plain (session {session.meta.id})")
        return EXIT_INTERRUPTED
    session.save_meta(screen="run")
    result = run_with_progress(draft, session, review.plan, confirm_keys, ask_secret)
    err = jobs.failure(result)
    if err is not None:
        print(f"error: {redact(err.render())}")
        print(f"resume with: carbon-wizard resume {session.meta.id}")
        return EXIT_STEP_FAILED
    if session.meta.state != "done":
        print(f"Stopped. Resume with: carbon-wizard resume {session.meta.id}")
        return EXIT_INTERRUPTED
    session.save_meta(screen="done")
    print("\nThe deployment is running. Open:")
    print("\n".join(f"  {u}" for u in urls(draft.data)))
    print("\n".join(replay_lines(str(session.path), session.meta.id)))
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    store = SessionStore(sessions_root(getattr(args, "session_dir", None)))
    session: Session | None = None
    try:
        session, draft, screen = _start(store)
        return _wizard(session, draft, screen)
    except Quit:
        where = f" (session {session.meta.id})" if session else ""
        print(f"Stopped{where}; run carbon-wizard --plain again to resume.")
        return EXIT_INTERRUPTED
    finally:
        if session is not None:
            session.unlock()
