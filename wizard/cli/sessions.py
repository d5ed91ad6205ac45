"""``carbon-wizard sessions``: list, show and remove saved setups."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

from wizard.session import SessionMeta, SessionStore, sessions_root


def _store(args: argparse.Namespace) -> SessionStore:
    return SessionStore(sessions_root(getattr(args, "session_dir", None)))


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _row(store: SessionStore, m: SessionMeta) -> dict[str, object]:
    data: dict[str, object] = asdict(m)
    data["path"] = str(store.root / m.id)
    return data


def _list(args: argparse.Namespace) -> int:
    store = _store(args)
    metas = store.list()
    if args.json:
        print(json.dumps([_row(store, m) for m in metas], indent=2))
        return 0
    if not metas:
        print(f"No saved setups in {store.root}")
        return 0
    print(f"{'ID':<23} {'PATTERN':<20} {'STATE':<11} {'HOSTS':>5}  {'UPDATED':<16}  LAST STEP")
    for m in metas:
        print(
            f"{m.id:<23} {m.pattern:<20} {m.state:<11} {len(m.hosts):>5}  "
            f"{_when(m.updated):<16}  {m.last_step or '-'}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    store = _store(args)
    session = store.open(args.id)
    data = _row(store, session.meta)
    entries = list(session.journal.entries())
    data["journal_entries"] = len(entries)
    data["finished_steps"] = len(session.journal.finished())
    plan = session.load_plan()
    data["plan_steps"] = len(plan["steps"]) if plan else 0
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    for key in ("id", "pattern", "state", "path", "hosts", "plan_steps", "finished_steps"):
        print(f"{key:>15}: {data[key]}")
    print(f"{'created':>15}: {_when(session.meta.created)}")
    print(f"{'updated':>15}: {_when(session.meta.updated)}")
    for e in entries[-10:]:
        print(f"  {_when(e.ts)} {e.event:<8} {e.host:<12} {e.step} {e.outcome}")
    return 0


def _rm(args: argparse.Namespace) -> int:
    store = _store(args)
    store.remove(args.id)
    print(f"Removed session {args.id}")
    return 0


def _sessions_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_list)
    ssub = p.add_subparsers(dest="sessions_command", metavar="SUBCOMMAND")
    show = ssub.add_parser("show", help="details and recent journal of one session")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_show)
    rm = ssub.add_parser("rm", help="remove a saved session")
    rm.add_argument("id")
    rm.set_defaults(func=_rm)


# the command this module serves (declared in wizard.cli.COMMANDS) -> its arguments
PARSERS = {"sessions": _sessions_args}
