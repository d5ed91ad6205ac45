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
from pathlib import Path
from typing import Any

from wizard.answers import Answers, parse_answers, read_answers
from wizard.catalog.model import Pattern
from wizard.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_STEP_FAILED, bad_input
from wizard.executor import Event
from wizard.flow import Drift, Flow, Hooks
from wizard.flow.preflight import CHECKS
from wizard.plan import KIND_GROUPS, STEP_KINDS, Plan
from wizard.runner import unknown_keys_text
from wizard.session import Session, SessionStore, sessions_root


def parse_kinds(spec: str | None, flag: str) -> list[str]:
    if not spec:
        return []
    kinds: list[str] = []
    for word in (w.strip() for w in spec.split(",")):
        if word in KIND_GROUPS:
            kinds.extend(KIND_GROUPS[word])
        elif word in STEP_KINDS:
            kinds.append(word)
        else:
            valid = ", ".join([*KIND_GROUPS, *STEP_KINDS])
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
        """One whole write per line: worker threads report at the same time. The flush
        (a system call, which gives up the GIL) is made with no lock of ours held."""
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
    source = str(Path(args.answers))
    text = read_answers(source)
    parsed = parse_answers(text, source)  # bad input stops before a session exists
    session = _store(args).create(parsed[1].id)
    return _run(args, session, text, source, parsed)


def _resume(args: argparse.Namespace) -> int:
    store = _store(args)
    session = store.pick(args.id)
    source = str(session.answers_path)
    return _run(args, session, read_answers(source), source)


def _ignored(values: list[str]) -> set[str]:
    names = {w.strip() for v in values for w in v.split(",") if w.strip()}
    unknown = sorted(names - set(CHECKS))
    if unknown:
        raise bad_input(
            f"unknown preflight check(s): {', '.join(unknown)}", fix=f"use: {', '.join(CHECKS)}"
        )
    return names


def _rollback(args: argparse.Namespace) -> int:
    from wizard.flow.rollback import pick as pick_rollback

    session, picked = pick_rollback(_store(args), args.id)
    tty = sys.stdin.isatty()
    interactive = tty and not args.yes
    if not args.yes and not tty:
        raise bad_input("no terminal to confirm on", fix="add --yes to roll back headless")
    printer = Printer(args.json, show_diffs=True)
    hooks = _hooks(printer, interactive, tty)
    if picked:
        printer.note(picked)
    flow = Flow(session, hooks, accept_new_keys=args.accept_new_host_keys)
    source = str(session.answers_path)
    with session:
        prepared = flow.prepare(read_answers(source), source=source, save=False)
        if interactive and not _ask(
            f"Roll back session {session.meta.id}"
            + (" and drop the databases the wizard created" if args.drop_databases else "")
            + "?"
        ):
            return EXIT_INTERRUPTED
        result = flow.rollback(prepared, drop_databases=args.drop_databases)
    printer.note(f"rollback {result.state}: {result.summary.line()} (session {session.meta.id})")
    if result.summary.failed:
        printer.note(f"resume the rollback with: carbon-wizard rollback {session.meta.id}")
        return EXIT_STEP_FAILED
    return EXIT_INTERRUPTED if result.state == "interrupted" else EXIT_OK


def _hooks(printer: Printer, interactive: bool, tty: bool) -> Hooks:
    def confirm_keys(statuses: list[Any]) -> bool:
        print(unknown_keys_text(statuses))
        return _ask("Trust these keys and pin them in this session?")

    def confirm_drift(drift: list[Drift]) -> bool:
        for d in drift:
            printer.note(f"drift: {d.host} {d.path} changed since the wizard wrote it")
            if d.diff:
                printer.note(d.diff)
        return interactive and _ask("Overwrite these changes?")

    def confirm_apply(plan: Plan, selected: set[str]) -> bool:
        return _ask(f"Apply {len(selected)} steps on {len(plan.hosts())} hosts?")

    return Hooks(
        confirm_keys=confirm_keys if interactive else None,
        confirm_drift=confirm_drift,
        confirm_apply=confirm_apply if interactive else None,
        ask_secret=_prompt_secret if tty else None,
        on_event=printer,
        on_note=printer.note,
    )


def _run(
    args: argparse.Namespace,
    session: Session,
    text: str,
    source: str,
    parsed: tuple[Answers, Pattern] | None = None,
) -> int:
    tty = sys.stdin.isatty()
    interactive = tty and not args.yes
    if not args.yes and not tty and not args.check:  # --check changes nothing: no consent
        raise bad_input("no terminal to confirm on", fix="add --yes to run headless")
    printer = Printer(args.json, show_diffs=args.check or args.diff)
    only, skip = parse_kinds(args.only, "--only"), parse_kinds(args.skip, "--skip")
    flow = Flow(
        session,
        _hooks(printer, interactive, tty),
        parallelism=args.parallelism,
        accept_new_keys=args.accept_new_host_keys,
        start_timeout=args.start_timeout,
        ignore_preflight=_ignored(args.ignore_preflight),
    )

    def on_signal(signum: int, frame: object) -> None:
        printer.note("stopping after the steps under way (resume later)...")
        flow.cancel()

    with session:
        prepared = flow.prepare(text, source=source, parsed=parsed, connect=True)
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            result = flow.run(prepared, check=args.check, only=only, skip=skip)
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
    if result.state == "declined":
        return EXIT_INTERRUPTED
    summary = result.summary
    printer.note(f"{'check' if args.check else result.state}: {summary.line()} "
                 f"(session {session.meta.id})")  # fmt: skip
    if summary.failed:
        printer.note(f"resume with: carbon-wizard resume {session.meta.id}")
        return EXIT_STEP_FAILED
    return EXIT_INTERRUPTED if result.state == "interrupted" else EXIT_OK


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
    p.add_argument(
        "--ignore-preflight",
        action="append",
        default=[],
        metavar="CHECK[,CHECK]",
        help=f"waive a preflight check ({', '.join(CHECKS)})",
    )


def _apply_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--answers", required=True, help="answers file (YAML)")
    _common(p)
    p.set_defaults(func=_apply)


def _resume_args(r: argparse.ArgumentParser) -> None:
    r.add_argument("id", nargs="?", help="session id (default: the latest)")
    _common(r)
    r.set_defaults(func=_resume)


def _rollback_args(rb: argparse.ArgumentParser) -> None:
    rb.add_argument("id", nargs="?", help="session id (default: the latest)")
    rb.add_argument("--yes", action="store_true", help="no questions (headless)")
    rb.add_argument(
        "--drop-databases",
        action="store_true",
        help="also drop the databases the wizard created (never others)",
    )
    rb.add_argument("--json", action="store_true", help="progress as JSON lines")
    rb.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="pin host keys seen for the first time (never a changed one)",
    )
    rb.set_defaults(func=_rollback)


# the commands this module serves (declared in wizard.cli.COMMANDS) -> their arguments
PARSERS = {"apply": _apply_args, "resume": _resume_args, "rollback": _rollback_args}
