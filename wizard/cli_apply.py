"""``carbon-wizard apply`` and ``resume``: run a plan headless or at a terminal.

Exit codes: 0 done, 1 a step failed, 2 bad input, 3 interrupted and resumable.
"""

from __future__ import annotations

import argparse
import getpass
import json
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from wizard.answers import load_answers
from wizard.catalog.model import Pattern
from wizard.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_STEP_FAILED, WizardError, bad_input
from wizard.executor import Event, Executor, Summary, select_steps
from wizard.plan import STEP_KINDS, Plan
from wizard.planner import plan as make_plan
from wizard.runner import Runner, unknown_keys_text
from wizard.secrets import redact
from wizard.session import Session, SessionStore, sessions_root
from wizard.steps import handlers as all_handlers

KIND_ALIASES: dict[str, tuple[str, ...]] = {
    "files": ("file_edit", "hosts_entry"),
    "db": ("database", "dbscript"),
    "databases": ("database", "dbscript"),
    "certs": ("certificate", "truststore"),
    "lb": ("load_balancer",),
    "nodes": ("start", "wait"),
}


def parse_kinds(spec: str | None, flag: str) -> list[str]:
    if not spec:
        return []
    kinds: list[str] = []
    for word in (w.strip() for w in spec.split(",")):
        if word in KIND_ALIASES:
            kinds.extend(KIND_ALIASES[word])
        elif word in STEP_KINDS:
            kinds.append(word)
        else:
            valid = ", ".join([*KIND_ALIASES, *STEP_KINDS])
            raise bad_input(f"unknown step kind {word!r} in {flag}", fix=f"use: {valid}")
    return kinds


def _ask(question: str) -> bool:
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _prompt_secret(field: str, label: str) -> str:
    return getpass.getpass(f"{label}: ")


class Printer:
    """Line-oriented progress (time, host, step), or JSON lines with --json."""

    def __init__(self, as_json: bool, show_diffs: bool) -> None:
        self.as_json = as_json
        self.show_diffs = show_diffs
        self._lock = threading.Lock()

    def _out(self, text: str) -> None:
        """One whole write per line: worker threads report at the same time."""
        with self._lock:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def __call__(self, e: Event) -> None:
        s = e.step
        if self.as_json:
            data: dict[str, Any] = {
                "ts": round(time.time(), 3),
                "host": s.host,
                "step": s.id,
                "kind": s.kind,
                "state": e.state,
                "message": e.message,
                "seconds": round(e.seconds, 3),
            }
            if e.diff and self.show_diffs:
                data["diff"] = e.diff
            if e.notes:
                data["notes"] = e.notes
            self._out(json.dumps(data))
            return
        if e.state == "running":
            return
        stamp = time.strftime("%H:%M:%S")
        line = f"{stamp} {s.host:<12} {e.state:<12} {s.id}"
        if e.message and e.state != "unchanged":
            line += f"  {e.message.splitlines()[0]}"
        if e.state == "failed" and "\n" in e.message:
            line += "\n" + "\n".join("    " + x for x in e.message.splitlines()[1:])
        if e.diff and self.show_diffs:
            line += "\n" + e.diff.rstrip("\n")
        for n in e.notes:
            line += f"\n    note: {n}"
        self._out(line)

    def note(self, text: str) -> None:
        if self.as_json:
            self._out(json.dumps({"ts": round(time.time(), 3), "note": text}))
        else:
            self._out(text)


def _store(args: argparse.Namespace) -> SessionStore:
    return SessionStore(sessions_root(getattr(args, "session_dir", None)))


def _apply(args: argparse.Namespace) -> int:
    answers_file = Path(args.answers)
    answers, pattern = load_answers(answers_file)
    plan = make_plan(answers, pattern)
    session = _store(args).create(pattern.id, hosts=plan.hosts())
    session.save_answers(answers_file.read_text(encoding="utf-8"))
    session.save_plan(plan.to_json())
    session.save_meta(state="planned")
    return _run(args, session, plan, answers, pattern, resume=False)


def _resume(args: argparse.Namespace) -> int:
    store = _store(args)
    session = store.open(args.id) if args.id else store.latest()
    if session is None:
        raise bad_input(
            f"there is no saved session in {store.root}",
            fix="start one with: carbon-wizard apply --answers FILE",
        )
    answers, pattern = load_answers(session.answers_path)
    plan = make_plan(answers, pattern)
    session.save_plan(plan.to_json())
    return _run(args, session, plan, answers, pattern, resume=True)


def _run(
    args: argparse.Namespace,
    session: Session,
    plan: Plan,
    answers: Any,
    pattern: Pattern,
    resume: bool,
) -> int:
    tty = sys.stdin.isatty()
    interactive = tty and not args.yes
    if not args.yes and not tty:
        raise bad_input("no terminal to confirm on", fix="add --yes to run headless")
    printer = Printer(args.json, show_diffs=args.check or args.diff)
    selected = select_steps(
        plan, only=parse_kinds(args.only, "--only"), skip=parse_kinds(args.skip, "--skip")
    )
    # the step modules (lxml, pymysql, cryptography...) load while the hosts are scanned
    loading = ThreadPoolExecutor(1, thread_name_prefix="cw-import")
    handlers_loaded = loading.submit(all_handlers)
    loading.shutdown(wait=False)
    with session:
        runner = Runner(
            answers,
            plan,
            session,
            prompter=_prompt_secret if tty else None,
            parallelism=args.parallelism,
        )
        if args.start_timeout:
            runner.resources["wait_timeout"] = args.start_timeout
        try:
            runner.secrets.resolve_all(plan)
            confirm = None
            if interactive:

                def confirm(statuses: list[Any]) -> bool:
                    print(unknown_keys_text(statuses))
                    return _ask("Trust these keys and pin them in this session?")

            runner.verify_host_keys(accept_new=args.accept_new_host_keys, confirm=confirm)
            plan = runner.survey(pattern)
            session.save_plan(plan.to_json())
            selected = select_steps(
                plan, only=parse_kinds(args.only, "--only"), skip=parse_kinds(args.skip, "--skip")
            )
            for host, notes in plan.notes.items():
                for n in notes:
                    printer.note(f"note: {host}: {n}")
            handlers = handlers_loaded.result()
            if resume:
                drift = runner.drifted(handlers)
                if drift:
                    for step, diff in drift:
                        printer.note(
                            f"drift: {step.host} {step.inputs.get('path')} changed "
                            "since the wizard wrote it"
                        )
                        if diff:
                            printer.note(redact(diff))
                    if not (interactive and _ask("Overwrite these changes?")):
                        raise WizardError(
                            f"{len(drift)} file(s) changed on the hosts since this session "
                            "wrote them",
                            fix="review the diffs above; resume at a terminal to "
                            "overwrite, or undo the changes",
                            exit_code=EXIT_STEP_FAILED,
                        )
            if interactive and not args.check:
                hosts = len(plan.hosts())
                if not _ask(f"Apply {len(selected)} steps on {hosts} hosts?"):
                    return EXIT_INTERRUPTED
            if not args.check:
                session.save_meta(state="running")
            summary, cancelled = _execute(runner, handlers, selected, args.check, printer)
        finally:
            runner.close()
        state = "failed" if summary.failed else "interrupted" if cancelled else "done"
        if not args.check:
            last = session.journal.last()
            session.save_meta(state=state, last_step=last.step if last else "")
    printer.note(
        f"{'check' if args.check else state}: {summary.line()} (session {session.meta.id})"
    )
    if summary.failed:
        printer.note(f"resume with: carbon-wizard resume {session.meta.id}")
        return EXIT_STEP_FAILED
    return EXIT_INTERRUPTED if cancelled else EXIT_OK


def _execute(
    runner: Runner, handlers: dict[str, Any], selected: set[str], check: bool, printer: Printer
) -> tuple[Summary, bool]:
    holder: dict[str, Executor] = {}
    cancelled = {"yes": False}

    def on_signal(signum: int, frame: object) -> None:
        cancelled["yes"] = True
        printer.note("stopping after the steps under way (resume later)...")
        if "ex" in holder:
            holder["ex"].cancel()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        summary = runner.execute(
            handlers,
            selected=selected,
            check_mode=check,
            on_event=printer,
            executor_hook=lambda ex: holder.setdefault("ex", ex),
        )
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    return summary, cancelled["yes"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yes", action="store_true", help="no questions (headless)")
    p.add_argument("--check", action="store_true", help="show what would change, change nothing")
    p.add_argument("--diff", action="store_true", help="show file diffs as steps run")
    p.add_argument(
        "--only", metavar="KIND[,KIND]", help="run only these step kinds (files, db, ...)"
    )
    p.add_argument("--skip", metavar="KIND[,KIND]", help="skip these step kinds")
    p.add_argument("--json", action="store_true", help="progress as JSON lines")
    p.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="pin host keys seen for the first time (never a changed one)",
    )
    p.add_argument("--parallelism", type=int, default=8, help="hosts worked at once (default 8)")
    p.add_argument("--start-timeout", type=float, help="seconds each node may take to be ready")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("apply", help="apply a plan to the hosts and the database server")
    p.add_argument("--answers", required=True, help="answers file (YAML)")
    _common(p)
    p.set_defaults(func=_apply)
    r = sub.add_parser("resume", help="continue an interrupted session")
    r.add_argument("id", nargs="?", help="session id (default: the latest)")
    _common(r)
    r.set_defaults(func=_resume)
