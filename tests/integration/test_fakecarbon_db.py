"""Fake Carbon boots against the lab's real MariaDB: datasources, marker tables, refusals."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql
import pytest

from wizard.lab import pack
from wizard.wait import poll

pytestmark = pytest.mark.lab

LOG = "repository/logs/wso2carbon.log"
# Characters that a careless option file or shell would mangle.
DS_PASSWORD = 'Ds-p@ss;"w\\rd #1'


def java_home(lab: dict[str, Any]) -> Path:
    if lab.get("java_home"):
        return Path(lab["java_home"])
    keytool = shutil.which("keytool")
    if keytool is None:
        pytest.skip("keytool (a JDK) is not installed")
    return Path(keytool).resolve().parents[1]


@pytest.fixture(scope="module")
def db(lab) -> dict[str, Any]:
    info = dict(lab["db"])
    info["password"] = Path(info["password_file"]).read_text().strip()
    return info


def admin(db: dict[str, Any]) -> pymysql.Connection:
    return pymysql.connect(
        host=db["host"], port=int(db["port"]), user=db["admin_user"], password=db["password"]
    )


def load_script(
    db: dict[str, Any], name: str, script: Path, prelude: str = ""
) -> subprocess.CompletedProcess[bytes]:
    """Run a dbscript with the mariadb client; the admin password goes in a 0600 file."""
    folder = Path(tempfile.mkdtemp(prefix="cw-fc-"))
    try:
        cnf = folder / "admin.cnf"
        fd = os.open(cnf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(
                f'[client]\nuser={db["admin_user"]}\npassword="{db["password"]}"\n'
                f"host={db['host']}\nport={db['port']}\nprotocol=TCP\n"
            )
        client = shutil.which("mariadb") or shutil.which("mysql")
        assert client, "no mariadb client"
        return subprocess.run(
            [client, f"--defaults-extra-file={cnf}", f"--database={name}"],
            input=prelude.encode() + script.read_bytes(), check=not prelude,
            capture_output=True, timeout=120,
        )  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def databases(db) -> Iterator[dict[str, str]]:
    """apimgt (loaded), reg (loaded) and empty databases, one user that may use them all."""
    tag = uuid.uuid4().hex[:8]
    names = {k: f"fc_{k}_{tag}" for k in ("am", "reg", "empty", "setup")}
    user = f"fc_{tag}"
    with admin(db) as conn, conn.cursor() as cur:
        for name in names.values():
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET latin1")
        for host in ("%", "localhost", "127.0.0.1"):
            cur.execute("CREATE USER %s@%s IDENTIFIED BY %s", (user, host, DS_PASSWORD))
            for name in names.values():
                cur.execute(f"GRANT ALL PRIVILEGES ON `{name}`.* TO %s@%s", (user, host))
    scripts = pack.FILES_DIR / "dbscripts"
    load_script(db, names["am"], scripts / "apimgt" / "mysql5.7.sql")
    load_script(db, names["reg"], scripts / "mysql5.7.sql")
    yield {**names, "user": user}
    with admin(db) as conn, conn.cursor() as cur:
        for name in names.values():
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        for host in ("%", "localhost", "127.0.0.1"):
            cur.execute("DROP USER IF EXISTS %s@%s", (user, host))


@pytest.fixture(scope="module")
def keystores(tmp_path_factory, lab) -> Path:
    folder = tmp_path_factory.mktemp("keystores")
    pack.make_stock_keystores(folder, java_home(lab))
    return folder


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def datasource(name: str, jndi: str, url: str, user: str, password: str) -> str:
    return f"""
        <datasource>
            <name>{name}</name>
            <jndiConfig>
                <name>{jndi}</name>
            </jndiConfig>
            <definition type="RDBMS">
                <configuration>
                    <url>{xml_escape(url)}</url>
                    <username>{user}</username>
                    <password>{xml_escape(password)}</password>
                    <driverClassName>com.mysql.jdbc.Driver</driverClassName>
                    <maxActive>50</maxActive>
                    <maxWait>60000</maxWait>
                    <testOnBorrow>true</testOnBorrow>
                    <validationQuery>SELECT 1</validationQuery>
                    <validationInterval>30000</validationInterval>
                    <defaultAutoCommit>false</defaultAutoCommit>
                </configuration>
            </definition>
        </datasource>
"""


def make_home(
    tmp_path: Path,
    keystores: Path,
    db: dict[str, Any],
    *,
    am_db: str,
    um_db: str,
    user: str,
    password: str = DS_PASSWORD,
    port: int | None = None,
    host: str | None = None,
) -> Path:
    """A home whose WSO2AM_DB and a new WSO2UM_DB (user-mgt.xml) are MariaDB databases
    (at ``host`` in the JDBC URLs, default the lab DB's address)."""
    home = pack.install_pack(tmp_path / pack.PRODUCT_DIRNAME, keystores=keystores)
    pack.make_driver_jar(home / "repository" / "components" / "lib")
    base = f"jdbc:mysql://{host or db['host']}:{port or db['port']}"
    md = home / "repository/conf/datasources/master-datasources.xml"
    text = md.read_text()
    start = text.index("<datasource>\n            <name>WSO2AM_DB</name>")
    end = text.index("</datasource>", start) + len("</datasource>")
    params = "?autoReconnect=true&useSSL=false"
    new_am = datasource("WSO2AM_DB", "jdbc/WSO2AM_DB", f"{base}/{am_db}{params}", user, password)
    new_um = datasource("WSO2UM_DB", "jdbc/WSO2UM_DB", f"{base}/{um_db}{params}", user, password)
    text = text[:start] + new_am.strip() + text[end:]
    text = text.replace(
        "        <!-- A MySQL datasource", new_um.lstrip("\n") + "\n        <!-- A MySQL datasource"
    )
    md.write_text(text)
    um = home / "repository/conf/user-mgt.xml"
    um.write_text(um.read_text().replace(">jdbc/WSO2CarbonDB<", ">jdbc/WSO2UM_DB<"))
    return home


def run_server(
    home: Path, lab: dict[str, Any], offset: int, *args: str, hosts_file: Path | None = None
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARBON_", "FAKECARBON_"))}
    env.update(
        JAVA_HOME=str(java_home(lab)),
        CARBON_BIND_ADDRESS="127.0.0.1",
        CARBON_NODE_NAME="db-node",
        CARBON_FAKE_BOOT_DELAY="0.3",
    )
    if hosts_file is not None:  # the node's own hosts file, as a lab host gives it
        env["CARBON_HOSTS_FILE"] = str(hosts_file)
    return subprocess.Popen(
        [str(home / "bin/wso2server.sh"), f"-DportOffset={offset}", *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def free_offset() -> int:
    """An offset in 700..999 whose ports are all free now (other suites may run alongside)."""

    def free(port: int) -> bool:
        try:
            with socket.create_server(("127.0.0.1", port)):
                return True
        except OSError:
            return False

    for offset in random.sample(range(700, 1000), 300):
        if all(free(base + offset) for base in (9443, 9763, 8243, 8280, 5672, 10397)):
            return offset
    pytest.skip("no free port offset in 700..999")


def log_text(home: Path) -> str:
    path = home / LOG
    return path.read_text() if path.exists() else ""


def boots(home: Path, proc: subprocess.Popen[str]) -> str:
    def probe() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}:\n{log_text(home)}")
        return "WSO2 Carbon started in" in log_text(home)

    try:
        poll(probe, deadline=30, what="fake Carbon boot")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    return log_text(home)


def refuses(home: Path, proc: subprocess.Popen[str], line: str = " ERROR {") -> str:
    """Like a real 2.6.0 node, the fake does not exit when its start fails: it logs the
    error, keeps running without ``WSO2 Carbon started`` and stops on SIGTERM."""
    try:
        poll(lambda: proc.poll() is not None or line in log_text(home), deadline=30, what=line)
        assert proc.poll() is None, f"exited {proc.returncode}:\n{log_text(home)}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    text = log_text(home)
    assert "WSO2 Carbon started" not in text
    assert DS_PASSWORD not in text
    return text


def test_pack_dbscripts_load_on_latin1_and_mysql_sql_needs_zero_dates(db):
    scripts = pack.FILES_DIR / "dbscripts"
    tag = uuid.uuid4().hex[:8]
    strict = "SET SESSION sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE';\n"
    cases = [
        ("mysql.sql", "", True, "UM_USER"),
        ("apimgt/mysql.sql", "", True, "AM_API"),
        ("mysql5.7.sql", strict, True, "REG_RESOURCE"),
        ("apimgt/mysql5.7.sql", strict, True, "IDN_BASE_TABLE"),
        ("mysql.sql", strict, False, ""),
    ]
    names = [f"fc_s{i}_{tag}" for i in range(len(cases))]
    with admin(db) as conn, conn.cursor() as cur:
        for name in names:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET latin1")
    try:
        for name, (rel, prelude, ok, marker) in zip(names, cases, strict=True):
            proc = load_script(db, name, scripts / rel, prelude)
            assert (proc.returncode == 0) == ok, (rel, proc.stderr)
            if not ok:
                assert b"Invalid default value" in proc.stderr
                continue
            with admin(db) as conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                    "AND TABLE_NAME = %s",
                    (name, marker),
                )
                assert cur.fetchone()[0] == 1, (rel, marker)
    finally:
        with admin(db) as conn, conn.cursor() as cur:
            for name in names:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def test_boots_with_mysql_datasources(tmp_path, lab, db, databases, keystores):
    home = make_home(
        tmp_path, keystores, db, am_db=databases["am"], um_db=databases["reg"],
        user=databases["user"],
    )  # fmt: skip
    text = boots(home, run_server(home, lab, free_offset()))
    assert f"Datasource WSO2AM_DB connected to {db['host']}:{db['port']}/{databases['am']}" in text
    assert f"Datasource WSO2UM_DB connected to {db['host']}:{db['port']}/{databases['reg']}" in text
    assert DS_PASSWORD not in text


def test_wrong_password_is_refused(tmp_path, lab, db, databases, keystores):
    home = make_home(
        tmp_path, keystores, db, am_db=databases["am"], um_db=databases["reg"],
        user=databases["user"], password="not-the-password",
    )  # fmt: skip
    text = refuses(home, run_server(home, lab, 732), line="Cannot start User Manager Core")
    assert re.search(
        r"ERROR \{org.apache.tomcat.jdbc.pool.ConnectionPool\} - Unable to create initial "
        rf"connections of pool.\njava.sql.SQLException: Access denied for user '{databases['user']}'@",
        text,
    ), text


def test_missing_marker_table_is_refused(tmp_path, lab, db, databases, keystores):
    home = make_home(
        tmp_path, keystores, db, am_db=databases["empty"], um_db=databases["reg"],
        user=databases["user"],
    )  # fmt: skip
    text = refuses(home, run_server(home, lab, 733), line="API manager component")
    assert (
        "ERROR {org.wso2.carbon.apimgt.impl.internal.APIManagerComponent} - Error while "
        "initializing the API manager component\n"
        "com.mysql.jdbc.exceptions.jdbc4.MySQLSyntaxErrorException: "
        f"Table '{databases['empty']}.AM_API' doesn't exist" in text
    )


def test_shared_markers_are_checked_too(tmp_path, lab, db, databases, keystores):
    # The user store datasource points at the API-M database: it has no UM_USER.
    home = make_home(
        tmp_path, keystores, db, am_db=databases["am"], um_db=databases["am"],
        user=databases["user"],
    )  # fmt: skip
    text = refuses(home, run_server(home, lab, 734), line="User Manager Core bundle")
    assert (
        "ERROR {org.wso2.carbon.user.core.internal.Activator} - Cannot start User Manager Core "
        "bundle\ncom.mysql.jdbc.exceptions.jdbc4.MySQLSyntaxErrorException: "
        f"Table '{databases['am']}.REG_RESOURCE' doesn't exist" in text
    )


def test_unreachable_database_is_a_communications_link_failure(tmp_path, lab, db, databases,
                                                               keystores):  # fmt: skip
    with socket_free_port() as port:
        home = make_home(
            tmp_path, keystores, db, am_db=databases["am"], um_db=databases["reg"],
            user=databases["user"], port=port,
        )  # fmt: skip
        text = refuses(home, run_server(home, lab, 735), line="User Manager Core bundle")
    assert (
        "Unable to create initial connections of pool.\n"
        "com.mysql.jdbc.exceptions.jdbc4.CommunicationsException: Communications link failure"
        in text
    )


def test_the_db_alias_resolves_through_the_nodes_hosts_file_only(
    tmp_path, lab, db, databases, keystores
):
    """Like a real node: the JDBC URLs name the DB by an alias that only the node's hosts
    file maps (never this machine's resolver: the .test TLD resolves nowhere)."""
    alias = f"mysql.cw-fc-{uuid.uuid4().hex[:8]}.test"
    home = make_home(
        tmp_path, keystores, db, am_db=databases["am"], um_db=databases["reg"],
        user=databases["user"], host=alias,
    )  # fmt: skip
    hosts = tmp_path / "etc-hosts"
    hosts.write_text(f"127.0.0.1\tlocalhost\n{db['host']} {alias}\n")
    text = boots(home, run_server(home, lab, free_offset(), hosts_file=hosts))
    at = f"{alias}:{db['port']}"
    assert f"Datasource WSO2AM_DB connected to {at}/{databases['am']} ({db['host']})" in text
    assert f"Datasource WSO2UM_DB connected to {at}/{databases['reg']} ({db['host']})" in text
    # the alias missing from the node's hosts file: the boot fails as Connector/J does
    hosts.write_text("127.0.0.1\tlocalhost\n")
    (home / LOG).unlink()
    text = refuses(home, run_server(home, lab, 736, hosts_file=hosts), line="User Manager Core")
    first = text.index(" ERROR ")
    assert text[first:].startswith(
        " ERROR {org.apache.tomcat.jdbc.pool.ConnectionPool} - Unable to create initial "
        "connections of pool.\ncom.mysql.jdbc.exceptions.jdbc4.CommunicationsException: "
        "Communications link failure\n"
    ), text
    assert f"Caused by: java.net.UnknownHostException: {alias}: Name or service not known\n" in text


def test_setup_flag_creates_the_tables(tmp_path, lab, db, databases, keystores):
    home = make_home(
        tmp_path, keystores, db, am_db=databases["setup"], um_db=databases["reg"],
        user=databases["user"],
    )  # fmt: skip
    boots(home, run_server(home, lab, free_offset(), "-Dsetup"))
    with admin(db) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
            (databases["setup"],),
        )
        tables = {row[0] for row in cur.fetchall()}
    assert {"AM_API", "IDN_BASE_TABLE", "AM_ALERT_TYPES"} <= tables


@contextmanager
def socket_free_port() -> Iterator[int]:
    """A loopback port nothing listens on (held bound, not listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
