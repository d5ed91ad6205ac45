"""Fault family: hostile input that must be refused before anything runs.

- database, user and account-host names with SQL metacharacters: refused by the answers
  (exit 2, naming the field and its line) and, on their own, by the MySQL connector's
  name checks and ``DatabaseSpec.validate`` before any SQL is built. The same names
  against the real server (nothing created, nothing dropped) are in
  tests/integration/test_faults_db.py.
- plain-text passwords where a secret reference belongs: refused, never echoed.
- a changed SSH host key stops the run before any write: covered end to end on a lab by
  tests/integration/test_apply_e2e.py::test_changed_host_key_stops_before_any_write
  (not repeated here).
"""

from __future__ import annotations

import copy

import pytest
import yaml

from wizard.answers import AnswersError, parse_answers
from wizard.answers.example import example_yaml
from wizard.connectors.mysql import check_host_pattern, check_name, quote_ident
from wizard.db.scripts import DatabaseSpec
from wizard.errors import EXIT_BAD_INPUT, WizardError

EXAMPLE = yaml.safe_load(example_yaml("apim-all-in-one"))

SQL_NAMES = [
    "am`; DROP DATABASE mysql; --",
    "x' OR '1'='1",
    'x"; DROP TABLE t; --',
    "a b",
    "am\n",
    "am\nDROP",
    "a;b",
    "a/*c*/",
    "a\\b",
    "a`b",
    "a%b",
    "a.b",
    "a-b",
    "x\x00y",
    "caf\u00e9",
    "",
    "n" * 65,
]
HOST_PATTERNS = ["10.0.0.1'; DROP USER root; --", "a b", "%'@'%", "host`", "1.2.3.999", ""]
PLAINTEXT = "Hunter2-plain-password"


def _answers_with(path: tuple[str, ...], value: object) -> str:
    doc = copy.deepcopy(EXAMPLE)
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _refused(text: str) -> AnswersError:
    with pytest.raises(AnswersError) as info:
        parse_answers(text, "answers.yaml")
    assert info.value.exit_code == EXIT_BAD_INPUT
    return info.value


DB_KEY = next(iter(EXAMPLE["db"]["databases"]))
FIELDS = {
    "database name": ("db", "databases", DB_KEY, "name"),
    "app user": ("db", "user"),
    "admin user": ("db", "admin_user"),
}


# The answers model strips surrounding whitespace, so "am\n" is the name "am" everywhere
# (the connector gets the same clean value): normalised, not refused.
ANSWER_NAMES = [n for n in SQL_NAMES if n != "am\n"]


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("name", ANSWER_NAMES, ids=[repr(n)[:24] for n in ANSWER_NAMES])
def test_answers_refuse_sql_metacharacters_in_names(field: str, name: str, family) -> None:
    family("SQL names refused (answers)")
    path = FIELDS[field]
    err = _refused(_answers_with(path, name))
    dotted = ".".join(path)
    assert any(p.path == dotted for p in err.problems), err.render()
    shown = err.render()
    assert f"{dotted}" in shown and "line " in shown, shown


@pytest.mark.parametrize("host", HOST_PATTERNS)
def test_answers_refuse_bad_account_hosts(host: str, family) -> None:
    family("SQL names refused (answers)")
    err = _refused(_answers_with(("db", "user_hosts"), [host]))
    assert any(p.path.startswith("db.user_hosts") for p in err.problems), err.render()


@pytest.mark.parametrize("name", SQL_NAMES, ids=[repr(n)[:24] for n in SQL_NAMES])
def test_connector_refuses_sql_metacharacters_before_any_sql(name: str, family) -> None:
    family("SQL names refused (connector)")
    for call in (
        lambda: check_name(name),
        lambda: quote_ident(name),
        lambda: check_name(name, "database user", 32),
        lambda: DatabaseSpec(name=name, user="cwapp", user_hosts=("%",)).validate(),
        lambda: DatabaseSpec(name="ok_db", user=name, user_hosts=("%",)).validate(),
        lambda: DatabaseSpec(name="ok_db", user="u", user_hosts=("%",), markers=(name,)).validate(),
    ):
        with pytest.raises(WizardError) as info:
            call()
        assert info.value.exit_code == EXIT_BAD_INPUT
        assert "\n  fix: " in info.value.render()


@pytest.mark.parametrize("host", HOST_PATTERNS)
def test_connector_refuses_bad_account_hosts(host: str, family) -> None:
    family("SQL names refused (connector)")
    with pytest.raises(WizardError) as info:
        check_host_pattern(host)
    assert info.value.exit_code == EXIT_BAD_INPUT
    with pytest.raises(WizardError):
        DatabaseSpec(name="ok_db", user="cwapp", user_hosts=(host,)).validate()


def test_connector_accepts_the_names_the_catalog_uses(family) -> None:
    family("SQL names refused (connector)")
    # the refusals above are not a connector that refuses everything
    assert quote_ident("openbank_apimgtdb") == "`openbank_apimgtdb`"
    assert check_host_pattern("10.0.%") == "10.0.%"
    DatabaseSpec(name="WSO2AM_DB", user="cw_app", user_hosts=("%", "127.0.0.1")).validate()


@pytest.mark.parametrize(
    "path",
    [("db", "password"), ("db", "admin_password"), ("admin", "password")],
    ids=lambda p: ".".join(p),
)
def test_plain_text_passwords_are_refused_and_never_shown(path: tuple[str, ...], family) -> None:
    family("secrets in answers")
    err = _refused(_answers_with(path, PLAINTEXT))
    shown = err.render()
    assert ".".join(path) in shown, shown
    assert PLAINTEXT not in shown and PLAINTEXT not in repr(err.problems), shown


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_answers_strip_a_trailing_newline_from_names(field: str, family) -> None:
    family("SQL names refused (answers)")
    answers, _ = parse_answers(_answers_with(FIELDS[field], "am\n"), "answers.yaml")
    value: object = answers.model_dump()
    for part in FIELDS[field]:
        value = value[part]  # type: ignore[index]
    assert value == "am"
