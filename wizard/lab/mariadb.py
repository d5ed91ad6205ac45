"""The lab's database server: a throwaway MariaDB (or MySQL) in the lab directory.

The server listens on 127.0.0.1 and on a unix socket inside the lab. The admin
account (``cwadmin``, with GRANT OPTION, at ``%`` and ``localhost``) gets a
generated password that is written to a 0600 file and sent to the server only
as an SQL query parameter over the unix socket, never in any process's argv.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pymysql

from wizard.errors import step_failed
from wizard.wait import Timeout, poll

ADMIN_USER = "cwadmin"
DEFAULT_PORT = 33306


@dataclass(frozen=True)
class ServerKind:
    flavour: str  # "mariadb" or "mysql"
    server: str  # path of mariadbd / mysqld
    install_db: str | None  # mariadb-install-db, None for MySQL (mysqld --initialize-insecure)
    version: str


def find_server() -> ServerKind:
    """Find the installed database server, MariaDB first."""
    server = shutil.which("mariadbd") or _which_sbin("mariadbd")
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    if server and install:
        return ServerKind("mariadb", server, install, _version(server))
    mysqld = shutil.which("mysqld") or _which_sbin("mysqld")
    if mysqld:
        version = _version(mysqld)
        if "mariadb" in version.lower() and install:
            return ServerKind("mariadb", mysqld, install, version)
        return ServerKind("mysql", mysqld, None, version)
    raise step_failed(
        "no MariaDB or MySQL server is installed on this machine",
        fix="install one (Debian/Ubuntu: apt-get install mariadb-server), then run 'lab up' again",
    )


def _which_sbin(name: str) -> str | None:
    for d in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
        p = Path(d) / name
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    return None


def _version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
    return parse_version(out)


def parse_version(text: str) -> str:
    """``mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 for ...`` -> ``10.11.6``."""
    m = re.search(r"Ver\s+(\d+\.\d+\.\d+)", text)
    return m.group(1) if m else "unknown"


@dataclass
class DbPaths:
    root: Path

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket(self) -> Path:
        return self.root / "mysql.sock"

    @property
    def pid_file(self) -> Path:
        return self.root / "mysqld.pid"

    @property
    def error_log(self) -> Path:
        return self.root / "error.log"

    @property
    def tmpdir(self) -> Path:
        """The server's own temporary folder: a server starting up deletes every ``#sql*``
        file in its tmpdir (MariaDB's ``mysql_rm_tmp_tables``), so two servers sharing /tmp
        delete each other's live temporary tables."""
        return self.root / "tmp"


def server_args(kind: ServerKind, paths: DbPaths, port: int, *, as_root: bool) -> list[str]:
    """The server's command line (no secrets in it)."""
    args = [
        kind.server,
        "--no-defaults",
        f"--datadir={paths.datadir}",
        f"--socket={paths.socket}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--pid-file={paths.pid_file}",
        f"--log-error={paths.error_log}",
        f"--tmpdir={paths.tmpdir}",
        "--skip-name-resolve",
        "--skip-log-bin",
        "--innodb-buffer-pool-size=64M",
        "--max-connections=300",
    ]
    if as_root:
        args.insert(2, "--user=root")
    return args


def _socket_user() -> str:
    return "root" if os.geteuid() == 0 else _login_name()


def _login_name() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def init_datadir(kind: ServerKind, paths: DbPaths) -> None:
    """Create a fresh data directory; the OS user gets socket (unix_socket) access."""
    paths.root.mkdir(parents=True, exist_ok=True)
    log = paths.root / "install.log"
    if kind.install_db:
        cmd = [
            kind.install_db,
            "--no-defaults",
            f"--datadir={paths.datadir}",
            f"--user={_socket_user()}",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ]
    else:
        cmd = [kind.server, "--no-defaults", "--initialize-insecure", f"--datadir={paths.datadir}"]
        if os.geteuid() == 0:
            cmd.append("--user=root")
    with log.open("wb") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    if rc != 0:
        raise step_failed(
            f"creating the database data directory failed (exit {rc})",
            fix=f"see {log}",
            file=str(paths.datadir),
        )


def start(kind: ServerKind, paths: DbPaths, port: int) -> int:
    """Start the server in the background; return its pid once it accepts connections."""
    paths.tmpdir.mkdir(mode=0o700, exist_ok=True)
    with paths.error_log.open("ab") as out:
        proc = subprocess.Popen(
            server_args(kind, paths, port, as_root=os.geteuid() == 0),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready() -> bool:
        if proc.poll() is not None:
            raise step_failed(
                f"the database server exited at start (exit {proc.returncode})",
                fix=f"see {paths.error_log}",
            )
        return paths.socket.exists() and tcp_accepts("127.0.0.1", port)

    try:
        poll(ready, deadline=30, what="database server")
    except Timeout as exc:
        proc.terminate()
        raise step_failed(
            f"the database server did not accept connections within {exc.seconds:.0f}s",
            fix=f"see {paths.error_log}",
        ) from exc
    return proc.pid


def tcp_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def write_secret_file(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` with mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)


def create_admin(paths: DbPaths, password: str, user: str = ADMIN_USER) -> None:
    """Create the admin account over the unix socket; the password is a query parameter."""
    conn = pymysql.connect(unix_socket=str(paths.socket), user=_socket_user(), autocommit=True)
    try:
        with conn.cursor() as cur:
            for host in ("%", "localhost"):
                cur.execute(
                    "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, host, password)
                )
                cur.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, password))
                cur.execute("GRANT ALL PRIVILEGES ON *.* TO %s@%s WITH GRANT OPTION", (user, host))
            cur.execute("FLUSH PRIVILEGES")
    finally:
        conn.close()


def admin_connect(
    host: str, port: int, password: str, user: str = ADMIN_USER
) -> pymysql.Connection:
    return pymysql.connect(host=host, port=port, user=user, password=password, connect_timeout=5)


def admin_works(host: str, port: int, password: str, user: str = ADMIN_USER) -> bool:
    """True when the admin account can log in over TCP and run a query."""
    try:
        conn = admin_connect(host, port, password, user)
    except pymysql.MySQLError:
        return False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone() == (1,)
    finally:
        conn.close()
