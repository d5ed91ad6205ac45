"""``carbon-wizard export ansible --answers F -o DIR``: the plan as an Ansible project.

Like ``plan``, the export reads the homes and the database server (read-only) and plans
against what is there, unless ``--offline`` (stock homes assumed). Either way the
playbook's first play reads them again and stops before any change when the plan would
now be another one. See wizard/ansible_export/.
"""

from __future__ import annotations

import argparse
import getpass
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from wizard.answers import Answers, parse_answers, read_answers
from wizard.catalog.model import Pattern
from wizard.plan import Plan
from wizard.planning.build import plan as make_plan


def _online(
    answers: Answers, pattern: Pattern, plan: Plan, accept_new: bool
) -> tuple[Plan, list[str]]:
    """The plan made against the homes and the DB server, and the host keys verified."""
    from wizard.runner import Runner
    from wizard.session import SessionStore

    root = Path(tempfile.mkdtemp(prefix="carbon-wizard-export-"))
    prompter = None
    if sys.stdin.isatty():

        def prompter(field: str, label: str) -> str:
            return getpass.getpass(f"{label}: ")

    try:
        session = SessionStore(root).create(plan.pattern, hosts=plan.hosts())
        runner = Runner(answers, plan, session, prompter=prompter)
        try:
            runner.verify_host_keys(accept_new=accept_new)
            result = runner.survey(pattern)
            lines = []
            if session.known_hosts.exists():
                lines = [
                    ln
                    for ln in session.known_hosts.read_text().splitlines()
                    if ln.strip() and not ln.startswith("#")
                ]
            return result, lines
        finally:
            runner.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _export_ansible(args: argparse.Namespace) -> int:
    from wizard.ansible_export import project

    out = Path(args.output).expanduser().absolute()
    project.check_target(out, args.force)
    text = read_answers(args.answers)
    answers, pattern = parse_answers(text, str(args.answers))
    plan = make_plan(answers, pattern)
    known: list[str] = []
    if not args.offline:
        plan, known = _online(answers, pattern, plan, args.accept_new_host_keys)
    if (
        any(s.kind == "sync_script" for s in plan.steps)
        and not known
        and not any(
            n.ssh.host_key and not n.ssh.host_key.startswith("SHA256:") for n in answers.nodes
        )
    ):
        print("note: the sync script pins the workers' host keys: the controller's "
              "~/.ssh/known_hosts must hold them", file=sys.stderr)  # fmt: skip
    info = {
        "id": "ansible-" + time.strftime("%Y%m%d-%H%M%S"),
        "pattern": pattern.id,
        "planned": "offline (stock homes assumed)" if args.offline else "against the homes",
        "dir": str(out),
        "steps": len(plan.steps),
    }
    header = f"# carbon-wizard answers of export {info['id']} (secrets are references)\n"
    written = project.write(
        out,
        answers_text=header + text,
        answers=answers,
        pattern=pattern,
        plan=plan,
        info=info,
        extra_known_hosts=known,
        force=args.force,
    )
    if args.json:
        print(json.dumps({**info, "files": [str(p.relative_to(out)) for p in written]}))
    else:
        print(f"Wrote an Ansible project for {pattern.id} ({len(plan.steps)} steps) to {out}")
        print(f"Run it with: cd {out} && ansible-playbook site.yml")
    return 0


def _export_args(e: argparse.ArgumentParser) -> None:
    esub = e.add_subparsers(dest="export_command", metavar="ENGINE", required=True)
    a = esub.add_parser(
        "ansible",
        help="write an Ansible project (inventory, group/host vars, site.yml, an action plugin "
        "running the wizard's own steps)",
        description="Write a self-contained Ansible project that runs the plan of these "
        "answers step by step through the wizard's own step handlers (an action plugin on "
        "the controller): the same files as 'carbon-wizard apply', check mode and --diff, "
        "tags per step kind. Secrets stay references (lookups, vars_prompt).",
    )
    a.add_argument("--answers", required=True, help="answers YAML file")
    a.add_argument("-o", "--output", required=True, metavar="DIR", help="the project directory")
    a.add_argument(
        "--offline",
        action="store_true",
        help="plan without reading the homes and the database server (stock homes assumed; "
        "the playbook still checks the plan against the homes before any change)",
    )
    a.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="trust host keys seen for the first time (they go into the project's known_hosts)",
    )
    a.add_argument("--force", action="store_true", help="replace an earlier export in DIR")
    a.add_argument("--json", action="store_true", help="print what was written as JSON")
    a.set_defaults(func=_export_ansible)


# the command this module serves (declared in wizard.cli.COMMANDS) -> its arguments
PARSERS = {"export": _export_args}
