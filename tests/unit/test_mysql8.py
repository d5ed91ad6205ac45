"""MySQL 8 decisions, from the server's facts as data (no MySQL 8 server here; MariaDB
runs for real in the integration tests): the dbscript variant by version, the JDBC URL
option SHA-256 accounts need without TLS, and comparing a caching_sha2_password hash
so that a re-run does not alter an account whose password is already right."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.connectors.mysql_checks import ServerInfo, default_plugin_of
from wizard.connectors.mysql_sha2 import matches, sha256_crypt
from wizard.planning.build import plan
from wizard.planning.homefacts import Facts

MYSQL8 = ServerInfo.parse("8.0.36", "MySQL Community Server - GPL")


@pytest.mark.parametrize(
    ("policy", "legacy", "plugin"),
    [
        (None, "caching_sha2_password", "caching_sha2_password"),  # 8.0 default
        ("*,,", None, "caching_sha2_password"),  # 8.4: no legacy variable
        ("mysql_native_password,,", None, "mysql_native_password"),
        ("*,,", "mysql_native_password", "mysql_native_password"),  # 8.0 set by the DBA
    ],
)
def test_default_plugin_from_the_server_variables(policy, legacy, plugin) -> None:
    assert default_plugin_of(policy, legacy) == plugin


def _plan(server: ServerInfo | None):  # type: ignore[no-untyped-def]
    answers, pattern = parse_answers(example_yaml("apim-all-in-one"))
    return plan(answers, pattern, Facts(server=server))


def _url(p) -> str:  # type: ignore[no-untyped-def]
    md = p.step("node:file_edit:repository/conf/datasources/master-datasources.xml")
    return md.inputs["edits"][0]["value"]["datasource"]["definition"]["configuration"]["url"]


@pytest.mark.parametrize(
    ("server", "variant", "public_key"),
    [
        (None, "mysql5.7", False),  # offline: MySQL 5.7+ / MariaDB 10.2+ assumed
        (replace(MYSQL8, default_plugin="caching_sha2_password"), "mysql5.7", True),
        (MYSQL8, "mysql5.7", False),  # an 8.0 server whose DBA kept mysql_native_password
        (ServerInfo.parse("5.6.51-log", "MySQL Community Server (GPL)"), "mysql", False),
        (ServerInfo.parse("10.11.6-MariaDB", "Debian 12"), "mysql5.7", False),
        (ServerInfo.parse("10.1.48-MariaDB", "MariaDB Server"), "mysql", False),
    ],
)  # fmt: skip
def test_variant_and_url_follow_the_server(server, variant, public_key) -> None:
    p = _plan(server)
    scripts = [s.inputs["script"] for s in p.steps if s.kind == "dbscript"]
    assert scripts and all(s.endswith(f"/{variant}.sql") for s in scripts), scripts
    assert ("allowPublicKeyRetrieval=true" in _url(p)) is public_key


def test_an_answered_variant_wins_over_the_server() -> None:
    data = yaml.safe_load(example_yaml("apim-all-in-one"))
    data["db"]["script_variant"] = "mysql"
    answers, pattern = parse_answers(yaml.safe_dump(data))
    p = plan(answers, pattern, Facts(server=MYSQL8))
    assert all(s.inputs["script"].endswith("/mysql.sql") for s in p.steps if s.kind == "dbscript")


def test_a_caching_sha2_hash_is_compared_not_re_set() -> None:
    salt = bytes(range(40, 60))  # 20 bytes, like the server's random salt
    stored = b"$A$005$" + salt + sha256_crypt(b"s3cret pw", salt, 5000)
    assert len(stored) == 70
    assert matches(stored, "s3cret pw") is True
    assert matches(stored, "s3cret pW") is False
    assert matches(b"$A$005$THISISACOMBINATIONOFINVALIDSALTANDPASSWORDTHATMUSTNEVERBRBEUSED",
                   "x") is False  # fmt: skip
    assert matches(b"*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", "x") is None


def test_sha256_crypt_is_drepper_s() -> None:
    """The published test vector of SHA-crypt ($5$saltstring, 'Hello world!')."""
    assert sha256_crypt(b"Hello world!", b"saltstring") == (
        b"5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
    )
