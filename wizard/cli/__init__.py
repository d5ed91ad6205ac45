"""The ``carbon-wizard`` command line.

Each command group lives in its own module with a ``register(subparsers)`` function
that adds its parser and sets ``func`` (a callable taking the parsed namespace and
returning an exit code). The front ends (Textual, questionary) are imported lazily,
only when asked for, so the engine never depends on them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from wizard import __version__
from wizard.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, WizardError
from wizard.secrets import redact

# Modules that add command groups; each has register(subparsers).
COMMAND_MODULES = (
    "wizard.cli.lab",
    "wizard.cli.plan",
    "wizard.cli.sessions",
    "wizard.cli.apply",
    "wizard.cli.status",
    "wizard.cli.export_ansible",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carbon-wizard",
        description="Set up clustered WSO2 Carbon deployments (API Manager, Key Manager, "
        "Open Banking) from bare hosts. With no command, opens the wizard.",
    )
    parser.add_argument("--version", action="version", version=f"carbon-wizard {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--plain", action="store_true", help="ask the questions line by line (no full-screen UI)"
    )
    parser.add_argument(
        "--session-dir", help="where sessions are kept (or CARBON_WIZARD_SESSION_DIR)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    parser.set_defaults(func=_open_wizard)
    return parser


def _open_wizard(args: argparse.Namespace) -> int:
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise WizardError(
            "the wizard needs a terminal",
            fix="run it in a terminal, or replay an answers file: carbon-wizard apply --answers F --yes",
        )
    if args.plain:
        front = importlib.import_module("screens.plain")
    else:
        front = importlib.import_module("screens.app")
    return int(front.run(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except WizardError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {redact(exc.render())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `carbon-wizard plan ... | head`
        sys.stderr.close()
        return 0
    except Exception as exc:  # never a bare traceback for the user
        if args.debug:
            traceback.print_exc()
        print(
            f"error: internal error: {redact(type(exc).__name__ + ': ' + str(exc))}\n"
            "  fix: run again with --debug and report the traceback",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT if isinstance(exc, ValueError) else 1
