"""MySQL / MariaDB connector: connect, preflight, create databases, users and grants.

One admin connection (pymysql, autocommit) per server, opened once and reused; a
context manager. Names are validated identifiers, backtick-quoted; passwords only
ever travel as query parameters. Every ``ensure_*`` checks first and reports
``unchanged`` when nothing had to be done.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Literal, get_args

import pymysql

from wizard.connectors.mysql_checks import (
    REQUIRED_PRIVILEGES,
    SHA2_PLUGINS,
    Change,
    Report,
    Runner,
    ServerInfo,
    check_host_pattern,
    check_name,
    check_reachable,
    default_plugin_of,
    native_password_hash,
    parse_global_privileges,
    quote_ident,
)
from wizard.connectors.mysql_sha2 import matches as sha2_matches
from wizard.db import state as dbstate
from wizard.errors import WizardError, bad_input, step_failed
from wizard.secrets import Secret, redact

__all__ = [
    "Change",
    "MySQL",
    "Report",
    "Runner",
    "ServerInfo",
    "TlsMode",
    "check_host_pattern",
    "tls_mode",
    "check_name",
    "check_reachable",
    "quote_ident",
]

# off: plain; preferred: TLS when the server offers it, unverified (the client default);
# required: TLS, unverified; verify-ca: TLS + CA check; verify-identity: + host name check.
TlsMode = Literal["off", "preferred", "required", "verify-ca", "verify-identity"]
# answers db.tls.mode -> the connection's TLS mode (the one mapping)
_ANSWER_TLS: dict[str, TlsMode] = {
    "disabled": "off",
    "preferred": "preferred",
    "required": "required",
    "verify": "verify-identity",
}


def tls_mode(answer: str | None) -> TlsMode:
    """The TLS mode for the answers' ``db.tls.mode`` (``disabled`` when not given)."""
    mode = _ANSWER_TLS.get(answer or "disabled")
    if mode is None:
        raise bad_input(
            f"unknown database TLS mode {answer!r}",
            fix="use one of: " + ", ".join(_ANSWER_TLS),
            field="db.tls.mode",
        )
    return mode


def _tls_context(mode: TlsMode, ca: str | None) -> ssl.SSLContext | None:
    if mode in ("off", "preferred"):
        return None
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    if mode == "required":
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif mode == "verify-ca":
        ctx.check_hostname = False
    return ctx


class MySQL:
    """One admin connection to a MySQL/MariaDB server."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: Secret,
        *,
        tls: TlsMode = "preferred",
        ca: str | None = None,
        connect_timeout: float = 10.0,
        sql_mode: str | None = None,
    ) -> None:
        self.host = host
        self.port = int(port)
        self.user = user
        self._password = password
        if tls not in get_args(TlsMode):
            raise bad_input(
                f"unknown TLS mode {tls!r}",
                fix="use one of: " + ", ".join(get_args(TlsMode)),
                field="db.tls",
            )
        self._tls = _tls_context(tls, ca)
        self._tls_off = tls == "off"
        self._timeout = connect_timeout
        self._sql_mode = sql_mode  # None: the server's default, like the mariadb client
        self._conn: pymysql.connections.Connection[Any] | None = None
        self._server: ServerInfo | None = None

    @property
    def label(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    def __enter__(self) -> MySQL:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        if self._conn is not None:
            return
        try:
            self._conn = pymysql.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self._password.reveal(),
                ssl=self._tls,
                ssl_disabled=self._tls_off,
                connect_timeout=self._timeout,
                autocommit=True,
                charset="utf8mb4",
                sql_mode=self._sql_mode,
            )
        except pymysql.err.MySQLError as exc:
            raise self._connect_error(exc) from None
        row = self.query("SELECT VERSION(), @@version_comment")[0]
        server = ServerInfo.parse(str(row[0]), str(row[1] or ""))
        if server.flavour == "mysql" and server.version >= (8, 0, 0):
            server = replace(server, default_plugin=default_plugin_of(
                self._variable("authentication_policy"),
                self._variable("default_authentication_plugin"),
            ))  # fmt: skip
        self._server = server

    def _variable(self, name: str) -> str | None:
        """A server variable, or None where this server has no such variable."""
        try:
            value = self.query(f"SELECT @@{name}")[0][0]
        except pymysql.err.MySQLError:
            return None
        return str(value) if value is not None else None

    def _connect_error(self, exc: pymysql.err.MySQLError) -> WizardError:
        code = exc.args[0] if exc.args else 0
        msg = redact(str(exc.args[1]) if len(exc.args) > 1 else str(exc))
        if "CERTIFICATE_VERIFY_FAILED" in msg or "SSL" in msg:
            fix = "check the TLS mode and the CA file (db.tls_ca) against the server's certificate"
        elif code == 1045:
            fix = "check the admin user name and its password reference (db.admin_password)"
        elif code in (2003, 2005):
            fix = "is the server running, and listening on this address and port (bind-address)?"
        else:
            fix = "check the database server settings (host, port, TLS options)"
        return step_failed(f"cannot connect to the database as {self.label}: ({code}) {msg}", fix)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    @property
    def server(self) -> ServerInfo:
        if self._server is None:
            self.connect()
        assert self._server is not None
        return self._server

    def cursor(self) -> pymysql.cursors.Cursor:
        self.connect()
        assert self._conn is not None
        return self._conn.cursor()

    def query(self, sql: str, args: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def execute(self, sql: str, args: Sequence[Any] | None = None) -> int:
        """Run one statement; return the number of warnings it left."""
        with self.cursor() as cur:
            cur.execute(sql, args)
            rows = cur.execute("SHOW COUNT(*) WARNINGS")
            row = cur.fetchone()
            return int(row[0]) if rows and row else 0

    @contextmanager
    def failing(self, what: str, fix: str) -> Iterator[None]:
        """Turn a server error inside the block into a WizardError."""
        try:
            yield
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else 0
            msg = redact(str(exc.args[1]) if len(exc.args) > 1 else str(exc))
            raise step_failed(f"{what} on {self.label}: ({code}) {msg}", fix) from None

    # -- preflight ---------------------------------------------------------------------

    def current_account(self) -> tuple[str, str]:
        user, _, host = str(self.query("SELECT CURRENT_USER()")[0][0]).rpartition("@")
        return user, host

    def preflight(self) -> ServerInfo:
        """Connect, read the server's flavour/version and check the admin's privileges."""
        server = self.server
        user, host = self.current_account()
        grants = [str(r[0]) for r in self.query("SHOW GRANTS")]
        have = parse_global_privileges(grants)
        missing = [p for p in REQUIRED_PRIVILEGES if p not in have]
        if missing:
            plain = ", ".join(p for p in missing if p != "GRANT OPTION") or "USAGE"
            option = " WITH GRANT OPTION" if "GRANT OPTION" in missing else ""
            raise step_failed(
                f"the account '{user}'@'{host}' on {server} at {self.host}:{self.port} "
                f"lacks privileges: {', '.join(missing)}",
                f"as a DB administrator run: GRANT {plain} ON *.* TO '{user}'@'{host}'{option};"
                " (or use an account that has ALL PRIVILEGES WITH GRANT OPTION)",
            )
        return server

    # -- databases ---------------------------------------------------------------------

    def database_info(self, name: str) -> tuple[str, str] | None:
        rows = self.query(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
            "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s",
            (check_name(name),),
        )
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def tables(self, name: str) -> list[str]:
        rows = self.query(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s",
            (check_name(name),),
        )
        return sorted(str(r[0]) for r in rows)

    def check_database(
        self, name: str, charset: str = "latin1", collation: str = "latin1_swedish_ci"
    ) -> Report:
        check_name(charset, "charset", 32)
        check_name(collation, "collation")
        info = self.database_info(name)
        subject = f"database {name}"
        if info is None:
            return Report(Change.CREATED, subject, f"{charset}/{collation}")
        if (info[0].lower(), info[1].lower()) != (charset.lower(), collation.lower()):
            return Report(
                Change.CHANGED, subject, f"default {info[0]}/{info[1]} -> {charset}/{collation}"
            )
        return Report(Change.UNCHANGED, subject, f"{info[0]}/{info[1]}")

    def ensure_database(
        self, name: str, charset: str = "latin1", collation: str = "latin1_swedish_ci"
    ) -> Report:
        """Create ``name`` if absent (recorded as ours), else fix its default charset."""
        planned = self.check_database(name, charset, collation)
        spec = f"CHARACTER SET {charset} COLLATE {collation}"
        fix = "check the charset/collation names and the admin's CREATE privilege"
        if planned.change is Change.CREATED:
            with self.failing(f"cannot create database {name}", fix):
                warnings = self.execute(f"CREATE DATABASE IF NOT EXISTS {quote_ident(name)} {spec}")
                if warnings == 0:  # 1007 "database exists" would mean someone else made it
                    dbstate.record_created(self, name, charset, collation)
                    return planned
            return self.check_database(name, charset, collation)
        if planned.change is Change.CHANGED:
            with self.failing(f"cannot change the charset of database {name}", fix):
                self.execute(f"ALTER DATABASE {quote_ident(name)} {spec}")
        return planned

    def recreate_if_ours(self, name: str) -> Report:
        """Drop and re-create ``name``, only if the wizard created it and no script finished.

        A database the wizard did not create (or one holding a finished schema) is never
        dropped: this raises instead.
        """
        check_name(name)
        recorded = dbstate.created_by_wizard(self, name)
        if recorded is None:
            raise step_failed(
                f"database {name} on {self.host}:{self.port} was not created by the wizard; "
                "it will not be dropped",
                "drop or clean it yourself if you are sure, or point the wizard to a new, empty database",
            )
        done = [r.script for r in dbstate.script_runs(self, name) if r.state == dbstate.DONE]
        if done:
            raise step_failed(
                f"database {name} holds a finished schema ({', '.join(done)}); it will not be dropped",
                "nothing to resume; drop it yourself if you really want to start over",
            )
        with self.failing(f"cannot re-create database {name}", "check the admin's DROP privilege"):
            self.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)}")
            dbstate.forget_scripts(self, name)
            charset, collation = recorded
            self.execute(
                f"CREATE DATABASE {quote_ident(name)} CHARACTER SET {charset} COLLATE {collation}"
            )
        return Report(Change.CHANGED, f"database {name}", "dropped and re-created empty")

    # -- users and grants --------------------------------------------------------------

    def _account(self, user: str, host: str) -> tuple[str, str]:
        return check_name(user, "database user", 32), check_host_pattern(host)

    def _user_row(self, user: str, host: str) -> dict[str, Any] | None:
        with self.cursor() as cur:
            cur.execute("SELECT * FROM mysql.user WHERE User=%s AND Host=%s", (user, host))
            row = cur.fetchone()
            if row is None:
                return None
            return {d[0].lower(): v for d, v in zip(cur.description, row, strict=True)}

    def check_user(self, user: str, host: str, password: Secret) -> Report:
        user, host = self._account(user, host)
        subject = f"account '{user}'@'{host}'"
        with self.failing("cannot read mysql.user", "the admin needs SELECT on mysql.*"):
            row = self._user_row(user, host)
        if row is None:
            return Report(Change.CREATED, subject)
        raw = row.get("authentication_string") or row.get("password") or b""
        stored = raw if isinstance(raw, bytes) else str(raw).encode("latin-1", "replace")
        plugin = str(row.get("plugin") or "mysql_native_password")
        same: bool | None
        if plugin == "mysql_native_password":
            same = stored.decode("ascii", "replace") == native_password_hash(password.reveal())
        elif plugin in SHA2_PLUGINS:
            same = sha2_matches(stored, password.reveal())
        else:
            same = None
        if same:
            return Report(Change.UNCHANGED, subject)
        if same is None:
            return Report(Change.CHANGED, subject, f"password re-set ({plugin} cannot be compared)")
        return Report(Change.CHANGED, subject, "password differs")

    def ensure_user(self, user: str, host: str, password: Secret) -> Report:
        planned = self.check_user(user, host, password)
        user, host = self._account(user, host)
        fix = "check the admin's CREATE USER privilege and the server's password policy"
        pw = password.reveal()
        with self.failing(f"cannot set up account '{user}'@'{host}'", fix):
            if planned.change is Change.CREATED:
                ine = "IF NOT EXISTS " if self.server.user_if_not_exists else ""
                self.execute(f"CREATE USER {ine}%s@%s IDENTIFIED BY %s", (user, host, pw))
            elif planned.change is Change.CHANGED and self.server.alter_user:
                self.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, pw))
            elif planned.change is Change.CHANGED:
                self.execute("SET PASSWORD FOR %s@%s = PASSWORD(%s)", (user, host, pw))
        return planned

    def check_grant(self, db: str, user: str, host: str) -> Report:
        check_name(db)
        user, host = self._account(user, host)
        subject = f"ALL on {db}.* to '{user}'@'{host}'"
        rows: list[tuple[Any, ...]] = []
        if self._user_row(user, host) is not None:
            with self.failing("cannot read grants", "the admin needs SELECT on mysql.*"):
                rows = self.query("SHOW GRANTS FOR %s@%s", (user, host))
        targets = {f"`{db}`.*", f"`{db.replace('_', chr(92) + '_')}`.*"}
        for (line,) in rows:
            m = re.match(r"GRANT (.+?) ON (\S+) TO ", str(line), re.S)
            if m and m[2] in targets and m[1].strip().upper() == "ALL PRIVILEGES":
                return Report(Change.UNCHANGED, subject)
        return Report(Change.CREATED, subject)

    def ensure_grant(self, db: str, user: str, host: str) -> Report:
        """``GRANT ALL PRIVILEGES ON `db`.*`` (``_`` escaped: it is a wildcard in grants)."""
        planned = self.check_grant(db, user, host)
        if planned.change is Change.CREATED:
            exact = db.replace("_", "\\_")
            with self.failing(f"cannot grant {planned.subject}", "check the admin's GRANT OPTION"):
                self.execute(f"GRANT ALL PRIVILEGES ON `{exact}`.* TO %s@%s", (user, host))
        return planned
