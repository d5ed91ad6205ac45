"""The wizard's own state on the database server: schema ``carbon_wizard``.

Two tables:

- ``created_dbs``: every database the wizard created (it did not exist before, so it
  was empty). Only these may ever be dropped, by ``recreate_if_ours``.
- ``script_runs``: one row per (database, script): sha256, state
  (``running``/``done``/``failed``), statements done out of the total, the error.
  A database with a ``running`` or ``failed`` row is partially applied.

The functions take anything with ``query(sql, args)`` and ``execute(sql, args)``
(the MySQL connector), so this module knows nothing of connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

SCHEMA = "carbon_wizard"

_DDL = (
    f"CREATE DATABASE IF NOT EXISTS `{SCHEMA}` CHARACTER SET latin1 COLLATE latin1_swedish_ci",
    f"""CREATE TABLE IF NOT EXISTS `{SCHEMA}`.`created_dbs` (
        db_name VARCHAR(64) NOT NULL PRIMARY KEY,
        charset_name VARCHAR(32) NOT NULL,
        collation_name VARCHAR(64) NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
    ) ENGINE=InnoDB""",
    f"""CREATE TABLE IF NOT EXISTS `{SCHEMA}`.`script_runs` (
        db_name VARCHAR(64) NOT NULL,
        script VARCHAR(255) NOT NULL,
        sha256 CHAR(64) NOT NULL,
        state VARCHAR(10) NOT NULL,
        statements_done INT NOT NULL DEFAULT 0,
        statements_total INT NOT NULL DEFAULT 0,
        error TEXT NULL,
        updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        PRIMARY KEY (db_name, script)
    ) ENGINE=InnoDB""",
)

RUNNING = "running"
DONE = "done"
FAILED = "failed"


class Sql(Protocol):
    def query(self, sql: str, args: Sequence[Any] | None = None) -> list[tuple[Any, ...]]: ...

    def execute(self, sql: str, args: Sequence[Any] | None = None) -> int: ...


@dataclass(frozen=True)
class ScriptRun:
    db_name: str
    script: str
    sha256: str
    state: str
    statements_done: int
    statements_total: int
    error: str | None


def ensure_schema(db: Sql) -> None:
    if has_schema(db):
        return
    for ddl in _DDL:
        db.execute(ddl)


def has_schema(db: Sql) -> bool:
    rows = db.query(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s",
        (SCHEMA,),
    )
    return bool(rows and rows[0][0] >= 2)


def record_created(db: Sql, name: str, charset: str, collation: str) -> None:
    ensure_schema(db)
    db.execute(
        f"REPLACE INTO `{SCHEMA}`.`created_dbs` (db_name, charset_name, collation_name) "
        "VALUES (%s, %s, %s)",
        (name, charset, collation),
    )


def created_by_wizard(db: Sql, name: str) -> tuple[str, str] | None:
    """(charset, collation) recorded when the wizard created ``name``, else None."""
    if not has_schema(db):
        return None
    rows = db.query(
        f"SELECT charset_name, collation_name FROM `{SCHEMA}`.`created_dbs` WHERE db_name=%s",
        (name,),
    )
    return (rows[0][0], rows[0][1]) if rows else None


def script_runs(db: Sql, name: str) -> list[ScriptRun]:
    if not has_schema(db):
        return []
    rows = db.query(
        "SELECT db_name, script, sha256, state, statements_done, statements_total, error "
        f"FROM `{SCHEMA}`.`script_runs` WHERE db_name=%s ORDER BY script",
        (name,),
    )
    return [ScriptRun(*row) for row in rows]


def set_script_state(
    db: Sql,
    name: str,
    script: str,
    sha256: str,
    state: str,
    done: int,
    total: int,
    error: str | None = None,
) -> None:
    ensure_schema(db)
    db.execute(
        f"REPLACE INTO `{SCHEMA}`.`script_runs` "
        "(db_name, script, sha256, state, statements_done, statements_total, error) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (name, script, sha256, state, done, total, error),
    )


def forget_scripts(db: Sql, name: str) -> None:
    if has_schema(db):
        db.execute(f"DELETE FROM `{SCHEMA}`.`script_runs` WHERE db_name=%s", (name,))


def forget_created(db: Sql, name: str) -> None:
    """The wizard dropped ``name``: no marker of it, nor of its scripts, is left."""
    if has_schema(db):
        db.execute(f"DELETE FROM `{SCHEMA}`.`created_dbs` WHERE db_name=%s", (name,))
        db.execute(f"DELETE FROM `{SCHEMA}`.`script_runs` WHERE db_name=%s", (name,))
