"""Run a product dbscript into a database: variant choice, run, partial-apply marking.

- :func:`pick_variant` chooses ``mysql5.7.sql`` for MySQL >= 5.7 and any MariaDB,
  ``mysql.sql`` for older MySQL.
- :func:`check_script` says what :func:`apply_script` would do: ``unchanged`` when the
  marker tables are all there (and no run is marked failed/running), ``created`` when
  the database is empty; it raises when the database is partially set up or holds
  tables that are not the product's.
- :func:`apply_script` runs the statements in one connection (autocommit, like the
  ``mariadb`` client), recording ``running`` → ``done``/``failed`` with the count of
  statements done in ``carbon_wizard.script_runs``.
- :func:`set_up_database` is the whole C2 procedure for one database.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pymysql

from wizard.connectors.mysql import (
    Change,
    MySQL,
    Report,
    ServerInfo,
    check_host_pattern,
    check_name,
)
from wizard.db import state as dbstate
from wizard.db.sqlsplit import Statement, split_sql
from wizard.errors import Where, WizardError, step_failed
from wizard.secrets import Secret, redact

Reader = Callable[[str], bytes]

_CREATE_TABLE_RE = re.compile(
    r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?([A-Za-z0-9_$]+)`?", re.IGNORECASE
)
_VARIANTS = ("mysql.sql", "mysql5.7.sql")


@dataclass(frozen=True)
class Script:
    """A dbscript's text, where it came from, and its sha256."""

    path: str
    text: str
    sha256: str
    origin: str | None = None  # host the file was read on, for error messages

    @property
    def key(self) -> str:
        """Stable name for the state table: the path from ``dbscripts/`` on."""
        parts = self.path.replace("\\", "/").split("/")
        if "dbscripts" in parts:
            return "/".join(parts[len(parts) - 1 - parts[::-1].index("dbscripts") :])[-255:]
        return parts[-1][-255:]

    @cached_property
    def statements(self) -> list[Statement]:
        return split_sql(self.text)

    @cached_property
    def tables(self) -> list[str]:
        """Tables the script creates, in order."""
        out: list[str] = []
        for st in self.statements:
            m = _CREATE_TABLE_RE.match(st.text)
            if m and m[1] not in out:
                out.append(m[1])
        return out


def pick_variant(path: str, server: ServerInfo) -> str:
    """``…/mysql.sql`` or ``…/mysql5.7.sql`` (or their folder) → the variant for ``server``."""
    want = "mysql5.7.sql" if server.wants_57_scripts else "mysql.sql"
    head, tail = posixpath.split(path.rstrip("/"))
    if tail in _VARIANTS:
        return posixpath.join(head, want)
    if not tail.endswith(".sql"):
        return posixpath.join(path.rstrip("/"), want)
    return path


def load_script(path: str, read: Reader | None = None, origin: str | None = None) -> Script:
    """Read a dbscript from the local disk, or through ``read`` (e.g. over SSH)."""
    try:
        data = read(path) if read is not None else Path(path).read_bytes()
    except (OSError, WizardError) as exc:
        if isinstance(exc, WizardError):
            raise
        raise WizardError(
            f"cannot read the dbscript: {exc.strerror or exc}",
            Where(host=origin, file=path),
            "check the product home path; the script ships in <home>/dbscripts",
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return Script(path, text, hashlib.sha256(data).hexdigest(), origin)


def _where(script: Script, line: int | None = None) -> Where:
    return Where(host=script.origin, file=script.path, line=line)


def _recreate_hint(db: MySQL, name: str) -> str:
    if dbstate.created_by_wizard(db, name) is not None:
        return (
            f"the wizard created {name} empty, so it can drop and re-create it "
            "(recreate_if_ours / 'Recreate'), then run the script again"
        )
    return f"{name} was not created by the wizard, so it is never dropped: clean it by hand"


def check_script(
    db: MySQL, name: str, script: Script, markers: Sequence[str] | None = None
) -> Report:
    """What :func:`apply_script` would do; raises for a partial or foreign schema."""
    check_name(name)
    markers = list(markers) if markers else script.tables
    subject = f"schema {script.key} in {name}"
    for run in dbstate.script_runs(db, name):
        if run.state in (dbstate.RUNNING, dbstate.FAILED):
            how = f"stopped after {run.statements_done} of {run.statements_total} statements"
            if run.error:
                how += f": {run.error}"
            raise step_failed(
                f"database {name} is partially set up by {run.script} ({run.state}, {how})",
                _recreate_hint(db, name),
            )
    present = {t.lower() for t in db.tables(name)}
    missing = [t for t in markers if t.lower() not in present]
    if not missing:
        return Report(Change.UNCHANGED, subject, f"marker tables present: {', '.join(markers)}")
    if present:
        sample = ", ".join(sorted(present)[:5]) + (", ..." if len(present) > 5 else "")
        raise WizardError(
            f"database {name} already has {len(present)} tables ({sample}) but not "
            f"{', '.join(missing)}; the wizard will not run {script.key} into it and never "
            "drops a database",
            _where(script),
            "use a new, empty database for this one, or finish/clean the schema by hand",
        )
    return Report(Change.CREATED, subject, f"{len(script.statements)} statements")


def _failure_fix(db: MySQL, name: str, script: Script) -> str:
    try:
        hint = _recreate_hint(db, name)
    except pymysql.err.MySQLError:  # e.g. the connection was lost
        hint = f"{name} is marked partially applied; recreate it only if the wizard created it"
    if posixpath.basename(script.path) == "mysql.sql" and db.server.wants_57_scripts:
        return f"{db.server} needs the mysql5.7.sql variant of this script; {hint}"
    return f"fix the cause above; {hint}"


def apply_script(
    db: MySQL, name: str, script: Script, markers: Sequence[str] | None = None
) -> Report:
    """Run ``script`` into database ``name`` unless its marker tables are already there."""
    planned = check_script(db, name, script, markers)
    if planned.change is Change.UNCHANGED:
        return planned
    statements = script.statements
    total = len(statements)
    if total == 0:
        raise WizardError(
            "the dbscript holds no SQL statement", _where(script), "check the file", exit_code=1
        )
    with db.failing(f"cannot use database {name}", "create it first (ensure_database)"):
        db.execute(f"USE `{check_name(name)}`")
    dbstate.set_script_state(db, name, script.key, script.sha256, dbstate.RUNNING, 0, total)
    done = 0
    try:
        with db.cursor() as cur:
            for st in statements:
                cur.execute(st.text)
                done += 1
    except pymysql.err.MySQLError as exc:
        code = exc.args[0] if exc.args else 0
        msg = redact(str(exc.args[1]) if len(exc.args) > 1 else str(exc))
        st = statements[done]
        try:
            dbstate.set_script_state(
                db,
                name,
                script.key,
                script.sha256,
                dbstate.FAILED,
                done,
                total,
                f"statement {st.index} (line {st.line}): ({code}) {msg}"[:2000],
            )
        except pymysql.err.MySQLError:
            pass  # the 'running' row stays: still marked partial
        raise WizardError(
            f"statement {st.index} of {total} failed in database {name} on {db.server}: "
            f"({code}) {msg}; statement: {redact(st.excerpt())}",
            _where(script, st.line),
            _failure_fix(db, name, script),
            exit_code=1,
        ) from None
    dbstate.set_script_state(db, name, script.key, script.sha256, dbstate.DONE, total, total)
    return Report(Change.CREATED, planned.subject, f"{total} statements")


@dataclass(frozen=True)
class DatabaseSpec:
    """One product database (checklist C2): account, hosts, optional script and markers."""

    name: str
    user: str
    user_hosts: tuple[str, ...]
    script: str | None = None  # None: create only (the stats DB)
    markers: tuple[str, ...] = ()
    charset: str = "latin1"
    collation: str = "latin1_swedish_ci"
    origin: str | None = None  # host to read the script on

    def validate(self) -> None:
        """Refuse bad names before any SQL runs."""
        check_name(self.name)
        check_name(self.user, "database user", 32)
        check_name(self.charset, "charset", 32)
        check_name(self.collation, "collation")
        for h in self.user_hosts:
            check_host_pattern(h)
        for m in self.markers:
            check_name(m, "marker table")


def set_up_database(
    db: MySQL, spec: DatabaseSpec, password: Secret, read: Reader | None = None
) -> list[Report]:
    """Create the database, the accounts and grants, then run its script (if any)."""
    spec.validate()
    reports = [db.ensure_database(spec.name, spec.charset, spec.collation)]
    for host in spec.user_hosts:
        reports.append(db.ensure_user(spec.user, host, password))
        reports.append(db.ensure_grant(spec.name, spec.user, host))
    if spec.script:
        path = pick_variant(spec.script, db.server)
        script = load_script(path, read, spec.origin)
        reports.append(apply_script(db, spec.name, script, spec.markers or None))
    return reports
