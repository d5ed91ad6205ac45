"""Commands of later milestones, present so that --help is complete.

They say plainly that they are not available yet and exit non-zero; none pretends to work.
"""

from __future__ import annotations

import argparse

from wizard.errors import WizardError

_PENDING = {
    "apply": "apply a plan to the hosts and databases",
    "resume": "continue an interrupted session",
}


def _not_yet(args: argparse.Namespace) -> int:
    raise WizardError(
        f"'carbon-wizard {args.command}' is not yet available in this version",
        fix="use 'carbon-wizard plan --answers F --offline' to review what it will do",
        exit_code=1,
    )


def register(sub: argparse._SubParsersAction) -> None:
    for name, help_text in _PENDING.items():
        p = sub.add_parser(name, help=f"{help_text} (not yet available)")
        p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        p.set_defaults(func=_not_yet)
