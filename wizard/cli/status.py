"""``carbon-wizard status [ID] [--json]``: the health of a saved setup, read-only.

Exit 0 when every node, the load balancer and every database are healthy, 1 otherwise.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from wizard.answers import read_answers
from wizard.errors import EXIT_OK, EXIT_STEP_FAILED
from wizard.flow import Flow, Hooks
from wizard.session import SessionStore, sessions_root


def _status(args: argparse.Namespace) -> int:
    store = SessionStore(sessions_root(getattr(args, "session_dir", None)))
    session = store.pick(args.id)
    tty = sys.stdin.isatty()

    def ask(field: str, label: str) -> str:
        return getpass.getpass(f"{label}: ")

    flow = Flow(session, Hooks(ask_secret=ask if tty else None))
    source = str(session.answers_path)
    health = flow.status(flow.prepare(read_answers(source), source=source, save=False))
    if args.json:
        print(json.dumps({"session": session.meta.id, **health.to_dict()}, indent=2))
    else:
        print(f"session {session.meta.id} ({session.meta.pattern})")
        sys.stdout.write(health.table())
    return EXIT_OK if health.healthy else EXIT_STEP_FAILED


def _status_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="session id (default: the latest)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_status)


# the command this module serves (declared in wizard.cli.COMMANDS) -> its arguments
PARSERS = {"status": _status_args}
