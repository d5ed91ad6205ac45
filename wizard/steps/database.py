"""``database`` and ``dbscript`` steps on the MySQL/MariaDB server.

Each database is a lane of its own (:func:`wizard.plan.lane`): its steps run one at a
time on an admin connection of their own, while other databases' steps run at the same
time on theirs. The server's privileges are checked once, on its first connection (the
survey's, which the first lane then takes over). Passwords go to SQL as parameters only.
"""

from __future__ import annotations

import threading
from typing import Any

from wizard.connectors.mysql import MySQL, tls_mode
from wizard.connectors.mysql_checks import Change, Report
from wizard.db import state as dbstate
from wizard.db.scripts import apply_script, check_script, load_script
from wizard.executor import Outcome, RunContext
from wizard.plan import Step, lane
from wizard.secretrefs import substitute
from wizard.secrets import Secret
from wizard.stepinputs import DatabaseInputs, DbscriptInputs, inputs

_lock = threading.Lock()


def _secret(value: str, ctx: RunContext) -> Secret:
    return Secret(substitute(value, ctx.secret))


def admin_connection(step: Step, ctx: RunContext) -> MySQL:
    """The admin connection of ``step``'s lane (one per database and server)."""
    i = inputs(step, DatabaseInputs)  # dbscript and drop_database steps carry the same
    server = i["server"]
    key = f"mysql:{server['host']}:{server['port']}:{i['admin_user']}"
    mine = f"{key}:{lane(step)}"
    with _lock:
        db = ctx.state.databases.get(mine)
        if db is not None:
            return db
        db = ctx.state.databases.pop(key, None)  # checked, and no lane's yet: take it
        checked = db is not None or f"{key}:checked" in ctx.state.databases
    if db is None:  # connect outside the lock: other lanes connect at the same time
        db = MySQL(
            server["host"],
            server["port"],
            i["admin_user"],
            _secret(i["admin_password"], ctx),
            tls=tls_mode(server.get("tls")),
            ca=server.get("ca"),
        )
        db.connect()
        ctx.state.closers.append(db.close)
        if not checked:
            db.preflight()
    with _lock:
        ctx.state.databases[mine] = db
        ctx.state.databases[f"{key}:checked"] = True
    return db


def _pending(reports: list[Report]) -> list[Report]:
    return [r for r in reports if r.change is not Change.UNCHANGED]


class DatabaseHandler:
    """The database, the application user on each allowed host, and its grants."""

    def _plan(self, step: Step, ctx: RunContext, act: bool) -> list[Report]:
        i = inputs(step, DatabaseInputs)
        db = admin_connection(step, ctx)
        password = _secret(i["password"], ctx)
        out: list[Report] = []
        if act:
            out.append(
                db.ensure_database(
                    i["name"],
                    charset=i["charset"],
                    collation=_collation(i["charset"]),
                )
            )
        else:
            out.append(
                db.check_database(
                    i["name"],
                    charset=i["charset"],
                    collation=_collation(i["charset"]),
                )
            )
        for host in i["user_hosts"]:
            if act:
                out.append(db.ensure_user(i["user"], host, password))
                out.append(db.ensure_grant(i["name"], i["user"], host))
            else:
                out.append(db.check_user(i["user"], host, password))
                out.append(db.check_grant(i["name"], i["user"], host))
        return out

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        pending = _pending(self._plan(step, ctx, act=False))
        return Outcome(not pending, "; ".join(str(r) for r in pending) or "unchanged")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        done = _pending(self._plan(step, ctx, act=True))
        return Outcome(True, "; ".join(str(r) for r in done))


def _collation(charset: str) -> str:
    return {
        "latin1": "latin1_swedish_ci",
        "utf8": "utf8_general_ci",
        "utf8mb4": "utf8mb4_general_ci",
    }.get(charset, f"{charset}_general_ci")


class DbscriptHandler:
    """The product's dbscript, read from a node's pack, run once into its database.

    A run the wizard left partial (killed, or a statement failed: ``running``/``failed`` in
    ``carbon_wizard.script_runs``) is resumed by dropping and re-creating the database,
    but only when the wizard created that database empty; otherwise ``check_script``
    stops with the reason and what to do by hand.
    """

    def _script(self, step: Step, ctx: RunContext) -> Any:
        i = inputs(step, DbscriptInputs)
        node, path = i["source_node"], i["script"]
        return load_script(path, read=ctx.transport(node).read, origin=f"{node}:{path}")

    def _partial_and_ours(self, db: MySQL, name: str) -> str:
        """How the partial run stopped, when the database is ours to re-create; else ""."""
        runs = dbstate.script_runs(db, name)
        partial = [r for r in runs if r.state in (dbstate.RUNNING, dbstate.FAILED)]
        if not partial or any(r.state == dbstate.DONE for r in runs):
            return ""  # nothing partial, or a finished schema (never dropped)
        if dbstate.created_by_wizard(db, name) is None:
            return ""  # not ours: check_script stops with what to do by hand
        r = partial[0]
        return f"{r.script} {r.state} after {r.statements_done} of {r.statements_total} statements"

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        db = admin_connection(step, ctx)
        name = inputs(step, DbscriptInputs)["database"]
        partial = self._partial_and_ours(db, name)
        if partial:
            return Outcome(
                False,
                f"database {name} is partially set up ({partial}); the wizard created it "
                "empty, so it will drop and re-create it and run the script again",
            )
        markers = inputs(step, DbscriptInputs)["markers"]
        report = check_script(db, name, self._script(step, ctx), markers)
        return Outcome(report.change is Change.UNCHANGED, str(report))

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        db = admin_connection(step, ctx)
        name = inputs(step, DbscriptInputs)["database"]
        note = ""
        if self._partial_and_ours(db, name):
            note = f"{db.recreate_if_ours(name)}; "
        markers = inputs(step, DbscriptInputs)["markers"]
        report = apply_script(db, name, self._script(step, ctx), markers)
        return Outcome(True, f"{note}{report}")


HANDLERS = {"database": DatabaseHandler(), "dbscript": DbscriptHandler()}
