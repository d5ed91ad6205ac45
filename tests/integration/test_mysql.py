"""Databases against the lab's real MariaDB: create, grant, run dbscripts, resume safely."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pymysql
import pytest

from wizard.connectors.local import LocalTransport
from wizard.connectors.mysql import Change, MySQL, check_reachable
from wizard.db import state as dbstate
from wizard.db.scripts import DatabaseSpec, apply_script, load_script, set_up_database
from wizard.errors import WizardError
from wizard.secrets import Secret

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
STOCK = REPO / ".." / "shared" / "wso2-conf" / "apim-2.6.0" / "dbscripts"
PACK = REPO / "wizard" / "lab" / "pack" / "files" / "dbscripts"
STOCK_SCRIPTS = ["mysql.sql", "mysql5.7.sql", "apimgt/mysql.sql", "apimgt/mysql5.7.sql"]


@pytest.fixture(scope="module")
def dbinfo(lab):
    return lab["db"]


@pytest.fixture(scope="module")
def admin_password(dbinfo):
    return Secret(Path(dbinfo["password_file"]).read_text().strip(), "file:lab")


def connect(dbinfo, password, **kw):
    return MySQL(dbinfo["host"], dbinfo["port"], dbinfo["admin_user"], password, **kw)


@pytest.fixture
def prefix(dbinfo, admin_password):
    """A unique name prefix; every DB and account with it is removed afterwards."""
    p = f"t{os.getpid() % 10000}_{uuid.uuid4().hex[:6]}"
    yield p
    with connect(dbinfo, admin_password) as m:
        like = p.replace("_", "\\_") + "%"
        for (name,) in m.query(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s", (like,)
        ):
            m.execute(f"DROP DATABASE `{name}`")
        for user, host in m.query("SELECT User, Host FROM mysql.user WHERE User LIKE %s", (like,)):
            m.execute("DROP USER %s@%s", (user, host))
        if dbstate.has_schema(m):
            for table in ("created_dbs", "script_runs"):
                m.execute(f"DELETE FROM carbon_wizard.{table} WHERE db_name LIKE %s", (like,))


@pytest.fixture
def admin(dbinfo, admin_password):
    with connect(dbinfo, admin_password) as m:
        yield m


def client_source(dbinfo, admin_password, tmp_path, db, script):
    """What the `mariadb` client makes of `source script` (password in a 0600 file)."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        pytest.skip("no mariadb command-line client")
    cnf = tmp_path / "client.cnf"
    fd = os.open(cnf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(
            f"[client]\nuser={dbinfo['admin_user']}\npassword={admin_password.reveal()}\n"
            f"host={dbinfo['host']}\nport={dbinfo['port']}\nprotocol=tcp\n"
        )
    proc = subprocess.run(
        [client, f"--defaults-extra-file={cnf}", db, "-e", f"source {script}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def columns(m, db):
    return m.query(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT "
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s "
        "ORDER BY TABLE_NAME, ORDINAL_POSITION",
        (db,),
    )


@pytest.mark.parametrize(
    ("folder", "rel"),
    [(STOCK, r) for r in STOCK_SCRIPTS] + [(PACK, r) for r in STOCK_SCRIPTS],
    ids=[f"stock:{r}" for r in STOCK_SCRIPTS] + [f"pack:{r}" for r in STOCK_SCRIPTS],
)
def test_script_matches_mariadb_client(
    folder, rel, admin, prefix, dbinfo, admin_password, tmp_path
):
    path = folder / rel
    if folder is STOCK and not path.is_file():
        pytest.skip(f"{path} is not present (../shared is not here)")
    ours, theirs = f"{prefix}_ours", f"{prefix}_cli"
    admin.ensure_database(ours)
    admin.ensure_database(theirs)
    script = load_script(str(path))
    report = apply_script(admin, ours, script)
    assert report.change is Change.CREATED
    client_source(dbinfo, admin_password, tmp_path, theirs, path)
    assert len(admin.tables(ours)) == len(admin.tables(theirs)) == len(script.tables) > 0
    assert admin.tables(ours) == admin.tables(theirs)
    assert columns(admin, ours) == columns(admin, theirs)
    if folder is STOCK:
        assert len(script.tables) == (124 if rel.startswith("apimgt") else 40)


def pack_spec(prefix, part, script, hosts=("127.0.0.1", "%")):
    return DatabaseSpec(f"{prefix}_{part}", f"{prefix}_u", tuple(hosts), script)


def test_set_up_is_idempotent_and_user_can_log_in(admin, prefix, dbinfo):
    pw = Secret("app-" + uuid.uuid4().hex)
    specs = [
        pack_spec(prefix, "am", str(PACK / "apimgt")),
        pack_spec(prefix, "um", str(PACK / "mysql.sql")),  # picks mysql5.7.sql on MariaDB
        pack_spec(prefix, "stats", None),
    ]
    first = [r for s in specs for r in set_up_database(admin, s, pw)]
    assert all(r.change is not Change.UNCHANGED for r in first[:3]), first
    counts = {s.name: len(admin.tables(s.name)) for s in specs}
    assert counts[f"{prefix}_am"] > 0 and counts[f"{prefix}_um"] > 0
    assert counts[f"{prefix}_stats"] == 0  # the stats DB gets no script
    runs = dbstate.script_runs(admin, f"{prefix}_um")
    assert [(r.script, r.state) for r in runs] == [("dbscripts/mysql5.7.sql", "done")]
    assert admin.database_info(f"{prefix}_am") == ("latin1", "latin1_swedish_ci")

    second = [r for s in specs for r in set_up_database(admin, s, pw)]
    assert [r.change for r in second] == [Change.UNCHANGED] * len(second), second
    assert {s.name: len(admin.tables(s.name)) for s in specs} == counts

    # the application account works, and only on its own databases
    conn = pymysql.connect(
        host=dbinfo["host"],
        port=dbinfo["port"],
        user=f"{prefix}_u",
        password=pw.reveal(),
        database=f"{prefix}_am",
    )
    with conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        assert len(cur.fetchall()) == counts[f"{prefix}_am"]
    lookalike = f"{prefix}xam"  # '_' is a wildcard in grants: must not match
    admin.ensure_database(lookalike)
    conn = pymysql.connect(
        host=dbinfo["host"], port=dbinfo["port"], user=f"{prefix}_u", password=pw.reveal()
    )
    with conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES")
        visible = {r[0] for r in cur.fetchall()}
    assert {s.name for s in specs} <= visible and lookalike not in visible

    new_pw = Secret("app2-" + uuid.uuid4().hex)
    assert admin.ensure_user(f"{prefix}_u", "127.0.0.1", new_pw).change is Change.CHANGED
    assert admin.ensure_user(f"{prefix}_u", "127.0.0.1", new_pw).change is Change.UNCHANGED
    pymysql.connect(
        host=dbinfo["host"], port=dbinfo["port"], user=f"{prefix}_u", password=new_pw.reveal()
    ).close()


def test_mysql_sql_rejected_in_strict_mode_names_file_statement_line(
    dbinfo, admin_password, prefix
):
    path = STOCK / "mysql.sql"
    if not path.is_file():
        path = PACK / "mysql.sql"
    name = f"{prefix}_strict"
    with connect(dbinfo, admin_password, sql_mode="TRADITIONAL") as m:
        m.ensure_database(name)
        script = load_script(str(path), origin="h1")
        with pytest.raises(WizardError) as err:
            apply_script(m, name, script)
        e = err.value
        assert e.exit_code == 1 and e.where.file == str(path) and e.where.host == "h1"
        failing = next(s for s in script.statements if f"statement {s.index} of" in e.what)
        assert failing.line == e.where.line
        lines = path.read_text().splitlines()
        assert lines[e.where.line - 1].lstrip().upper().startswith("CREATE")
        assert "DEFAULT 0" in failing.text and "(1067)" in e.what
        assert failing.excerpt()[:40] in e.what and "mysql5.7.sql" in (e.fix or "")
        run = dbstate.script_runs(m, name)[0]
        assert (run.state, run.statements_done) == ("failed", failing.index - 1)
        # re-running says 'partially set up' and never runs again
        with pytest.raises(WizardError, match="partially set up"):
            apply_script(m, name, script)
        assert m.recreate_if_ours(name).change is Change.CHANGED
        assert m.tables(name) == []
        good = load_script(str(path.with_name("mysql5.7.sql")))
        assert apply_script(m, name, good).change is Change.CREATED


BROKEN = "CREATE TABLE A_ONE (x INT);\n-- two;\nCREATE TABLE A_TWO (y INT);\n\nINSERT INTO NOPE VALUES (1);\n"


def test_partial_failure_only_our_databases_are_ever_dropped(admin, prefix, tmp_path):
    script_path = tmp_path / "dbscripts" / "broken.sql"
    script_path.parent.mkdir()
    script_path.write_text(BROKEN)
    script = load_script(str(script_path))
    ours, theirs = f"{prefix}_ours", f"{prefix}_theirs"
    admin.ensure_database(ours)
    admin.execute(f"CREATE DATABASE `{theirs}`")  # made by someone else
    for name in (ours, theirs):
        with pytest.raises(WizardError) as err:
            apply_script(admin, name, script)
        assert err.value.where.line == 5 and "statement 3 of 3" in err.value.what
        assert "NOPE" in err.value.what
        assert admin.tables(name) == ["A_ONE", "A_TWO"]
    with pytest.raises(WizardError) as err:
        apply_script(admin, theirs, script)
    assert "never dropped" in (err.value.fix or "")
    with pytest.raises(WizardError, match="not created by the wizard"):
        admin.recreate_if_ours(theirs)
    assert admin.tables(theirs) == ["A_ONE", "A_TWO"]
    admin.recreate_if_ours(ours)
    assert admin.tables(ours) == []
    script_path.write_text(
        BROKEN.replace("INSERT INTO NOPE VALUES (1)", "INSERT INTO A_ONE VALUES (1)")
    )
    fixed = load_script(str(script_path))
    assert apply_script(admin, ours, fixed).change is Change.CREATED
    with pytest.raises(WizardError, match="finished schema"):  # done: never dropped either
        admin.recreate_if_ours(ours)
    assert admin.query(f"SELECT x FROM `{ours}`.A_ONE") == [(1,)]


def test_foreign_tables_without_markers_stop(admin, prefix):
    name = f"{prefix}_foreign"
    admin.ensure_database(name)
    admin.execute(f"CREATE TABLE `{name}`.`CUSTOMER` (id INT)")
    with pytest.raises(WizardError, match="already has 1 tables") as err:
        apply_script(admin, name, load_script(str(PACK / "mysql5.7.sql")), ["UM_USER"])
    assert "UM_USER" in err.value.what
    assert admin.tables(name) == ["CUSTOMER"]


@pytest.mark.parametrize(
    "bad",
    ["x; DROP DATABASE {y}", "a`b", "a'b", 'a"b', "a b", "", "x" * 65, "{y}`; DROP DATABASE `{y}"],
)
def test_injection_in_names_refused_before_any_sql(admin, prefix, bad):
    decoy = f"{prefix}_y"
    admin.ensure_database(decoy)
    bad = bad.format(y=decoy)
    closed = MySQL("127.0.0.1", 1, "nobody", Secret("unused-pw"))  # would fail to connect
    for call in (
        lambda m: m.ensure_database(bad),
        lambda m: m.ensure_user(bad, "%", Secret("pw-123")),
        lambda m: m.ensure_grant(bad, "u", "%"),
        lambda m: m.ensure_grant("db", "u", bad or "%'"),
        lambda m: m.recreate_if_ours(bad),
    ):
        for m in (closed, admin):
            with pytest.raises(WizardError) as err:
                call(m)
            assert err.value.exit_code == 2, err.value.what  # bad input, not a DB error
    with pytest.raises(WizardError):
        DatabaseSpec("ok", "u", ("10.0.0.1", bad or "1.2.3.4 OR 1=1")).validate()
    assert admin.database_info(decoy) is not None


def test_preflight_reports_missing_privileges(admin, dbinfo, admin_password, prefix):
    server = connect(dbinfo, admin_password)
    with server:
        info = server.preflight()
    assert info.flavour == dbinfo["flavour"] and str(info.version[0]) in dbinfo["version"]
    low, pw = f"{prefix}_low", Secret("low-" + uuid.uuid4().hex)
    admin.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (low, pw.reveal()))
    admin.execute("GRANT SELECT, CREATE ON *.* TO %s@'%%'", (low,))
    with MySQL(dbinfo["host"], dbinfo["port"], low, pw) as m, pytest.raises(WizardError) as err:
        m.preflight()
    text = err.value.render()
    assert f"'{low}'@'%'" in text and f"{dbinfo['host']}:{dbinfo['port']}" in text
    assert "CREATE USER, GRANT OPTION" in text and "lacks privileges" in text
    assert "SELECT," not in err.value.what.split("lacks privileges")[1]
    assert f"TO '{low}'@'%' WITH GRANT OPTION" in (err.value.fix or "")
    assert pw.reveal() not in text
    with pytest.raises(WizardError, match=r"\(1045\)") as err:
        MySQL(dbinfo["host"], dbinfo["port"], low, Secret("wrong-" + pw.reveal())).connect()
    assert pw.reveal() not in err.value.render()


def local_run(cmd):
    p = subprocess.run(cmd, shell=True, executable="/bin/bash", capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def test_reachability_from_a_node(dbinfo):
    check_reachable(local_run, dbinfo["host"], dbinfo["port"], node="local")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(WizardError) as err:
        check_reachable(local_run, "127.0.0.1", free, node="h9")
    assert f"127.0.0.1:{free} is not reachable" in err.value.what and "refused" in err.value.what
    assert err.value.where.host == "h9" and "bind-address" in (err.value.fix or "")
    with pytest.raises(WizardError):
        check_reachable(local_run, "127.0.0.1; touch /tmp/pwned", 3306, node="h9")


def test_reachability_through_a_transport(dbinfo):
    transport = LocalTransport()
    check_reachable(transport.run, dbinfo["host"], dbinfo["port"], node="local")
    with pytest.raises(WizardError, match="not reachable"):
        check_reachable(transport.run, "127.0.0.1", 1, node="local")


def test_script_read_over_ssh_from_the_node(admin, prefix, lab, lab_ssh):
    host = lab["hosts"][0]
    sftp = lab_ssh(0).open_sftp()

    def read(path: str) -> bytes:
        with sftp.open(path, "rb") as f:
            return f.read()

    spec = DatabaseSpec(
        f"{prefix}_ssh", f"{prefix}_u", ("127.0.0.1",), f"{host['home']}/dbscripts/apimgt",
        origin=host["name"],
    )  # fmt: skip
    reports = set_up_database(admin, spec, Secret("pw-" + uuid.uuid4().hex), read)
    assert reports[-1].change is Change.CREATED and "dbscripts/apimgt/mysql5.7.sql" in str(
        reports[-1]
    )
    assert len(admin.tables(spec.name)) > 0
    missing = DatabaseSpec(f"{prefix}_ssh2", f"{prefix}_u", (), f"{host['home']}/nope/mysql.sql",
                           origin=host["name"])  # fmt: skip
    with pytest.raises(WizardError, match="cannot read the dbscript") as err:
        set_up_database(admin, missing, Secret("pw-x12"), read)
    assert err.value.where.host == host["name"]
    assert err.value.where.file == f"{host['home']}/nope/mysql5.7.sql"
