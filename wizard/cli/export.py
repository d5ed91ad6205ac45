"""``carbon-wizard answers export ID``: a session's answers as a file that replays it.

The session keeps the answers exactly as the admin gave them (secrets are references:
``env:``, ``file:``, ``prompt``), so the export is that text, validated again, under a
header naming the session. ``apply --answers <export>`` then makes the same plan, byte
for byte. Registered under the ``answers`` command by :mod:`wizard.cli.plan`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.errors import bad_input

if TYPE_CHECKING:  # the answers model and the planner load when an export runs
    from wizard.session import Session, SessionStore


def _store(args: argparse.Namespace) -> SessionStore:
    from wizard.session import SessionStore, sessions_root

    return SessionStore(sessions_root(getattr(args, "session_dir", None)))


def relative_file_refs(text: str) -> list[str]:
    """``file:`` references that depend on the directory the wizard was started in."""
    out = []
    for line in text.splitlines():
        _, sep, ref = line.partition("file:")
        ref = ref.strip().strip("'\"")
        if sep and ref and not ref.startswith(("/", "~")):
            out.append(ref)
    return out


def export_answers(session: Session) -> tuple[str, list[str]]:
    """(answers YAML to replay ``session``, notes for the admin).

    Raises a WizardError when the session has no answers or they no longer validate.
    """
    from wizard.answers import parse_answers
    from wizard.planning.build import plan as make_plan

    path = session.answers_path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise bad_input(
            f"session {session.meta.id} has no answers file: {exc.strerror}",
            fix="this session cannot be exported; start a new one with apply --answers FILE",
            file=str(path),
        ) from exc
    answers, pattern = parse_answers(text, str(path))  # references only, or it fails here
    notes: list[str] = []
    saved = session.load_plan()
    if saved is not None and json.loads(make_plan(answers, pattern).to_json()) != saved:
        notes.append(
            "the session's answers were edited after its last run; the export holds the "
            "edited answers (resume the session to apply them)"
        )
    relative = relative_file_refs(text)
    if relative:
        notes.append(
            "relative secret file references (" + ", ".join(relative) + ") are read from "
            "the directory the wizard runs in"
        )
    header = (
        f"# carbon-wizard answers exported from session {session.meta.id} "
        f"(pattern {session.meta.pattern}, state {session.meta.state}).\n"
        "# Secrets are references (env:, file:, prompt); replay with:\n"
        "#   carbon-wizard apply --answers THIS_FILE\n"
    )
    return header + text, notes


def _write_new(path: Path, text: str, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise bad_input(
            f"{path} already exists", fix="choose another file, or add --force to replace it"
        ) from None
    except OSError as exc:
        raise bad_input(f"cannot write {path}: {exc.strerror}", fix="check the path") from exc
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def _export(args: argparse.Namespace) -> int:
    store = _store(args)
    session = store.pick(args.id)
    text, notes = export_answers(session)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.output:
        _write_new(Path(args.output), text, args.force)
        print(f"Wrote the answers of session {session.meta.id} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register_export(answers_sub: argparse._SubParsersAction) -> None:
    """Add ``export`` under the ``answers`` command's subcommands."""
    x = answers_sub.add_parser(
        "export", help="print a session's answers (secrets stay references) to replay it"
    )
    x.add_argument("id", nargs="?", help="session id (default: the latest)")
    x.add_argument("-o", "--output", help="write to this file (mode 0600) instead of stdout")
    x.add_argument("--force", action="store_true", help="replace --output if it exists")
    x.set_defaults(func=_export)
