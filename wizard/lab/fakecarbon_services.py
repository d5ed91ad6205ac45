"""The fake Carbon server's log, database checks and key store loading.

Standard library only (copied into the product's ``bin/`` next to ``fakecarbon.py``).
Secrets (datasource and keystore passwords) go to child processes only through
0600 files in a private temporary directory: never argv, never the environment.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

try:  # run as bin/fakecarbon.py: the checks module is a sibling file
    from fakecarbon_checks import (  # type: ignore[import-not-found]
        BootError,
        DataSource,
        MysqlTarget,
    )
    from fakecarbon_node import KeyStoreConfig  # type: ignore[import-not-found]
except ImportError:  # imported as wizard.lab.fakecarbon_services (tests)
    from wizard.lab.fakecarbon_checks import (
        BootError,
        DataSource,
        MysqlTarget,
    )
    from wizard.lab.fakecarbon_node import KeyStoreConfig

LOG_REL = "repository/logs/wso2carbon.log"


class CarbonLog:
    """Carbon-style log lines to repository/logs/wso2carbon.log (and stdout if echo)."""

    def __init__(self, home: Path, echo: bool) -> None:
        self.path = home / LOG_REL
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._echo = echo
        self._lock = threading.Lock()

    def write(self, level: str, logger: str, message: str, detail: tuple[str, ...] = ()) -> None:
        """One entry: the message line, then ``detail`` (the exception log4j prints after
        it: ``java.net.BindException: ...``, ``Caused by: ...``) on lines of their own."""
        now = datetime.now()
        stamp = now.strftime("%Y-%m-%d %H:%M:%S,") + f"{now.microsecond // 1000:03d}"
        line = f"TID: [-1234] [] [{stamp}] {level} {{{logger}}} - {message}\n"
        line += "".join(f"{d}\n" for d in detail)
        with self._lock:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
            if self._echo:
                sys.stdout.write(line)
                sys.stdout.flush()

    def info(self, logger: str, message: str) -> None:
        self.write("INFO", logger, message)

    def warn(self, logger: str, message: str, detail: tuple[str, ...] = ()) -> None:
        self.write("WARN", logger, message, detail)

    def error(self, logger: str, message: str, detail: tuple[str, ...] = ()) -> None:
        self.write("ERROR", logger, message, detail)

    def failure(self, exc: BootError) -> None:
        self.error(exc.logger, exc.message, exc.detail)


@contextmanager
def private_dir() -> Iterator[Path]:
    """A 0700 temporary directory, removed afterwards (it may hold passwords or keys)."""
    path = Path(tempfile.mkdtemp(prefix="fakecarbon-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


# ---------------------------------------------------------------- databases

_POOL = "org.apache.tomcat.jdbc.pool.ConnectionPool"
_POOL_FAILED = "Unable to create initial connections of pool."
# Connector/J 5.1 LocalizedErrorMessages.properties L168/L170 (CommunicationsException)
_LINK_FAILURE = (
    "com.mysql.jdbc.exceptions.jdbc4.CommunicationsException: Communications link failure",
    "",
    "The last packet sent successfully to the server was 0 milliseconds ago. "
    "The driver has not received any packets from the server.",
)


class MissingTable(Exception):
    """The database answers but lacks a table its consumer needs."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = (detail,)


def _opt_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mysql_client() -> str:
    for name in ("mariadb", "mysql"):
        found = shutil.which(name)
        if found:
            return found
    raise BootError(_POOL, "No mariadb/mysql client on PATH to reach the database")


def link_failure(cause: str) -> BootError:
    """tomcat-jdbc ``ConnectionPool.init`` logging Connector/J's CommunicationsException."""
    return BootError(_POOL, _POOL_FAILED, (*_LINK_FAILURE, f"Caused by: {cause}"))


def _client_error(ds: DataSource, target: MysqlTarget, stderr: str) -> BootError:
    text = stderr.strip().splitlines()[-1] if stderr.strip() else "unknown error"
    message = text.split("): ", 1)[1] if "): " in text else text
    code = text.split()[1] if text.startswith("ERROR ") and len(text.split()) > 1 else ""
    if code in {"2002", "2003", "2006", "2013"}:
        cause = "java.net.ConnectException: Connection refused (Connection refused)"
        if "(110)" in message or "timed out" in message.lower():
            cause = "java.net.SocketTimeoutException: connect timed out"
        return link_failure(f"{cause} [{target.host}:{target.port}: {message}]")
    if code == "2005":
        return link_failure(f"java.net.UnknownHostException: {target.host}")
    if code in {"1049", "1146"}:
        exc = "com.mysql.jdbc.exceptions.jdbc4.MySQLSyntaxErrorException"
    else:
        exc = "java.sql.SQLException"
    return BootError(_POOL, _POOL_FAILED, (f"{exc}: {message}",))


def unknown_host(ds: DataSource, target: MysqlTarget, java_exception: str) -> BootError:
    """What Connector/J reports when the URL's host name does not resolve."""
    return link_failure(java_exception)


def _run_client(
    ds: DataSource,
    target: MysqlTarget,
    stdin: str,
    timeout: float = 30.0,
    address: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the client against ``address`` (the URL's host resolved by the node; default:
    the URL's host, which must then be an IP literal or a name this machine knows)."""
    client = mysql_client()
    with private_dir() as tmp:
        defaults = write_private(
            tmp / "client.cnf",
            "[client]\n"
            f"user={_opt_quote(ds.username)}\n"
            f"password={_opt_quote(ds.password)}\n"
            f"host={address or target.host}\n"
            f"port={target.port}\n"
            "protocol=TCP\n"
            "connect-timeout=5\n",
        )
        argv = [
            client,
            f"--defaults-extra-file={defaults}",
            "--batch",
            "--skip-column-names",
            f"--database={target.database}",
        ]
        try:
            return subprocess.run(
                argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise link_failure(
                f"java.net.SocketTimeoutException: Read timed out [{target.host}:{target.port}]"
            ) from exc


def existing_tables(ds: DataSource, target: MysqlTarget, address: str | None = None) -> set[str]:
    proc = _run_client(
        ds,
        target,
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE();\n",
        address=address,
    )
    if proc.returncode != 0:
        raise _client_error(ds, target, proc.stderr)
    return {line.strip() for line in proc.stdout.splitlines() if line.strip()}


def run_script(
    ds: DataSource, target: MysqlTarget, script: Path, address: str | None = None
) -> None:
    proc = _run_client(
        ds, target, script.read_text(encoding="utf-8"), timeout=120.0, address=address
    )
    if proc.returncode != 0:
        raise BootError(
            "org.wso2.carbon.utils.dbcreator.DatabaseCreator",
            f"Error while creating the database tables from {script}: {proc.stderr.strip()}",
        )


def check_database(
    ds: DataSource,
    target: MysqlTarget,
    markers: tuple[str, ...],
    setup_script: Path | None,
    log: CarbonLog,
    address: str | None = None,
) -> None:
    """Connect as the datasource's user to ``address`` (the URL's host as the node resolved
    it): a failure is the pool's BootError; the marker tables must be there (or -Dsetup
    makes them), else :class:`MissingTable` (which the datasource's consumers log)."""
    tables = existing_tables(ds, target, address)
    missing = [t for t in markers if t not in tables]
    if missing and setup_script is not None and len(missing) == len(markers):
        log.info(
            "org.wso2.carbon.utils.dbcreator.DatabaseCreator",
            f"Creating the tables of {ds.name} from {setup_script.name} (-Dsetup)",
        )
        run_script(ds, target, setup_script, address)
        tables = existing_tables(ds, target, address)
        missing = [t for t in markers if t not in tables]
    if missing:
        raise MissingTable(
            "com.mysql.jdbc.exceptions.jdbc4.MySQLSyntaxErrorException: "
            f"Table '{target.database}.{missing[0]}' doesn't exist"
        )
    log.info(
        "org.wso2.carbon.ndatasource.core.DataSourceRepository",
        f"Datasource {ds.name} connected to {target.host}:{target.port}/{target.database}"
        + (f" ({address})" if address and address != target.host else ""),
    )


# ---------------------------------------------------------------- keystore

_KS = "org.wso2.carbon.core.util.KeyStoreManager"


def _tool(cmd: list[str], what: str) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        raise BootError(_KS, f"Cannot run {cmd[0]}: {exc.strerror}") from exc
    if proc.returncode != 0:
        detail = (proc.stdout + proc.stderr).strip().splitlines()
        reason = detail[-1] if detail else f"exit {proc.returncode}"
        if "password was incorrect" in (proc.stdout + proc.stderr):
            # the JDK's JavaKeyStore text (UnrecoverableKeyException as the cause)
            reason = "Keystore was tampered with, or password was incorrect"
        raise BootError(_KS, what, (f"java.io.IOException: {reason}",))


def load_keystore(cfg: KeyStoreConfig, java_home: str) -> ssl.SSLContext:
    """Convert the JKS key store to PEM (keytool + openssl) and load it for TLS."""
    if not cfg.location.is_file():
        raise BootError(
            _KS,
            f"Keystore file does not exist: {cfg.location}",
            (f"java.io.FileNotFoundException: {cfg.location} (No such file or directory)",),
        )
    keytool = Path(java_home) / "bin" / "keytool"
    what = f"Error while loading keystore {cfg.location}"
    with private_dir() as tmp:
        store_pw = write_private(tmp / "store.pw", cfg.password)
        key_pw = write_private(tmp / "key.pw", cfg.key_password)
        p12 = tmp / "store.p12"
        if cfg.store_type.upper() == "PKCS12":
            shutil.copyfile(cfg.location, p12)
        else:
            cmd = [
                str(keytool), "-importkeystore", "-noprompt",
                "-srckeystore", str(cfg.location), "-srcstoretype", cfg.store_type,
                "-srcstorepass:file", str(store_pw),
                "-destkeystore", str(p12), "-deststoretype", "PKCS12",
                "-deststorepass:file", str(store_pw),
            ]  # fmt: skip
            if cfg.key_alias:
                cmd += [
                    "-srcalias", cfg.key_alias,
                    "-srckeypass:file", str(key_pw),
                    "-destkeypass:file", str(store_pw),
                ]  # fmt: skip
            _tool(cmd, what)
        pem = tmp / "key.pem"
        _tool(
            ["openssl", "pkcs12", "-in", str(p12), "-nodes", "-passin", f"file:{store_pw}",
             "-out", str(pem)],
            what,
        )  # fmt: skip
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ctx.load_cert_chain(str(pem))
        except ssl.SSLError as exc:
            raise BootError(_KS, what, (f"java.io.IOException: {exc}",)) from exc
    return ctx
