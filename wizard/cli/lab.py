"""``carbon-wizard lab up | status | down``: the local lab of real services."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from wizard.errors import EXIT_OK, EXIT_STEP_FAILED


def _lab_args(lab: argparse.ArgumentParser) -> None:
    lab.description = (
        "Real services on this machine that stand in for an admin's DB server, "
        "hosts and load balancer. Directory: --dir, or CARBON_WIZARD_LAB_DIR, or "
        "/tmp/carbon-wizard-lab-<uid>."
    )
    lab_sub = lab.add_subparsers(dest="lab_command", metavar="ACTION", required=True)

    p_up = lab_sub.add_parser("up", help="start the lab (a healthy lab is left as it is)")
    _dir_arg(p_up)
    p_up.add_argument("--hosts", type=int, default=4, help="number of hosts (default 4)")
    p_up.add_argument(
        "--ssh-port", type=int, default=2222, help="sshd port on every host (default 2222)"
    )
    p_up.add_argument(
        "--pack-from",
        type=Path,
        help="an unpacked wso2am-2.6.0 whose conf, dbscripts and key stores go over the fake pack",
    )
    p_up.add_argument(
        "--boot-delay",
        type=float,
        default=3.0,
        help="seconds the fake Carbon takes to boot (default 3)",
    )
    p_up.set_defaults(func=_up)

    p_status = lab_sub.add_parser("status", help="is every service of the lab alive")
    _dir_arg(p_status)
    p_status.add_argument("--json", action="store_true", help="print lab.json with health flags")
    p_status.set_defaults(func=_status)

    p_down = lab_sub.add_parser("down", help="stop everything the lab started and remove it")
    _dir_arg(p_down)
    p_down.set_defaults(func=_down)


# the command this module serves (declared in wizard.cli.COMMANDS) -> its arguments
PARSERS = {"lab": _lab_args}


def _dir_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", type=Path, help="lab directory")


def _lab_dir(args: argparse.Namespace) -> Path:
    from wizard.lab import labctl

    return (args.dir or labctl.default_dir()).resolve()


def _up(args: argparse.Namespace) -> int:
    from wizard.lab import labctl

    d = _lab_dir(args)
    started = time.monotonic()
    lab = labctl.up(
        d,
        args.hosts,
        ssh_port=args.ssh_port,
        pack_from=args.pack_from,
        boot_delay=args.boot_delay,
        progress=lambda msg: print(f"  {msg}", file=sys.stderr),
    )
    print(summary(lab, healthy=None))
    print(f"ready in {time.monotonic() - started:.1f}s")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from wizard.lab import labctl

    d = _lab_dir(args)
    st = labctl.status(d)
    if st is None:
        if args.json:
            print(json.dumps({"dir": str(d), "healthy": False, "up": False}, indent=2))
        else:
            print(f"no lab in {d} (start one with 'carbon-wizard lab up')")
        return EXIT_STEP_FAILED
    if args.json:
        print(json.dumps(st, indent=2))
    else:
        print(summary(st, healthy=st["healthy"]))
    return EXIT_OK if st["healthy"] else EXIT_STEP_FAILED


def _down(args: argparse.Namespace) -> int:
    from wizard.lab import labctl

    d = _lab_dir(args)
    started = time.monotonic()
    if labctl.down(d):
        print(f"lab in {d} is down ({time.monotonic() - started:.1f}s)")
    else:
        print(f"no lab in {d}")
    return EXIT_OK


def _mark(obj: dict[str, Any]) -> str:
    if "healthy" not in obj:
        return ""
    return "  ok" if obj["healthy"] else "  DOWN"


def summary(lab: dict[str, Any], healthy: bool | None) -> str:
    """A short human summary of a lab (with health marks when ``healthy`` is known)."""
    lines: list[str] = []
    if healthy is not None:
        lines.append(f"lab {'healthy' if healthy else 'NOT healthy'}: {lab.get('dir')}")
    else:
        lines.append(f"lab: {lab.get('dir')}")
    db = lab.get("db") or {}
    if db:
        lines.append(
            f"  database  {db.get('flavour')} {db.get('version')} at {db.get('host')}:"
            f"{db.get('port')}, admin {db.get('admin_user')} "
            f"(password in {db.get('password_file')}){_mark(db)}"
        )
    for h in lab.get("hosts") or []:
        lines.append(
            f"  host {h.get('name'):<4} {h.get('address')}:{h.get('ssh_port')} user "
            f"{h.get('user')}, home {h.get('home')}{_mark(h)}"
        )
    ng = lab.get("nginx") or {}
    if ng:
        lines.append(
            f"  nginx     on {ng.get('host')} ({ng.get('address')}, LB ports "
            f"{ng.get('https_port')}/{ng.get('http_port')}), {ng.get('command')}{_mark(ng)}"
        )
    hosts = lab.get("hosts") or []
    if hosts:
        lines.append(f"  ssh key   {hosts[0].get('key')}")
    if lab.get("answers"):
        lines.append(f"  answers   {', '.join(sorted(lab['answers']))} in {lab['dir']}/answers")
    lines.append(f"  lab.json  {Path(str(lab.get('dir'))) / 'lab.json'}")
    return "\n".join(lines)
