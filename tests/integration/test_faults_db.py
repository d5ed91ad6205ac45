"""Fault families that need the lab's real MariaDB (see tests/faults/ for the rest).

- a dbscript with a syntax error: the run stops at that statement with a report naming
  the file, the line and the statement; the database is marked partially applied, so a
  later run refuses it with the way out; recreating it (the wizard made it) and running
  the corrected script recovers.
- names with SQL metacharacters given straight to the connector: refused before any SQL,
  nothing created on the server; a password full of SQL metacharacters is sent as a
  query parameter and works.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from wizard.connectors.mysql import MySQL
from wizard.db import state as dbstate
from wizard.db.scripts import DatabaseSpec, apply_script, check_script, load_script, set_up_database
from wizard.errors import EXIT_BAD_INPUT, EXIT_STEP_FAILED, WizardError
from wizard.secrets import Secret

pytestmark = pytest.mark.lab

GOOD = """-- a product-like script
CREATE TABLE IF NOT EXISTS FAULT_A (ID INTEGER NOT NULL, PRIMARY KEY (ID)) ENGINE INNODB;
INSERT INTO FAULT_A VALUES (1);
CREATE TABLE IF NOT EXISTS FAULT_B (ID INTEGER NOT NULL) ENGINE INNODB;
"""
BROKEN_LINE = 5  # the line of the broken statement below
BROKEN = GOOD + "CREATE TABLE FAULT_C (ID INTEGER NOT NULL,, NAME VARCHAR(10)) ENGINE INNODB;\n"
TAIL = "CREATE TABLE IF NOT EXISTS FAULT_D (ID INTEGER) ENGINE INNODB;\n"
MARKERS = ["FAULT_A", "FAULT_B", "FAULT_C", "FAULT_D"]


@pytest.fixture(autouse=True)
def _family(record_property: Callable[[str, object], None], request: Any) -> None:
    name = "dbscript errors" if "script" in request.node.name else "SQL names refused (server)"
    record_property("fault_family", name)


@pytest.fixture
def admin(lab: dict[str, Any], lab_db_password: str) -> Iterator[MySQL]:
    db = lab["db"]
    with MySQL(db["host"], db["port"], db["admin_user"], Secret(lab_db_password)) as m:
        yield m


@pytest.fixture
def db_name(admin: MySQL) -> Iterator[str]:
    name = f"cwfault_{uuid.uuid4().hex[:10]}"
    yield name
    admin.execute(f"DROP DATABASE IF EXISTS `{name}`")
    dbstate.forget_scripts(admin, name)
    admin.execute(f"DELETE FROM `{dbstate.SCHEMA}`.`created_dbs` WHERE db_name=%s", (name,))


def _databases(admin: MySQL) -> set[str]:
    return {r[0] for r in admin.query("SHOW DATABASES")}


def _accounts(admin: MySQL) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in admin.query("SELECT User, Host FROM mysql.user")}


def test_dbscript_syntax_error_is_reported_and_marks_the_db_partial(
    admin: MySQL, db_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "dbscripts" / "mysql5.7.sql"
    path.parent.mkdir()
    path.write_text(BROKEN + TAIL)
    admin.ensure_database(db_name)
    script = load_script(str(path))

    with pytest.raises(WizardError) as info:
        apply_script(admin, db_name, script, MARKERS)
    err = info.value
    shown = err.render()
    assert err.exit_code == EXIT_STEP_FAILED
    assert (err.where.file, err.where.line) == (str(path), BROKEN_LINE), shown
    assert "statement 4 of 5" in shown and db_name in shown, shown
    assert "CREATE TABLE FAULT_C (ID INTEGER NOT NULL,, NAME" in shown, shown  # the statement
    assert "(1064)" in shown, shown  # the server's own error
    assert "\n  fix: " in shown and "re-create" in shown, shown

    # what ran stays; the database is marked partially applied
    assert {t.lower() for t in admin.tables(db_name)} == {"fault_a", "fault_b"}
    [run] = dbstate.script_runs(admin, db_name)
    assert (run.state, run.statements_done, run.statements_total) == (dbstate.FAILED, 3, 5)
    assert f"line {BROKEN_LINE}" in (run.error or "")

    # a later run refuses the half-made schema, and says how to get out
    with pytest.raises(WizardError) as again:
        check_script(admin, db_name, script, MARKERS)
    assert "partially set up" in again.value.render()
    assert "recreate_if_ours" in again.value.render()

    # the way out: the wizard made this database, so it may re-create it; the fixed
    # script then runs to the end
    admin.recreate_if_ours(db_name)
    path.write_text(GOOD + TAIL.replace("FAULT_D", "FAULT_C") + TAIL)
    fixed = load_script(str(path))
    apply_script(admin, db_name, fixed, MARKERS)
    assert {t.lower() for t in admin.tables(db_name)} == {m.lower() for m in MARKERS}
    assert [r.state for r in dbstate.script_runs(admin, db_name)] == [dbstate.DONE]


BAD_NAMES = ["x`; DROP DATABASE mysql; --", "x' OR '1'='1", "a b", "am\n", "a;b"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_connector_refuses_bad_names_before_any_sql(admin: MySQL, name: str) -> None:
    dbs, accounts = _databases(admin), _accounts(admin)
    pw = Secret("not-used-1")
    calls = {
        "ensure_database": lambda: admin.ensure_database(name),
        "check_database": lambda: admin.check_database("cwfault_x", charset=name),
        "ensure_user": lambda: admin.ensure_user(name, "127.0.0.1", pw),
        "ensure_user host": lambda: admin.ensure_user("cwfault_u", name, pw),
        "ensure_grant": lambda: admin.ensure_grant(name, "cwfault_u", "127.0.0.1"),
        "recreate_if_ours": lambda: admin.recreate_if_ours(name),
        "set_up_database": lambda: set_up_database(
            admin, DatabaseSpec(name=name, user="cwfault_u", user_hosts=("127.0.0.1",)), pw
        ),
    }
    for what, call in calls.items():
        with pytest.raises(WizardError) as info:
            call()
        assert info.value.exit_code == EXIT_BAD_INPUT, (what, info.value.render())
    assert _databases(admin) == dbs
    assert _accounts(admin) == accounts


def test_password_with_sql_metacharacters_is_a_parameter(
    admin: MySQL, lab: dict[str, Any], db_name: str
) -> None:
    user = f"cwf_{uuid.uuid4().hex[:8]}"
    password = Secret("p'; DROP USER root; -- \" \\ `x` %s")
    before = _accounts(admin)
    try:
        admin.ensure_database(db_name)
        admin.ensure_user(user, "127.0.0.1", password)
        assert _accounts(admin) == before | {(user, "127.0.0.1")}  # that one, nothing else
        admin.ensure_grant(db_name, user, "127.0.0.1")
        conn = pymysql.connect(
            host=lab["db"]["host"],
            port=lab["db"]["port"],
            user=user,
            password=password.reveal(),
            database=db_name,
        )
        conn.close()
        assert admin.check_user(user, "127.0.0.1", password).change.name == "UNCHANGED"
    finally:
        admin.execute("DROP USER IF EXISTS %s@%s", (user, "127.0.0.1"))
