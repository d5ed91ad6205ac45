"""The ``carbon-wizard`` command line.

The commands are declared here, each with its one-line help and the module that serves
it; ``carbon-wizard --help`` (and the wizard itself) import none of those modules. When
argparse reaches a command, its module is imported and ``PARSERS[command](parser)`` adds
the command's arguments and sets ``func`` (a callable taking the parsed namespace and
returning an exit code). The front ends (Textual, questionary) are imported only when
asked for, so the engine never depends on them.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from wizard import __version__
from wizard.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, WizardError
from wizard.secrets import redact

# command -> (the module that serves it, its line in --help), in --help's order
COMMANDS: dict[str, tuple[str, str]] = {
    "lab": (
        "wizard.cli.lab",
        "a local lab (MariaDB, sshd hosts, NGINX, fake Carbon) to try the wizard on",
    ),
    "patterns": ("wizard.cli.plan", "list the deployment patterns"),
    "answers": (
        "wizard.cli.plan",
        "the answers file: its JSON Schema, an example, or a session's export",
    ),
    "plan": ("wizard.cli.plan", "validate answers and print the plan, grouped by host"),
    "sessions": ("wizard.cli.sessions", "list, show or remove saved setups"),
    "apply": ("wizard.cli.apply", "apply a plan to the hosts and the database server"),
    "resume": ("wizard.cli.apply", "continue an interrupted session"),
    "rollback": (
        "wizard.cli.apply",
        "put back every file a setup changed (from its backups), stop the nodes it "
        "started; resumable",
    ),
    "status": (
        "wizard.cli.status",
        "how a saved setup is doing now: nodes, cluster, load balancer, databases "
        "(read-only; exit 1 when not healthy)",
    ),
    "export": ("wizard.cli.export_ansible", "export the plan to another engine (Ansible)"),
}


# the modules that load paramiko as they are imported (their commands log in to hosts)
_SSH_MODULES = {"wizard.cli.apply", "wizard.cli.status"}


def _paramiko_without_invoke() -> None:
    """Import paramiko without ``invoke`` (and the unittest.mock, asyncio... it loads:
    tens of milliseconds), which paramiko wants only for ``Match exec`` in an ssh_config
    file, which the wizard never reads. Once paramiko is in, invoke is importable again."""
    if "paramiko" in sys.modules or "invoke" in sys.modules:
        return
    sys.modules["invoke"] = None  # type: ignore[assignment]  # "import invoke" fails
    try:
        importlib.import_module("paramiko")
    finally:
        del sys.modules["invoke"]


def fill(command: str, parser: argparse.ArgumentParser) -> None:
    """Add ``command``'s arguments to its (empty) parser, from the module serving it."""
    if COMMANDS[command][0] in _SSH_MODULES:
        _paramiko_without_invoke()
    module = importlib.import_module(COMMANDS[command][0])
    module.PARSERS[command](parser)


class _Commands(argparse._SubParsersAction):
    """The subcommands: a command's parser is filled when argparse reaches it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        name = values[0] if isinstance(values, list) and values else None
        filled: set[str] = self.__dict__.setdefault("filled", set())
        if name in COMMANDS and name not in filled:
            filled.add(name)
            fill(name, self.choices[name])
        super().__call__(parser, namespace, values, option_string)


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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", action=_Commands)
    for name, (_, help_line) in COMMANDS.items():
        sub.add_parser(name, help=help_line)
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


def _no_collection_at_exit() -> None:
    """At the interpreter's exit (after every thread is joined), no garbage collection:
    the teardown's collections of a run's objects cost 0.1-0.2 s of a 16-host run, and
    nothing waits for them: our files are written and closed (the journal fsync'd) and
    the interpreter still flushes stdout and stderr. In a test process that calls
    :func:`main` many times, this runs once, at its very end."""
    gc.disable()
    gc.freeze()


def main(argv: Sequence[str] | None = None) -> int:
    atexit.unregister(_no_collection_at_exit)  # once, however often main runs
    atexit.register(_no_collection_at_exit)
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
